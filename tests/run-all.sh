#!/usr/bin/env bash
# `make test`: every test of the project, each step run even if an earlier one failed, so one
# run shows everything; the exit status is non-zero if any step failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.venv/bin:$PATH" ANSIBLE_CONFIG="$root/ansible.cfg"
mkdir -p tests/output
failed=()
step() {
    local name=$1; shift
    local t0=$SECONDS
    echo "===== $name"
    if "$@"; then echo "===== $name: ok ($((SECONDS - t0)) s)"; else echo "===== $name: FAILED ($((SECONDS - t0)) s)"; failed+=("$name"); fi
}
# molecule (through ansible-compat) installs this collection into ~/.ansible/collections; a copy
# left by an earlier run shadows the checkout for ansible-lint (a new module "could not be
# resolved"), so it goes first. It is only ever our own collection.
rm -rf "${HOME:-/root}/.ansible/collections/ansible_collections/mt5crs/mesh"
step "lab up" bash lab/lab.sh up
step "ansible-test sanity" bash tests/sanity/run.sh
step "ansible-lint (production)" ansible-lint --offline --profile production -q
step "changelog (antsibull-changelog lint)" antsibull-changelog lint
step "collection docs (antsibull-docs lint-collection-docs --plugin-docs)" bash -c \
    "cd collections/ansible_collections/mt5crs/mesh && antsibull-docs lint-collection-docs --plugin-docs ."
step "MT5 API conformance (mypy, metatrader5-stubs)" bash tests/typing/run.sh
step "docs site (make docs: antsibull-docs + Sphinx, -W)" bash docs/site/build.sh
step "Prometheus rules (promtool check + test)" bash -c \
    "promtool check rules monitoring/prometheus/mt5mesh-rules.yml && cd monitoring/prometheus && promtool test rules tests.yml"
step "ansible-core matrix (lowest and highest of meta/runtime.yml)" bash tests/matrix/run.sh
step "galaxy-importer on the built tarball (no error, no warning)" bash tests/galaxy/run.sh
step "ansible-test units and integration (the collection tree)" bash tests/ansible_test.sh
step "mutation (mutmut, floors in tests/mutation/thresholds.json)" python tests/mutation/run.py
step "molecule" bash tests/molecule.sh
# pytest last, so its closing summary line is what CI shows at the end.
step "pytest" pytest -ra tests/unit tests/runtime tests/integration tests/lab --junitxml=tests/output/pytest.xml
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED steps: ${failed[*]}"
    exit 1
fi
echo "all test steps passed"
