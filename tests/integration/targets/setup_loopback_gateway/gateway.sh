# Sourced by a target's runme.sh: start_gateway runs the real mt5mesh gateway (synthetic ticks) on
# loopback, on free ports, from the runtime bundle the mesh_runtime role ships (pack_runtime.py),
# and stops it when the script exits. Exports REP_PORT, PUB_PORT.
COLLECTION_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)

free_port() {
    python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_gateway() {
    local bundle work
    work=$(mktemp -d)
    bundle=$(python "$COLLECTION_ROOT/roles/mesh_runtime/files/pack_runtime.py" "$COLLECTION_ROOT" | tail -1)
    tar -xf "$bundle" -C "$work"
    rm -rf "$(dirname "$bundle")"
    REP_PORT=$(free_port)
    PUB_PORT=$(free_port)
    export REP_PORT PUB_PORT
    PYTHONPATH="$work" python -m mt5mesh.gateway.main --rep "tcp://127.0.0.1:$REP_PORT" \
        --pub "tcp://127.0.0.1:$PUB_PORT" --rate 50 --heartbeat 0.2 --log-level WARNING &
    GATEWAY_PID=$!
    # shellcheck disable=SC2064
    trap "kill $GATEWAY_PID 2>/dev/null || true; rm -rf '$work'" EXIT
}
