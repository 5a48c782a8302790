#!/usr/bin/env bash
# Types, in two parts:
# 1. the paper terminal and the gateway's MetaTrader5 calls against metatrader5-stubs;
# 2. the runtime package (src/mt5mesh) in mypy's default mode: every annotated function and all
#    module-level code is checked, unannotated bodies are not (the documented subset; --strict on
#    the runtime is issue 33's goal).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root/tests/typing"
MYPYPATH="$root/src" "$root/.venv/bin/mypy" --ignore-missing-imports --follow-imports=silent --no-incremental \
    mt5_conformance.py
cd "$root"
MYPYPATH="$root/src" "$root/.venv/bin/mypy" --ignore-missing-imports --no-incremental -p mt5mesh
