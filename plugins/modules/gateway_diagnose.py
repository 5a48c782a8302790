#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: gateway_diagnose
short_description: Find out why the mesh gateway broker on this host is not serving
description:
  - Runs on the gateway host and looks at the systemd unit, the process, the ports, the firewall and the protocol.
  - Returns one C(cause) (the first that explains the outage) and every finding in C(findings), plus the unit's last journal lines.
  - Read-only; the C(remediate_gateway.yml) playbook acts on the result.
version_added: 0.1.0
author:
  - mt5crs maintainers (@mt5crs)
extends_documentation_fragment:
  - mt5crs.mesh.read_only
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
requirements:
  - pyzmq on the gateway host
  - systemd, iproute2 (ss) and iptables on the gateway host
'''

EXAMPLES = r'''
- name: Diagnose the broker
  mt5crs.mesh.gateway_diagnose:
    address: "{{ ansible_host }}"
  register: diagnosis
'''

RETURN = r'''
cause:
  description:
    - C(healthy), C(unit_missing), C(disabled_stopped), C(stopped), C(crash_loop), C(killed_restarted), C(hung), C(port_conflict) or C(firewall).
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
ping:
  description: Result of the protocol C(ping) to the broker.
  returned: always
  type: dict
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mt5crs.mesh.plugins.module_utils import inputs, mesh_common, probes

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


def restart_delay(lines):
    """Seconds from the last SIGKILL exit to the next start, from journal timestamps."""
    import datetime
    killed_at = None
    for line in lines:
        stamp = line.split(' ', 1)[0]
        try:
            when = datetime.datetime.strptime(stamp[:26], '%Y-%m-%dT%H:%M:%S.%f')
        except ValueError:
            continue
        if 'status=9/KILL' in line:
            killed_at = when
        elif killed_at is not None and 'Started ' in line:
            return round((when - killed_at).total_seconds(), 3)
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            unit=dict(type='str', default='mt5mesh-gateway.service'),
            address=dict(type='str', required=True),
            ports=dict(type='list', elements='int', default=[5555, 5556]),
            journal_lines=dict(type='int', default=15),
            timeout=dict(type='float', default=1.0),
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
    ping = probes.zmq_ping(mesh_common.zmq, p['address'], p['ports'][0], timeout=p['timeout'], retries=1)
    holders = port_holders(module, p['ports'], pid)
    rules = firewall_rules(module, p['ports'])
    log = journal(module, p['unit'], p['journal_lines'])
    findings = []

    def found(cause, detail):
        findings.append({'cause': cause, 'detail': detail})

    unit_file = '/etc/systemd/system/%s' % p['unit']
    if state.get('LoadState') == 'not-found' or not os.path.exists(unit_file):
        found('unit_missing', '%s is not installed (%s missing)' % (p['unit'], unit_file))
    active, sub = state.get('ActiveState'), state.get('SubState')
    if holders:
        found('port_conflict', 'port(s) held by another process: %s' % '; '.join(
            '%(port)d by pid %(pid)d (%(cmdline)s)' % h for h in holders))
    if rules:
        found('firewall', 'iptables drops the broker ports: %s' % '; '.join(rules))
    recent = journal(module, p['unit'], 200, since='-120s')
    recent_exits = [line for line in recent if 'Main process exited' in line or 'Failed with result' in line]
    if (active == 'failed' and state.get('Result') in ('start-limit-hit', 'exit-code')) or \
            (sub == 'auto-restart' and int(state.get('NRestarts') or 0) >= 2):
        found('crash_loop', '%s keeps failing (Result=%s, NRestarts=%s); last: %s' % (
            p['unit'], state.get('Result'), state.get('NRestarts'), recent_exits[-1] if recent_exits else 'no exit logged'))
    if state.get('UnitFileState') == 'disabled' and active in ('inactive', 'failed'):
        found('disabled_stopped', '%s is disabled and %s' % (p['unit'], active))
    elif active == 'inactive' and state.get('LoadState') == 'loaded':
        found('stopped', '%s is stopped (enabled: %s)' % (p['unit'], state.get('UnitFileState')))
    proc = process_state(pid) if pid else None
    if proc == 'T':
        found('hung', 'pid %d is stopped (state T) and does not answer ping: %s' % (pid, ping['detail']))
    elif active == 'active' and not ping['ok'] and not rules and not holders:
        found('hung', 'pid %d is alive but does not answer ping: %s' % (pid, ping['detail']))
    kill_at = max([i for i, line in enumerate(recent) if 'status=9/KILL' in line] or [-1])
    # Only a kill that the current process directly followed counts (no stop or restart since).
    # systemd's own restart logs "Stopped" before "Started"; a stop after that start means the
    # process running now is not the one systemd brought back.
    after_kill = recent[kill_at + 1:] if kill_at >= 0 else []
    started = [i for i, line in enumerate(after_kill) if 'Started ' in line]
    killed = bool(started) and not any(w in line for line in after_kill[started[0] + 1:]
                                       for w in ('Stopping', 'Stopped', 'Deactivated'))
    delay = restart_delay(recent)
    if killed and active in ('active', 'activating') and ping['ok']:
        found('killed_restarted', 'the broker was killed (%s) and systemd restarted it %s s later (NRestarts=%s)'
              % (recent[kill_at].split(': ', 1)[-1], delay, state.get('NRestarts')))
    order = ['unit_missing', 'port_conflict', 'firewall', 'crash_loop', 'disabled_stopped', 'stopped', 'hung', 'killed_restarted']
    findings.sort(key=lambda f: order.index(f['cause']))
    if findings:
        cause, detail = findings[0]['cause'], findings[0]['detail']
    elif ping['ok']:
        cause, detail = 'healthy', ping['detail']
    else:
        cause, detail = 'unknown', 'the broker does not answer and no known cause was found: %s' % ping['detail']
    module.exit_json(changed=False, cause=cause, detail=detail, findings=findings, unit_state=state,
                     port_holders=holders, firewall_rules=rules, journal=log, ping=ping, restart_delay_s=delay)


if __name__ == '__main__':
    main()
