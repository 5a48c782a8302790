#!/usr/bin/env bash
# The lab's second INF host: inf2.lab at .14, which makes group inf an HA pair (Patroni and etcd,
# docs/ha.md). An inventory source next to hosts.yml, whose inf.lab stays first in group inf.
# It describes the lab that is running (lab.sh's pid file for inf2), whatever LAB_INF says now:
# after `LAB_INF=2 make demo`, a later ansible-playbook without the variable still sees the pair.
# With no lab up, LAB_INF (default 1) says.
set -euo pipefail
n=${LAB_INF:-1}
subnet=${LAB_SUBNET:-10.231.47}
run=${LAB_RUN:-/run/mt5lab}
case "$n" in [12]) ;; *) echo "LAB_INF must be 1 or 2, got $n" >&2; exit 2 ;; esac
if [ -f "$run/inf.pid" ] && kill -0 "$(cat "$run/inf.pid")" 2>/dev/null || [ -f "$run/inf2.pid" ]; then
    # A pid file of inf2 counts even when its host is powered off: a pair with a dead member is
    # still a pair (verify names the dead host; `make lab-up` boots it again).
    running=1
    [ -f "$run/inf2.pid" ] && running=2
    if [ -n "${LAB_INF:-}" ] && [ "$LAB_INF" != "$running" ]; then
        echo "lab inventory: the running lab has $running INF host(s); LAB_INF=$LAB_INF is not what runs" \
             "(make lab-up with it boots more)" >&2
    fi
    n=$running
fi
if [ "${1:-}" = "--host" ]; then echo '{}'; exit 0; fi
if [ "$n" = 2 ]; then
    echo "{\"inf\": {\"hosts\": [\"inf2.lab\"]}, \"_meta\": {\"hostvars\": {\"inf2.lab\": {\"ansible_host\": \"$subnet.14\"}}}}"
else
    echo '{"_meta": {"hostvars": {}}}'
fi
