#!/usr/bin/env bash
# `make check`: the quick tier, for every change, with no lab: static checks, the unit and
# runtime tests, and mutation of the mutated files changed since origin/main (or the last tag,
# with uncommitted ones). Every step runs even if an earlier one failed; non-zero if any failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.venv/bin:$PATH" ANSIBLE_CONFIG="$root/ansible.cfg"
failed=()
t_all=$SECONDS
step() {
    local name=$1; shift
    local t0=$SECONDS
    echo "===== $name"
    if "$@"; then echo "===== $name: ok ($((SECONDS - t0)) s)"; else echo "===== $name: FAILED ($((SECONDS - t0)) s)"; failed+=("$name"); fi
}
step "ansible-lint (production)" ansible-lint --offline --profile production -q
step "changelog (antsibull-changelog lint)" antsibull-changelog lint
step "Prometheus rules (promtool check + test)" bash -c \
    "promtool check rules monitoring/prometheus/mt5mesh-rules.yml && cd monitoring/prometheus && promtool test rules tests.yml"
step "ansible-test sanity (pep8, pylint, validate-modules)" bash tests/sanity/run.sh --test pep8 --test pylint --test validate-modules
step "types (mypy: MT5 API conformance, src/mt5mesh)" bash tests/typing/run.sh
step "pytest (unit, runtime)" pytest -q -p no:cacheprovider tests/unit tests/runtime
step "mutation (changed files)" python tests/mutation/run.py --changed
echo "make check: $((SECONDS - t_all)) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED steps: ${failed[*]}"
    exit 1
fi
echo "all check steps passed"
