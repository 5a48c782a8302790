#!/usr/bin/env bash
# Types, in two parts:
# 1. the paper terminal and the gateway's MetaTrader5 calls against metatrader5-stubs;
# 2. the runtime package (src/mt5mesh) under the documented subset of --strict in
#    tests/typing/mypy-runtime.ini: every --strict check but the three that want every def
#    annotated, so unannotated bodies are checked too; the modules it lists as not there yet are
#    checked in mypy's default mode until they pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root/tests/typing"
MYPYPATH="$root/src" "$root/.venv/bin/mypy" --ignore-missing-imports --follow-imports=silent --no-incremental \
    mt5_conformance.py
cd "$root"
MYPYPATH="$root/src" "$root/.venv/bin/mypy" --config-file tests/typing/mypy-runtime.ini --no-incremental -p mt5mesh
