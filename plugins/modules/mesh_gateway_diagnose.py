#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_gateway_diagnose
short_description: Find out why the mesh gateway broker on this host is not serving
description:
  - Runs on the gateway host and looks at the systemd unit, the process, the ports, the firewall and the protocol.
  - Returns one C(cause) (the first that explains the outage) and every finding in C(findings), plus the unit's last journal lines.
  - Read-only; the C(remediate_gateway.yml) playbook acts on the result.
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
extends_documentation_fragment:
  - mt5crs.mesh.read_only
  - mt5crs.mesh.dialect
options:
  unit:
    description:
      - systemd unit of the broker.
    type: str
    default: mt5mesh-gateway.service
  address:
    description:
      - Address the broker binds to, for the protocol C(ping).
    type: str
    required: true
  ports:
    description:
      - The broker's REQ/REP and PUB ports.
    type: list
    elements: int
    default: [5555, 5556]
  journal_lines:
    description:
      - Journal lines of the unit to return.
    type: int
    default: 15
  timeout:
    description:
      - Seconds one C(ping) attempt may take.
    type: float
    default: 1.0
  clients_reach:
    description:
      - Whether the expected clients (INF and the other vantages of the inventory) reached the broker just before.
      - An iptables rule that drops or rejects the broker ports is a fault only when they did not, or when this is not given.
        With C(true), such rules are reported in C(notes) and left alone (an allow-list is the operator's design).
    type: bool
requirements:
  - pyzmq on the gateway host
  - systemd, iproute2 (ss) and iptables on the gateway host
'''

EXAMPLES = r'''
- name: Diagnose the broker
  mt5crs.mesh.mesh_gateway_diagnose:
    address: "{{ ansible_host }}"
  register: diagnosis
'''

RETURN = r'''
cause:
  description:
    - C(healthy), C(unit_missing), C(disabled_stopped), C(stopped), C(crash_loop), C(killed_restarted), C(hung), C(port_conflict),
      C(firewall), or C(unknown) when the broker does not answer and none of these explains it.
  returned: always
  type: str
  sample: hung
detail:
  description: The cause in one sentence naming what was seen.
  returned: always
  type: str
findings:
  description: Every finding, each with C(cause) and C(detail).
  returned: always
  type: list
  elements: dict
repairs:
  description:
    - The repair steps the findings need, in the order C(remediate_gateway.yml) runs them, from
      C(reconnect_terminal), C(kill_port_holders), C(remove_firewall_rules), C(clear_start_limit) and C(restart).
    - C(kill_port_holders) and C(remove_firewall_rules) run only with C(mesh_remediate_force=true).
    - Empty when re-rendering the broker's files and starting it is all that is needed.
  returned: always
  type: list
  elements: str
notes:
  description: What was seen and is not a fault, for example firewall rules that do not keep the expected clients out.
  returned: always
  type: list
  elements: str
unit_state:
  description: ActiveState, SubState, UnitFileState, NRestarts, MainPID and Result of the unit.
  returned: always
  type: dict
port_holders:
  description: Processes other than the broker listening on the broker's ports, with C(port), C(pid) and C(cmdline).
  returned: always
  type: list
  elements: dict
firewall_rules:
  description: iptables rules (in C(iptables -S) form) that drop or reject the broker's ports.
  returned: always
  type: list
  elements: str
journal:
  description: The unit's last journal lines.
  returned: always
  type: list
  elements: str
restart_delay_s:
  description: Seconds systemd took to start the broker again after a SIGKILL in the last two minutes, if any.
  returned: always
  type: float
redeploy:
  description:
    - Whether the broker's files and unit should be rendered again after the repair steps. False when every finding
      leaves the deployment as it was (C(firewall), C(hung), C(killed_restarted)), whose steps are the whole repair.
  returned: always
  type: bool
ping:
  description:
    - Result of the protocol C(ping) to the broker. Not sent when it would only wait out its timeout, and C(detail) then
      says why; the broker's main process is stopped (state T), another process holds the broker ports, or iptables
      rules drop them while I(clients_reach) is known.
  returned: always
  type: dict
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mt5crs.mesh.plugins.module_utils import diagnosis, gateway_probes, inputs, mesh_common, probe_result

# A unit name goes to systemctl and journalctl as an argument: no option-looking or odd names.
UNIT = re.compile(r'[A-Za-z0-9@_.:][A-Za-z0-9@_.:-]{0,254}')


def unit_state(module, unit):
    props = 'ActiveState,SubState,UnitFileState,NRestarts,MainPID,Result,LoadState'
    rc, out, dummy = module.run_command(['systemctl', 'show', unit, '-p', props])
    state = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
    return state


def process_state(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0]
    except (IOError, OSError, IndexError, ValueError):
        return None


def port_holders(module, ports, broker_pid):
    rc, out, dummy = module.run_command(['ss', '-Hltnp'])
    holders = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        port = fields[3].rsplit(':', 1)[-1]
        if not port.isdigit() or int(port) not in ports:
            continue
        for pid in re.findall(r'pid=(\d+)', line):
            pid = int(pid)
            if pid == broker_pid:
                continue
            try:
                with open('/proc/%d/cmdline' % pid, 'rb') as f:
                    cmdline = f.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip()
            except (IOError, OSError):
                cmdline = '?'
            holders.append({'port': int(port), 'pid': pid, 'cmdline': cmdline})
    return holders


def firewall_rules(module, ports):
    rules = []
    for cmd in (['iptables', '-S'], ['iptables', '-S', '-t', 'raw']):
        rc, out, dummy = module.run_command(cmd)
        if rc != 0:
            continue
        for line in out.splitlines():
            if not re.search(r'-j (DROP|REJECT)', line):
                continue
            if any(re.search(r'--(dport|sport|dports|sports) (\S*[,:])?%d\b' % p, line) for p in ports):
                rules.append(('-t raw ' if 'raw' in cmd else '') + line)
    return rules


def journal(module, unit, lines, since=None):
    cmd = ['journalctl', '-u', unit, '-n', str(lines), '--no-pager', '-o', 'short-iso-precise']
    if since:
        cmd += ['--since', since]
    rc, out, dummy = module.run_command(cmd)
    return out.splitlines()


def ping(p, pid, proc_state, holders, rules):
    """The protocol ping, unless it would tell nothing (diagnosis.ping_skipped says why)."""
    skipped = diagnosis.ping_skipped(pid, proc_state, holders, rules, p['clients_reach'])
    if skipped:
        return probe_result.fail('not pinged: %s' % skipped, is_available=False, error='not pinged', rtt_ms=None,
                                 attempts=0, socket_resets=0)
    return gateway_probes.zmq_ping(mesh_common.zmq, p['address'], p['ports'][0], timeout=p['timeout'], retries=1,
                                   gateway_dialect=p['gateway_dialect'], action_ping=p['action_ping'])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            unit=dict(type='str', default='mt5mesh-gateway.service'),
            address=dict(type='str', required=True),
            ports=dict(type='list', elements='int', default=[5555, 5556]),
            journal_lines=dict(type='int', default=15),
            timeout=dict(type='float', default=1.0),
            clients_reach=dict(type='bool'),
            **mesh_common.dialect_argument_spec()
        ),
        supports_check_mode=True,
    )
    mesh_common.ensure_zmq(module)
    p = module.params
    error = inputs.first_error(
        None if UNIT.fullmatch(p['unit']) else "unit must be a systemd unit name, got %r" % p['unit'][:80],
        inputs.bad_host('address', p['address']),
        None if p['ports'] else "ports must list at least one port",
        *([inputs.bad_port('ports[]', x) for x in p['ports']] + [
            inputs.bad_int('journal_lines', p['journal_lines'], 0, 10000), inputs.bad_seconds('timeout', p['timeout'], maximum=60)]))
    if error:
        module.fail_json(msg=error)
    state = unit_state(module, p['unit'])
    pid = int(state.get('MainPID') or 0)
    proc_state = process_state(pid) if pid else None
    holders, rules = port_holders(module, p['ports'], pid), firewall_rules(module, p['ports'])
    facts = dict(
        unit=p['unit'], unit_state=state, unit_file_exists=os.path.exists('/etc/systemd/system/%s' % p['unit']),
        proc_state=proc_state, ping=ping(p, pid, proc_state, holders, rules), holders=holders, rules=rules,
        recent=journal(module, p['unit'], 200, since='-120s'), clients_reach=p['clients_reach'])
    result = diagnosis.diagnose(facts)
    module.exit_json(changed=False, unit_state=state, port_holders=facts['holders'], firewall_rules=facts['rules'],
                     journal=journal(module, p['unit'], p['journal_lines']), ping=facts['ping'], **result)


if __name__ == '__main__':
    main()
