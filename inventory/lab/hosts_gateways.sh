#!/usr/bin/env bash
# The lab's extra gateways, from LAB_GATEWAYS (default 1): gtw2.lab .. gtw9.lab at .22 .. .29,
# each with its own paper terminal seed. An inventory source next to hosts.yml, whose gtw.lab is
# the first gateway (this file sorts after it, so gtw.lab stays first in group gtw).
set -euo pipefail
n=${LAB_GATEWAYS:-1}
subnet=${LAB_SUBNET:-10.231.47}
case "$n" in [1-9]) ;; *) echo "LAB_GATEWAYS must be 1-9, got $n" >&2; exit 2 ;; esac
if [ "${1:-}" = "--host" ]; then echo '{}'; exit 0; fi
hosts="" vars=""
for ((i = 2; i <= n; i++)); do
    hosts+="${hosts:+, }\"gtw$i.lab\""
    vars+="${vars:+, }\"gtw$i.lab\": {\"ansible_host\": \"$subnet.2$i\", \"gateway_broker_seed\": $((42 + i))}"
done
echo "{\"gtw\": {\"hosts\": [$hosts]}, \"_meta\": {\"hostvars\": {$vars}}}"
