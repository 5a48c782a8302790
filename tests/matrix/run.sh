#!/usr/bin/env bash
# make test-matrix: the lowest and the highest ansible-core that meta/runtime.yml declares, each in
# its own venv (.venv-matrix/<version>-py<python>), with the module docs loaded by ansible-doc, the module
# and module_utils unit tests, validate-modules, and one playbook run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
versions=${MATRIX_VERSIONS:-"2.16.19 2.19.14"}
modules=$(ls plugins/modules/*.py | xargs -n1 basename | sed 's/\.py$//')
unit_tests="tests/unit tests/runtime/test_protocol.py tests/runtime/test_protocol_hostile.py tests/runtime/test_dialect.py"
# The controller's Python for each version: the oldest and the newest that each allows, 3.10 for
# the lowest ansible-core and 3.13 for the highest, so that 3.11-only code on the controller side
# (tomllib, say) fails here. A machine without that Python says so and uses python3 instead
# (docs/testing.md).
python_minor() {  # $1: "3.10"; prints a working interpreter of that version, or nothing
    local p
    for p in "python$1" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/"python$1"; do
        if "$p" -c "import sys, venv, ssl; sys.exit(sys.version_info[:2] != tuple(map(int, '$1'.split('.'))))" 2>/dev/null; then
            echo "$p"; return
        fi
    done
}
controller_python() {
    local want p
    case $1 in 2.16.*) want=3.10 ;; 2.19.*) want=3.13 ;; *) echo python3; return ;; esac
    p=$(python_minor "$want")
    if [ -n "$p" ]; then echo "$p"; else
        echo "matrix: no Python $want on this machine: ansible-core $1 runs on python3" >&2; echo python3; fi
}
for v in $versions; do
    py=$(controller_python "$v")
    venv=".venv-matrix/$v-py$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    echo "===== ansible-core $v on $("$py" --version)"
    if [ ! -x "$venv/bin/ansible-playbook" ]; then
        "$py" -m venv "$venv"
        "$venv/bin/pip" install -q "ansible-core==$v" pytest pyzmq redis psycopg2-binary pyyaml prometheus-client \
            hypothesis
        "$venv/bin/pip" install -q --no-deps -e .
    fi
    "$venv/bin/ansible" --version > "$venv/version.txt"; head -1 "$venv/version.txt"
    export ANSIBLE_CONFIG="$root/ansible.cfg" PATH="$root/$venv/bin:$PATH"
    # One ansible-doc call for every module (a call each cost 12.8 s, this one about 1 s). It
    # exits 0 even when a module is missing or its docs do not load, so the JSON is checked: every
    # module present with its doc, and no warning or error from ansible on stderr (a Python
    # deprecation warning of a dependency is not ours).
    docs=$(mktemp -d)
    ansible-doc -t module --json $(for m in $modules; do echo "mt5crs.mesh.$m"; done) > "$docs/docs.json" 2> "$docs/stderr"
    python3 - "$docs/docs.json" "$docs/stderr" $modules <<'PY'
import json, sys
docs, want = json.load(open(sys.argv[1])), sys.argv[3:]
err = "\n".join(ln for ln in open(sys.argv[2]) if "[WARNING]" in ln or "ERROR" in ln)
bad = [m for m in want if not (docs.get("mt5crs.mesh." + m) or {}).get("doc")]
if bad or err:
    sys.exit("ansible-doc: %s%s" % ("no docs for " + ", ".join(bad) + " " if bad else "", err))
PY
    rm -rf "$docs"
    echo "ansible-doc: $(echo $modules | wc -w) modules load"
    "$root/$venv/bin/python" -m pytest -q -p no:cacheprovider $unit_tests | tail -1
    out=$(mktemp -d)
    ansible-playbook -i localhost, tests/integration/playbooks/render_configs.yml -e "render_dir=$out" \
        -e "ansible_python_interpreter=$root/$venv/bin/python" > "$out/playbook.log" || { tail -30 "$out/playbook.log"; exit 1; }
    echo "playbook smoke run: ok ($(ls "$out" | grep -c '\.yml$') files rendered)"
    rm -rf "$out"
done
echo "MATRIX PASSED: $versions"
