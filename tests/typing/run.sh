#!/usr/bin/env bash
# The paper terminal and the gateway's MetaTrader5 calls against metatrader5-stubs (mypy).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root/tests/typing"
MYPYPATH="$root/src" "$root/.venv/bin/mypy" --ignore-missing-imports --follow-imports=silent --no-incremental \
    mt5_conformance.py
