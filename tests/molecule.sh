#!/usr/bin/env bash
# Every molecule scenario, against the shared lab (molecule/shared/create.yml brings it up).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.venv/bin:$PATH"
rc=0
# The order matters only for speed: role scenarios first, then the whole mesh, then faults; the
# INF pair last, since it changes INF for good and takes the lab down when it is done.
for s in default curve e2e remediation multi_gateway inf_pair; do
    [ -f "molecule/$s/molecule.yml" ] || continue
    echo "--- molecule test -s $s"
    t0=$SECONDS
    if ! molecule test -s "$s"; then
        echo "--- molecule scenario $s FAILED ($((SECONDS - t0)) s)"
        rc=1
    else
        echo "--- molecule scenario $s: ok ($((SECONDS - t0)) s)"
    fi
done
exit $rc
