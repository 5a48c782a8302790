# Sourced by a target's runme.sh: start_gateway runs the real mt5mesh gateway (synthetic ticks) on
# loopback, on free ports, from the runtime bundle the mesh_runtime role ships (pack_runtime.py),
# and stops it when the script exits. Exports REP_PORT, PUB_PORT.
# ansible-test runs a copy of each target elsewhere; the collection is where ANSIBLE_COLLECTIONS_PATH
# says (it sets it), else this file is inside it.
COLLECTION_ROOT=""
IFS=: read -r -a _paths <<< "${ANSIBLE_COLLECTIONS_PATH:-}"
for _p in "${_paths[@]}"; do
    if [ -f "$_p/ansible_collections/mt5crs/mesh/galaxy.yml" ]; then
        COLLECTION_ROOT="$_p/ansible_collections/mt5crs/mesh"
        break
    fi
done
COLLECTION_ROOT=${COLLECTION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)}

free_port() {
    python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_gateway() {
    local bundle work
    work=$(mktemp -d)
    bundle=$(python "$COLLECTION_ROOT/roles/mesh_runtime/files/pack_runtime.py" "$COLLECTION_ROOT" | tail -1)
    [ -f "$bundle" ] || { echo "setup_loopback_gateway: no runtime bundle from $COLLECTION_ROOT" >&2; exit 1; }
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
    # Serving once its REP port accepts (at most 15 s); a gateway that exited is an error here.
    for _i in $(seq 150); do
        kill -0 "$GATEWAY_PID" 2>/dev/null || { echo "setup_loopback_gateway: the gateway exited" >&2; exit 1; }
        python -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.1).close()' \
            "$REP_PORT" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "setup_loopback_gateway: the gateway did not listen on $REP_PORT within 15 s" >&2
    exit 1
}
