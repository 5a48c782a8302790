#!/usr/bin/env python3
"""The lab's extra gateways, from LAB_GATEWAYS (default 1): gtw2.lab .. gtw9.lab at .22 .. .29,
each with its own paper terminal seed. The inventory source next to hosts.yml (whose gtw.lab is
the first gateway; this file sorts after it, so gtw.lab stays first in group gtw)."""
import json
import os
import sys


def inventory(env):
    count = int(env.get("LAB_GATEWAYS") or 1)
    if not 1 <= count <= 9:
        sys.exit("LAB_GATEWAYS must be 1-9, got %d" % count)
    subnet = env.get("LAB_SUBNET") or "10.231.47"
    hosts = ["gtw%d.lab" % i for i in range(2, count + 1)]
    hostvars = {h: {"ansible_host": "%s.2%s" % (subnet, h[3]), "gateway_broker_seed": 42 + int(h[3])} for h in hosts}
    return {"gtw": {"hosts": hosts}, "_meta": {"hostvars": hostvars}}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--host":
        print("{}")
    else:
        print(json.dumps(inventory(os.environ)))
