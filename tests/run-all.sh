#!/usr/bin/env bash
# `make test`: every test of the project, each step run even if an earlier one failed, so one
# run shows everything; the exit status is non-zero if any step failed.
#
# Three lanes run at once, because they wait on different things:
#   lab:      the lab, the lab tests, molecule (mostly waiting on containers and ssh);
#   local:    static checks, the matrix, galaxy-importer, ansible-test, then the unit, runtime and
#             integration tests (loopback only, their own ports and directories);
#   mutation: mutmut (it works on its own copy in mutants/, which lint and the build ignore).
# The measured times are in docs/testing.md, with what each lever saved.
# Each lane writes tests/output/lane-<name>.log; a line per step start and end is shown as it
# happens, and the logs are printed whole at the end (the local lane last, so pytest's summary
# closes the output). Mutation and the static checks run niced: the timed tests come first.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.venv/bin:$PATH" ANSIBLE_CONFIG="$root/ansible.cfg"
mkdir -p tests/output
rm -f tests/output/lane-*.log tests/output/failed-* tests/output/.times-*
start=$SECONDS
# The machine's busy CPU (all processes, lab hosts included: their daemons are no step's
# children), from /proc/stat's first line, in seconds.
machine_cpu() { awk -v hz="$(getconf CLK_TCK)" 'NR == 1 { printf "%d", ($2 + $3 + $4 + $7 + $8) / hz; exit }' /proc/stat; }
machine0=$(machine_cpu)
exec 3>&1

# CPU seconds (user + system) of this lane's finished child processes, from bash's `times`, left
# in $cpu_now: a step's difference is what it cost the machine, which wall time under contention
# hides. (`times` must run in this very shell: in a pipeline or $(...) it sees a subshell's.)
child_cpu() {
    times > "tests/output/.times-$lane"
    cpu_now=$(awk 'NR == 2 {
        n = split($1 " " $2, t, " "); s = 0
        for (i = 1; i <= n; i++) { split(t[i], p, "m"); s += p[1] * 60 + p[2] }
        printf "%d", s }' "tests/output/.times-$lane")
}

step() {
    local name=$1; shift
    local t0=$SECONDS c0 result
    child_cpu; c0=$cpu_now
    echo "===== $name"
    echo "[$lane $(date +%T)] $name ..." >&3
    if "$@"; then result=ok; else result=FAILED; echo "$name" >> "tests/output/failed-$lane"; fi
    child_cpu; local cpu=$((cpu_now - c0))
    echo "===== $name: $result ($((SECONDS - t0)) s, CPU $cpu s)"
    echo "[$lane $(date +%T)] $name: $result ($((SECONDS - t0)) s, CPU $cpu s)" >&3
}

lab_lane() {
    lane=lab
    step "lab up" bash lab/lab.sh up
    # The lab tests before molecule: molecule (through ansible-compat) installs this collection
    # into ~/.ansible/collections, which must not happen while the local lane's ansible-lint runs.
    step "pytest (lab)" pytest -ra tests/lab --junitxml=tests/output/pytest-lab.xml
    step "molecule" bash tests/molecule.sh
}

local_lane() {
    lane=local
    step "ansible-lint (production)" nice -n 10 ansible-lint --offline --profile production -q
    step "ansible-test sanity" nice -n 10 bash tests/sanity/run.sh
    step "changelog (antsibull-changelog lint)" antsibull-changelog lint
    step "collection docs (antsibull-docs lint-collection-docs --plugin-docs)" bash -c \
        "cd collections/ansible_collections/mt5crs/mesh && antsibull-docs lint-collection-docs --plugin-docs ."
    step "types (mypy: MT5 API conformance, src/mt5mesh)" bash tests/typing/run.sh
    step "docs site (make docs: antsibull-docs + Sphinx, -W)" bash docs/site/build.sh
    step "Prometheus rules (promtool check + test)" bash -c \
        "promtool check rules monitoring/prometheus/mt5mesh-rules.yml && cd monitoring/prometheus && promtool test rules tests.yml"
    step "ansible-core matrix (lowest and highest of meta/runtime.yml)" nice -n 10 bash tests/matrix/run.sh
    # Not niced: the importer kills its ansible-lint after a fixed 180 s, and at nice 10 beside
    # the lab lane it got about a tenth of a core (CI, 2026-12-07: ~17 CPU-s of lint timed out).
    step "galaxy-importer on the built tarball (no error, no warning)" bash tests/galaxy/run.sh
    step "ansible-test units and integration (the collection tree)" bash tests/ansible_test.sh
    # pytest last here, beside molecule: the lab lane and mutation are the long ones, and this lane
    # is done with its static steps after about ten minutes. Its tests use loopback and their own
    # ports and directories, never the lab; their start-up waits are generous polls (a loaded
    # machine once kept a nexus start past a 20 s wait in test_stores_process).
    step "pytest" pytest -ra tests/unit tests/runtime tests/integration --junitxml=tests/output/pytest.xml
}

mutation_lane() {
    lane=mutation
    step "mutation (mutmut, floors in tests/mutation/thresholds.json)" nice -n 10 python tests/mutation/run.py
}

# molecule (through ansible-compat) installs this collection into ~/.ansible/collections; a copy
# left by an earlier run shadows the checkout for ansible-lint (a new module "could not be
# resolved"), so it goes first. It is only ever our own collection.
rm -rf "${HOME:-/root}/.ansible/collections/ansible_collections/mt5crs/mesh"
lab_lane > tests/output/lane-lab.log 2>&1 &
lab_pid=$!
local_lane > tests/output/lane-local.log 2>&1 &
local_pid=$!
mutation_lane > tests/output/lane-mutation.log 2>&1 &
mutation_pid=$!
wait $lab_pid $local_pid $mutation_pid
for l in mutation lab local; do
    echo
    echo "################ lane $l (tests/output/lane-$l.log)"
    cat "tests/output/lane-$l.log"
done
failed=$(cat tests/output/failed-* 2>/dev/null | paste -sd, -)
echo "make test: $((SECONDS - start)) s; machine CPU busy $(( $(machine_cpu) - machine0 )) s of $(( (SECONDS - start) * $(nproc) )) s"
if [ -n "$failed" ]; then
    # Each failed step's last lines again, here at the very end: a CI page that keeps only the
    # tail of the output still shows why (the lab lane's log is printed last and is long).
    for l in local mutation lab; do
        [ -f "tests/output/failed-$l" ] || continue
        while IFS= read -r name; do
            echo
            echo "################ the end of failed step \"$name\" (tests/output/lane-$l.log)"
            awk -v s="===== $name" 'index($0, s) == 1 { if ($0 == s) { keep = 1; n = 0; delete buf; next } else keep = 0 }
                keep { buf[n++ % 15] = $0 }
                END { for (i = (n > 15 ? n - 15 : 0); i < n; i++) print buf[i % 15] }' "tests/output/lane-$l.log"
        done < "tests/output/failed-$l"
    done
    echo
    echo "FAILED steps: $failed"
    exit 1
fi
echo "all test steps passed"
