# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why is the gateway broker not serving? A pure decision on facts gathered elsewhere.

``mesh_gateway_diagnose`` gathers the facts on GTW (systemd, /proc, ss, iptables, journal, a protocol
ping) into a plain dict; ``diagnose(facts)`` decides. No I/O here, so every rule is unit-tested
on plain data without patching anything.

facts keys: unit, unit_state (dict of systemctl show), unit_file_exists, proc_state (the main
pid's /proc state letter or None), ping ({ok, detail}), holders ([{port, pid, cmdline}]),
rules ([iptables -S lines]), recent (journal lines of the last two minutes), clients_reach
(True/False when the expected clients were asked, None when not known).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

# Causes, most fundamental first: the first that holds explains the outage.
CAUSES = ('unit_missing', 'port_conflict', 'firewall', 'terminal_lost', 'crash_loop', 'disabled_stopped', 'stopped',
          'hung', 'killed_restarted')
OUTCOMES = ('healthy', 'unknown') + CAUSES

# What remediate_gateway.yml does for each cause before the gateway_broker role re-renders the
# broker's files and starts it (which is all the other causes need). One task in
# playbooks/tasks/remediate_repairs.yml per step, each run when its step is in ``repairs``.
REPAIRS = dict(port_conflict=('kill_port_holders', 'clear_start_limit'), firewall=('remove_firewall_rules',),
               terminal_lost=('reconnect_terminal',), crash_loop=('clear_start_limit',), hung=('restart',))
# The steps in the order they run. The forced ones change what is not ours (another process, the
# host's firewall): without mesh_remediate_force they stop the run before any step has run.
STEPS = ('reconnect_terminal', 'kill_port_holders', 'remove_firewall_rules', 'clear_start_limit', 'restart')
FORCED = ('kill_port_holders', 'remove_firewall_rules')
# The causes whose repair leaves the broker's deployed files and unit as they were: their steps
# above are the whole repair, and re-rendering the broker (the gateway_broker role, about 1.3 s
# of round trips) is skipped when every finding is one of them. Any other finding, or none
# (healthy, unknown), redeploys as before.
KEEP_DEPLOYMENT = ('firewall', 'hung', 'killed_restarted')


def restart_delay(lines):
    """Seconds from the last SIGKILL exit to the next start, from journal timestamps."""
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


def killed_then_restarted(recent):
    """The line of a SIGKILL that the running process directly followed, or None.

    systemd's own restart logs "Stopped" before "Started"; a stop after that start means the
    process running now is not the one systemd brought back."""
    kill_at = max([i for i, line in enumerate(recent) if 'status=9/KILL' in line] or [-1])
    if kill_at < 0:
        return None
    after = recent[kill_at + 1:]
    started = [i for i, line in enumerate(after) if 'Started ' in line]
    if not started:
        return None
    if any(w in line for line in after[started[0] + 1:] for w in ('Stopping', 'Stopped', 'Deactivated')):
        return None
    return recent[kill_at]


def _unit_missing(f):
    if f['unit_state'].get('LoadState') == 'not-found' or not f['unit_file_exists']:
        return '%s is not installed (/etc/systemd/system/%s missing)' % (f['unit'], f['unit'])


def _port_conflict(f):
    if f['holders']:
        return 'port(s) held by another process: %s' % '; '.join(
            '%(port)d by pid %(pid)d (%(cmdline)s)' % h for h in f['holders'])


def _firewall(f):
    # A DROP rule is a fault only when it keeps the expected clients out. An allow-list ("ACCEPT
    # INF, DROP the rest") on a broker INF reaches is the operator's design, not an outage.
    if f['rules'] and f['clients_reach'] is not True:
        return 'iptables drops the broker ports%s: %s' % (
            ' and the expected clients cannot reach it' if f['clients_reach'] is False else '', '; '.join(f['rules']))


def terminal_error(recent):
    """The gateway's last terminal line when it is an error not followed by a reconnect, else None.

    The gateway logs "terminal NAME: connected, ..." when it reaches its terminal and "ERROR
    terminal ..." when it cannot (at start: the unit exits 2 and systemd retries; running: its
    copy_ticks_from calls fail)."""
    last = None
    for line in recent:
        if ' ERROR terminal ' in line:
            last = line
        elif ' INFO terminal ' in line and ': connected' in line:
            last = None
    return last


def _terminal_lost(f):
    line = terminal_error(f['recent'])
    if line:
        return 'the gateway lost its MetaTrader 5 terminal: %s' % line.split(' ERROR ', 1)[-1]


def _crash_loop(f):
    s = f['unit_state']
    if (s.get('ActiveState') == 'failed' and s.get('Result') in ('start-limit-hit', 'exit-code')) or \
            (s.get('SubState') == 'auto-restart' and _int(s.get('NRestarts')) >= 2):
        exits = [line for line in f['recent'] if 'Main process exited' in line or 'Failed with result' in line]
        return '%s keeps failing (Result=%s, NRestarts=%s); last: %s' % (
            f['unit'], s.get('Result'), s.get('NRestarts'), exits[-1] if exits else 'no exit logged')


def _disabled_stopped(f):
    s = f['unit_state']
    if s.get('UnitFileState') == 'disabled' and s.get('ActiveState') in ('inactive', 'failed'):
        return '%s is disabled and %s' % (f['unit'], s.get('ActiveState'))


def _stopped(f):
    s = f['unit_state']
    if s.get('UnitFileState') != 'disabled' and s.get('ActiveState') == 'inactive' and s.get('LoadState') == 'loaded':
        return '%s is stopped (enabled: %s)' % (f['unit'], s.get('UnitFileState'))


def _hung(f):
    pid = _int(f['unit_state'].get('MainPID'))
    if f['proc_state'] == 'T':
        return 'pid %d is stopped (state T): it cannot answer its clients' % pid
    if f['unit_state'].get('ActiveState') == 'active' and not _serving(f) and not f['rules'] and not f['holders']:
        return 'pid %d is alive but does not answer ping: %s' % (pid, f['ping']['detail'])


def _killed_restarted(f):
    line = killed_then_restarted(f['recent'])
    if line and f['unit_state'].get('ActiveState') in ('active', 'activating') and _serving(f):
        return 'the broker was killed (%s) and systemd restarted it %s s later (NRestarts=%s)' % (
            line.split(': ', 1)[-1], restart_delay(f['recent']), f['unit_state'].get('NRestarts'))


RULES = dict(unit_missing=_unit_missing, port_conflict=_port_conflict, firewall=_firewall,
             terminal_lost=_terminal_lost, crash_loop=_crash_loop,
             disabled_stopped=_disabled_stopped, stopped=_stopped, hung=_hung, killed_restarted=_killed_restarted)


def _int(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _serving(f):
    """The broker answers its clients: our own ping, or the expected clients' (an allow-list
    firewall may drop GTW's own ping while INF is served)."""
    return bool(f['ping'].get('ok')) or f['clients_reach'] is True


def repairs(findings):
    """The repair steps every finding needs, each once, in the order they run."""
    wanted = set(step for finding in findings for step in REPAIRS.get(finding['cause'], ()))
    return [step for step in STEPS if step in wanted]


def ping_skipped(pid, proc_state, holders, rules, clients_reach):
    """Why GTW's own protocol ping would tell nothing, or None when it is sent. Each case would
    only wait out the ping's timeout (a second of the repair): a stopped process cannot answer,
    another process holds the port the ping would reach, and iptables rules on the ports drop
    GTW's own ping while the expected clients' ping (INF's) has already said what it sees."""
    if proc_state == 'T':
        return 'pid %d is stopped (state T)' % pid
    if holders:
        return 'another process holds the broker ports'
    if rules and clients_reach is not None:
        return "iptables rules drop the broker ports; the expected clients' ping decides"
    return None


def redeploy(findings):
    """Whether the broker's files and unit are rendered again after the repair steps."""
    return not findings or any(finding['cause'] not in KEEP_DEPLOYMENT for finding in findings)


def diagnose(facts):
    """Returns {cause, detail, findings, repairs, redeploy, notes, restart_delay_s} for the gathered facts."""
    f = dict(clients_reach=None, holders=[], rules=[], recent=[], proc_state=None, unit_file_exists=True)
    f.update(facts)
    findings = []
    for cause in CAUSES:
        detail = RULES[cause](f)
        if detail:
            findings.append({'cause': cause, 'detail': detail})
    notes = []
    if f['rules'] and f['clients_reach'] is True:
        notes.append('iptables rules on the broker ports do not keep the expected clients out, left in place: %s'
                     % '; '.join(f['rules']))
    if findings:
        cause, detail = findings[0]['cause'], findings[0]['detail']
    elif _serving(f):
        cause, detail = 'healthy', f['ping'].get('detail') if f['ping'].get('ok') else 'the expected clients reach the broker'
    else:
        cause, detail = 'unknown', 'the broker does not answer and no known cause was found: %s' % f['ping'].get('detail')
    return dict(cause=cause, detail=detail, findings=findings, repairs=repairs(findings), redeploy=redeploy(findings), notes=notes,
                restart_delay_s=restart_delay(f['recent']))
