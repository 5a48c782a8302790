#!/usr/bin/env bash
# The three-host lab: inf, gtw and hub as systemd-nspawn containers booting real systemd,
# each in its own network namespace on a bridge, reachable over SSH with a lab key.
# Simulated hosts for verify-at-scale: sshd only (no systemd boot) from the same image, each in
# its own network namespace on the same bridge.
#   lab.sh up | down | status | ssh HOST [CMD...] | sim-up N | sim-down
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/lab.env
. "$here/lab.env"
key="$LAB_CACHE/id_ed25519"
share="$LAB_RUN/share"
ssh_opts=(-i "$key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
          -o ConnectTimeout=3 -o BatchMode=yes)

log() { echo "lab: $*" >&2; }
pid_alive() { [ -f "$LAB_RUN/$1.pid" ] && kill -0 "$(cat "$LAB_RUN/$1.pid")" 2>/dev/null; }
host_ssh() { local h=$1; shift; ssh "${ssh_opts[@]}" "root@$(lab_addr "$h")" "$@"; }

host_ok() {
    pid_alive "$1" && host_ssh "$1" true 2>/dev/null
}

all_ok() {
    local h
    pid_alive standins || return 1
    pid_alive dns || return 1
    for h in $LAB_HOSTS; do host_ok "$h" || return 1; done
}

net_up() {
    # A fixed MAC: left to itself, a bridge takes the lowest MAC of its ports, so adding or removing
    # a (simulated) host could change it and leave every host's ARP entry for .1-.3 stale for seconds.
    ip link add "$LAB_BRIDGE" address "$LAB_BRIDGE_MAC" type bridge
    for a in bridge web200 web403; do ip addr add "$(lab_addr $a)/24" dev "$LAB_BRIDGE"; done
    ip link set "$LAB_BRIDGE" up
    local h
    for h in $LAB_HOSTS; do netns_up "$h"; done
}

netns_up() {
    local h=$1 addr
    addr=$(lab_addr "$h")
    ip netns add "mt5-$h"
    # A MAC fixed per address: a host re-created at the same address (sim-down, sim-up) must not
    # meet neighbours still caching its previous MAC (SSH would wait for ARP to give up on it).
    local mac
    mac=$(printf '02:6d:74:35:6d:%02x' "${addr##*.}")
    ip link add "v-$h" type veth peer name host0 address "$mac" netns "mt5-$h"
    ip link set "v-$h" master "$LAB_BRIDGE" up
    ip neigh flush to "$addr" dev "$LAB_BRIDGE" 2>/dev/null || true
    ip -n "mt5-$h" link set lo up
    ip -n "mt5-$h" addr add "$addr/24" dev host0
    ip -n "mt5-$h" link set host0 up
    ip -n "mt5-$h" route add default via "$(lab_addr bridge)"
}

netns_down() {
    local h=$1 pid
    if [ -e "/run/netns/mt5-$h" ]; then
        # Anything still running inside the namespace (a stuck container) goes too.
        for pid in $(ip netns pids "mt5-$h" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "mt5-$h" 2>/dev/null || true
    fi
    ip link del "v-$h" 2>/dev/null || true
}

make_share() {
    mkdir -p "$share" "$LAB_CACHE"
    [ -f "$key" ] || ssh-keygen -q -t ed25519 -N '' -C mt5lab -f "$key"
    cp "$key.pub" "$share/authorized_keys"
    echo "nameserver $(lab_addr bridge)" >"$share/resolv.conf"
    if [ ! -f "$LAB_CACHE/standin.pem" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mt5lab-standin \
            -addext "subjectAltName=DNS:github.lab,DNS:api.notion.lab" \
            -keyout "$LAB_CACHE/standin.key" -out "$LAB_CACHE/standin.pem" 2>/dev/null
    fi
    cp "$LAB_CACHE/standin.pem" "$share/ca.pem"
}

standins_up() {
    # Local stand-ins for the seed's internet checks: HTTPS 200 (GitHub), HTTPS 403 (Notion),
    # DNS names that resolve inside the lab; the bridge address is the pingable "gateway".
    setsid python3 "$here/standins.py" --cert "$LAB_CACHE/standin.pem" --key "$LAB_CACHE/standin.key" \
        --ok "$(lab_addr web200)" --forbidden "$(lab_addr web403)" \
        </dev/null >"$LAB_RUN/standins.log" 2>&1 &
    echo $! >"$LAB_RUN/standins.pid"
    dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
        --listen-address="$(lab_addr bridge)" --except-interface=lo \
        --address="/github.lab/$(lab_addr web200)" --address="/api.notion.lab/$(lab_addr web403)" \
        --address="/inf.lab/$(lab_addr inf)" --address="/gtw.lab/$(lab_addr gtw)" \
        --address="/hub.lab/$(lab_addr hub)" --address="/inf2.lab/$(lab_addr inf2)" --pid-file= \
        </dev/null >"$LAB_RUN/dns.log" 2>&1 &
    echo $! >"$LAB_RUN/dns.pid"
}

disk_up() {
    # Each host's disk: the read-only image under a writable layer of its own, kept while the lab
    # is up. A host that dies (a power cut: its nspawn SIGKILLed) boots again with its disk, as a
    # real host does; `lab.sh down` drops every disk, so the next lab starts clean.
    local h=$1 image=$2 d="$LAB_RUN/disk/$1"
    mkdir -p "$d/upper" "$d/work" "$d/root"
    mountpoint -q "$d/root" || mount -t overlay "mt5lab-$h" -o "lowerdir=$image,upperdir=$d/upper,workdir=$d/work" "$d/root"
    echo "$d/root"
}

disk_drop() {
    local d="$LAB_RUN/disk/$1"
    [ -d "$d" ] || return 0
    umount "$d/root" 2>/dev/null || umount -l "$d/root" 2>/dev/null || true
    rm -rf "$d"
}

boot() {
    local h=$1 image=$2 root
    root=$(disk_up "$h" "$image")
    rm -f "$LAB_RUN/$h.pid"
    # nspawn runs under a small keeper that is its parent: a SIGKILLed nspawn leaves the container's
    # processes running on their own, so when nspawn is gone, for whatever reason, the keeper kills
    # everything in the host's namespace at once. Killing nspawn is then a power cut (the HA chaos
    # tests do it). The pid file holds nspawn's pid, as it always has.
    setsid bash -c '
        h=$1 run=$2; shift 2
        "$@" </dev/null >"$run/$h.log" 2>&1 &
        echo $! >"$run/$h.pid"
        wait $!
        for p in $(ip netns pids "mt5-$h" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done' _ "$h" "$LAB_RUN" \
        systemd-nspawn -D "$root" --machine="mt5-$h" --hostname="$h" \
        --boot --register=no --keep-unit --resolv-conf=off --timezone=off \
        --capability=CAP_NET_ADMIN \
        --network-namespace-path="/run/netns/mt5-$h" \
        --bind-ro="$share/authorized_keys:/root/.ssh/authorized_keys" \
        --bind-ro="$share/resolv.conf:/etc/resolv.conf" \
        --bind-ro="$share:/etc/mt5lab" \
        </dev/null >/dev/null 2>&1 &
    local _i
    for _i in $(seq 1 50); do [ -s "$LAB_RUN/$h.pid" ] && return 0; sleep 0.1; done
    log "$h: nspawn did not start"
    return 1
}

wait_hosts() {
    local h deadline=$((SECONDS + ${LAB_BOOT_TIMEOUT:-120}))
    for h in $LAB_HOSTS; do
        until host_ssh "$h" 'systemctl is-system-running --wait >/dev/null 2>&1; true' 2>/dev/null; do
            pid_alive "$h" || { log "$h: container exited; see $LAB_RUN/$h.log"; tail -n 20 "$LAB_RUN/$h.log" >&2; return 1; }
            [ $SECONDS -lt $deadline ] || { log "$h: no SSH within ${LAB_BOOT_TIMEOUT:-120}s"; return 1; }
            sleep 0.5
        done
        # A unit that raced the boot (utmp runlevel) must not leave the host "degraded".
        host_ssh "$h" 'systemctl reset-failed' 2>/dev/null || true
        log "$h up at $(lab_addr "$h")"
    done
}

kill_pidfile() {
    local f=$1 pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

# Every host this lab may have booted, whatever LAB_GATEWAYS is now.
all_hosts() { echo "$LAB_HOSTS inf2 gtw2 gtw3 gtw4 gtw5 gtw6 gtw7 gtw8 gtw9" | tr ' ' '\n' | awk 'NF && !seen[$0]++'; }

cmd_down() {
    local h
    for h in $(all_hosts); do kill_pidfile "$LAB_RUN/$h.pid"; done
    kill_pidfile "$LAB_RUN/standins.pid"
    kill_pidfile "$LAB_RUN/dns.pid"
    for h in $(all_hosts); do netns_down "$h"; disk_drop "$h"; done
    cmd_sim_down 2>/dev/null
    ip link del "$LAB_BRIDGE" 2>/dev/null || true
    rm -rf "$LAB_RUN"
    log "down"
}

cmd_up() {
    if all_ok 2>/dev/null; then log "already up"; return 0; fi
    if missing_hosts_up; then return 0; fi
    # Anything half-made (stale netns, bridge, dead containers) is cleared first.
    cmd_down 2>/dev/null
    local image
    image=$("$here/build-image.sh")
    mkdir -p "$LAB_RUN"
    make_share
    net_up
    standins_up
    local h
    for h in $LAB_HOSTS; do boot "$h" "$image"; done
    wait_hosts
    log "up: inf=$(lab_addr inf) gtw=$(lab_addr gtw) hub=$(lab_addr hub) (key $key)"
}

cmd_retire_gateways() {
    # The extra gateways (gtw2 .. gtw9) leave: their containers stop, and the lab inventory
    # (inventory/lab/hosts_gateways.sh reads the pid files) describes one gateway again.
    local i
    for ((i = 2; i <= 9; i++)); do
        [ -e "$LAB_RUN/gtw$i.pid" ] || [ -e "/run/netns/mt5-gtw$i" ] || continue
        kill_pidfile "$LAB_RUN/gtw$i.pid"
        netns_down "gtw$i"
        disk_drop "gtw$i"
        log "retired gtw$i"
    done
}

missing_hosts_up() {
    # A lab that is up but lacks hosts (gateways LAB_GATEWAYS asks for, inf2 with LAB_INF=2, or a
    # host that died: a power cut in the HA chaos tests): boot only those; the hosts that run keep
    # their state. With no host left running, the whole lab is made again.
    pid_alive standins && pid_alive dns || return 1
    ip link show "$LAB_BRIDGE" >/dev/null 2>&1 || return 1
    local h missing=() running=0
    for h in $LAB_HOSTS; do
        if host_ok "$h" 2>/dev/null; then running=$((running + 1)); else missing+=("$h"); fi
    done
    [ "$running" -gt 0 ] || return 1
    [ ${#missing[@]} -gt 0 ] || return 1
    local image
    image=$("$here/build-image.sh")
    for h in "${missing[@]}"; do
        kill_pidfile "$LAB_RUN/$h.pid"
        netns_down "$h"
        netns_up "$h"
        boot "$h" "$image"
    done
    LAB_HOSTS="${missing[*]}" wait_hosts
    log "up: booted ${missing[*]}"
}

sim_names() {
    local i
    for i in $(seq 1 "$1"); do printf 'sim%02d\n' "$i"; done
}

cmd_sim_up() {
    # N simulated hosts (1-99): a non-booting nspawn container running only sshd, enough for
    # Ansible to run modules there with the image's Python (pyzmq, redis, psycopg2 included).
    local n=${1:?usage: lab.sh sim-up N} h image deadline
    [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 99 ] || { log "sim-up: N must be 1-99, got $n"; return 2; }
    all_ok 2>/dev/null || { log "sim-up: the lab is not up (make lab-up)"; return 1; }
    cmd_sim_down 2>/dev/null
    image=$("$here/build-image.sh")
    for h in $(sim_names "$n"); do
        netns_up "$h"
        setsid systemd-nspawn -D "$image" --machine="mt5-$h" --hostname="$h" --volatile=overlay \
            --register=no --keep-unit --resolv-conf=off --timezone=off --as-pid2 \
            --network-namespace-path="/run/netns/mt5-$h" \
            --bind-ro="$share/authorized_keys:/root/.ssh/authorized_keys" \
            --bind-ro="$share/resolv.conf:/etc/resolv.conf" \
            --bind-ro="$share:/etc/mt5lab" \
            /bin/sh -c 'mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e' \
            </dev/null >"$LAB_RUN/$h.log" 2>&1 &
        echo $! >"$LAB_RUN/$h.pid"
    done
    deadline=$((SECONDS + 60))
    for h in $(sim_names "$n"); do
        until host_ssh "$h" true 2>/dev/null; do
            pid_alive "$h" || { log "$h: exited; see $LAB_RUN/$h.log"; tail -n 20 "$LAB_RUN/$h.log" >&2; return 1; }
            [ $SECONDS -lt $deadline ] || { log "$h: no SSH within 60s"; return 1; }
            sleep 0.2
        done
    done
    log "sim-up: $n simulated hosts $(lab_addr sim01)..$(lab_addr "$(sim_names "$n" | tail -n 1)")"
}

cmd_sim_down() {
    local f h
    for f in "$LAB_RUN"/sim[0-9][0-9].pid; do
        [ -e "$f" ] || continue
        h=$(basename "$f" .pid)
        kill_pidfile "$f"
        netns_down "$h"
    done
    # Namespaces left by a crashed run (no pid file any more).
    for f in /run/netns/mt5-sim[0-9][0-9]; do [ -e "$f" ] && netns_down "${f#/run/netns/mt5-}"; done
    return 0
}

cmd_status() {
    local h rc=0 state hosts=$LAB_HOSTS
    # inf2 of a pair booted with LAB_INF=2 counts whatever LAB_INF says now.
    case " $hosts " in *" inf2 "*) ;; *) [ -f "$LAB_RUN/inf2.pid" ] && hosts="$hosts inf2" ;; esac
    for h in $hosts; do
        if host_ok "$h" 2>/dev/null; then
            state=$(host_ssh "$h" systemctl is-system-running 2>/dev/null || true)
            printf '%-4s %-15s up (%s)\n' "$h" "$(lab_addr "$h")" "$state"
        else
            printf '%-4s %-15s DOWN\n' "$h" "$(lab_addr "$h")"; rc=3
        fi
    done
    for s in standins dns; do
        if pid_alive "$s"; then printf '%-8s running\n' "$s"; else printf '%-8s DOWN\n' "$s"; rc=3; fi
    done
    return $rc
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    ssh) shift; h=$1; shift; host_ssh "$h" "$@" ;;
    sim-up) shift; cmd_sim_up "$@" ;;
    sim-down) cmd_sim_down ;;
    retire-gateways) cmd_retire_gateways ;;
    *) echo "usage: $0 up|down|status|ssh HOST [CMD]|sim-up N|sim-down|retire-gateways" >&2; exit 2 ;;
esac
