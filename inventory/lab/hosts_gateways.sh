#!/usr/bin/env bash
# The lab's extra gateways: gtw2.lab .. gtw9.lab at .22 .. .29, each with its own paper terminal
# seed. An inventory source next to hosts.yml, whose gtw.lab is the first gateway (this file sorts
# after it, so gtw.lab stays first in group gtw).
# It describes the lab that is running (the gtwN containers lab.sh booted, by their pid files),
# whatever LAB_GATEWAYS says now: after `LAB_GATEWAYS=2 make demo`, a later ansible-playbook
# without the variable still sees both gateways. With no lab up, LAB_GATEWAYS (default 1) says.
set -euo pipefail
n=${LAB_GATEWAYS:-1}
subnet=${LAB_SUBNET:-10.231.47}
run=${LAB_RUN:-/run/mt5lab}
case "$n" in [1-9]) ;; *) echo "LAB_GATEWAYS must be 1-9, got $n" >&2; exit 2 ;; esac
if [ -f "$run/gtw.pid" ] && kill -0 "$(cat "$run/gtw.pid")" 2>/dev/null; then
    running=1
    for ((i = 2; i <= 9; i++)); do
        if [ -f "$run/gtw$i.pid" ] && kill -0 "$(cat "$run/gtw$i.pid")" 2>/dev/null; then running=$i; fi
    done
    if [ -n "${LAB_GATEWAYS:-}" ] && [ "$LAB_GATEWAYS" != "$running" ]; then
        echo "lab inventory: the running lab has $running gateway(s); LAB_GATEWAYS=$LAB_GATEWAYS is not what runs" \
             "(make lab-up with it boots more)" >&2
    fi
    n=$running
fi
if [ "${1:-}" = "--host" ]; then echo '{}'; exit 0; fi
hosts="" vars=""
for ((i = 2; i <= n; i++)); do
    hosts+="${hosts:+, }\"gtw$i.lab\""
    vars+="${vars:+, }\"gtw$i.lab\": {\"ansible_host\": \"$subnet.2$i\", \"gateway_broker_seed\": $((42 + i))}"
done
echo "{\"gtw\": {\"hosts\": [$hosts]}, \"_meta\": {\"hostvars\": {$vars}}}"
