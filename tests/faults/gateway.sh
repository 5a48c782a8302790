#!/usr/bin/env bash
# Inject one gateway fault on a lab host (run on the controller):
#   tests/faults/gateway.sh FAULT [HOST]
# FAULT: stopped | sigkill | disabled | unit_deleted | bad_config | hung | port_conflict | firewall
#        | allowlist (not a fault: ACCEPT INF, DROP the rest on 5555) | clear_allowlist
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fault=${1:?fault}
host=${2:-gtw}
. "$here/../../lab/lab.env"
addr=$(lab_addr "$host")
on() { bash "$here/../../lab/lab.sh" ssh "$host" "$@"; }
unit=mt5mesh-gateway.service
case "$fault" in
    stopped) on "systemctl stop $unit" ;;
    sigkill) on "systemctl kill -s KILL --kill-whom=main $unit; sleep 2" ;;
    disabled) on "systemctl disable --now $unit 2>/dev/null" ;;
    unit_deleted) on "systemctl stop $unit; rm -f /etc/systemd/system/$unit; systemctl daemon-reload" ;;
    bad_config)
        # A config the broker refuses: it exits non-zero, systemd restarts it until the start limit.
        on "sed -i 's/^heartbeat: .*/heartbeat: -1/' /etc/mt5mesh/gateway.yml; systemctl restart $unit; sleep 4" ;;
    hung) on "kill -STOP \$(systemctl show -p MainPID --value $unit)" ;;
    port_conflict)
        on "systemctl stop $unit; systemctl reset-failed mt5-squatter 2>/dev/null; systemd-run --unit=mt5-squatter --collect --quiet python3 -m http.server --bind $addr 5555; sleep 1" ;;
    firewall) on "iptables -A INPUT -p tcp --dport 5555 -j DROP" ;;
    allowlist)
        inf=$(lab_addr inf)
        on "iptables -A INPUT -p tcp -s $inf --dport 5555 -j ACCEPT && iptables -A INPUT -p tcp --dport 5555 -j DROP" ;;
    clear_allowlist)
        inf=$(lab_addr inf)
        on "iptables -D INPUT -p tcp -s $inf --dport 5555 -j ACCEPT; iptables -D INPUT -p tcp --dport 5555 -j DROP; true" ;;
    *) echo "unknown fault $fault" >&2; exit 2 ;;
esac
echo "fault $fault injected on $host"
