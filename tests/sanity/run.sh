#!/usr/bin/env bash
# ansible-test on a copy of the collection laid out as ansible_collections/mt5crs/mesh: sanity by
# default; ANSIBLE_TEST_COMMAND=units or integration for the others (tests/ansible_test.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# One copy per checkout: two checkouts' runs at once (a `make check` beside a fresh clone's
# `make test`) shared one and failed on each other's files.
work=${SANITY_WORKDIR:-/tmp/mt5crs-sanity-$(printf %s "$root" | sha256sum | cut -c1-8)}
dest="$work/ansible_collections/mt5crs/mesh"
mkdir -p "$dest"
rm -rf "$dest/mutants" "$dest/.hypothesis" "$dest/.mypy_cache" "$dest/.venv-matrix" "$dest/docs/site/rst" \
    "$dest/docs/site/build" "$dest/ee/context"  # excluded below, so rsync would keep old copies
rsync -a --delete --exclude .venv --exclude .venv-matrix --exclude docs/site/rst --exclude docs/site/build --exclude ee/context --exclude collections --exclude tests/output --exclude .git \
    --exclude reports --exclude '*.egg-info' --exclude __pycache__ --exclude .pytest_cache \
    --exclude 'tests/output' --exclude dist --exclude build --exclude mutants --exclude .hypothesis \
    --exclude .mypy_cache "$root/" "$dest/"
# ansible-test bootstraps pip in its venvs from a download this machine may not reach; a
# stand-in that uses ensurepip and the machine's own pip settings is used only then.
"$root/.venv/bin/python" "$root/tests/sanity/get_pip_standin.py"
cd "$dest"
exec "$root/.venv/bin/ansible-test" "${ANSIBLE_TEST_COMMAND:-sanity}" --venv --python 3.11 "$@"
