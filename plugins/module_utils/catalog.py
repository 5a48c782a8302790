# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs a check catalog (inventory data) through the probes, in parallel, and scores it.

A check is ``{id, phase, phase_name, name, kind, args, critical, extended}``. Secrets are never
in ``args``: an arg ``password_from: NAME`` is replaced by ``credentials[NAME]`` here, so the
catalog itself can be logged while the credentials option is ``no_log``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import inspect
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mt5crs.mesh.plugins.module_utils import gateway_probes, gateways, ha_probes, inputs, probes

# The one list of check kinds: kind -> (probe function, needs pyzmq, the argument that names the
# target, usable alone from mesh_probe). mesh_verify's catalog and mesh_probe both dispatch here.
Kind = collections.namedtuple('Kind', 'probe needs_zmq target standalone')
KINDS = {
    'python': Kind(probes.python_version, False, None, True),
    'imports': Kind(probes.imports, False, None, True),
    'redis': Kind(probes.redis_ping, False, 'host', True),
    'postgres': Kind(probes.postgres_login, False, 'host', True),
    'path': Kind(probes.path_exists, False, 'path', True),
    'icmp': Kind(probes.icmp, False, 'host', True),
    'tcp': Kind(probes.tcp, False, 'host', True),
    'http': Kind(probes.http, False, 'url', True),
    'dns': Kind(probes.dns, False, 'name', True),
    'zmq_ping': Kind(gateway_probes.zmq_ping, True, 'host', False),
    'zmq_heartbeat': Kind(gateway_probes.zmq_heartbeat, True, 'host', False),
    'nexus_health': Kind(probes.nexus_health, False, 'url', True),
    'gateway_terminal': Kind(gateway_probes.gateway_terminal, True, 'host', False),
    'gateway_trading': Kind(gateway_probes.gateway_trading, True, 'host', False),
    'ticks_fresh': Kind(probes.ticks_fresh, True, None, False),
    'hub_bar_fresh': Kind(probes.hub_bar_fresh, False, None, False),
    'clock_skew': Kind(probes.clock_skew, True, None, False),
    'patroni_cluster': Kind(ha_probes.patroni_cluster, False, None, False),
    'etcd_quorum': Kind(ha_probes.etcd_quorum, False, None, False),
}
STANDALONE_KINDS = [k for k, v in KINDS.items() if v.standalone]


def probe_args(kind):
    """The arguments a kind's probe takes (the ZeroMQ module and keys are supplied, not given)."""
    return [n for n in inspect.signature(KINDS[kind].probe).parameters if n not in ('zmq', 'curve')]


def arg_errors(args):
    """Errors for probe arguments, validated by name (ARG_CHECKS), nested mappings included."""
    return _arg_errors(args)


# Probe arguments validated by name, wherever they appear (also inside a nested `pg` mapping).
ARG_CHECKS = {
    'host': inputs.bad_host, 'gateway_host': inputs.bad_host, 'name': inputs.bad_host, 'gateway': inputs.bad_gateway_name,
    'port': inputs.bad_port, 'gateway_port': inputs.bad_port, 'gateway_pub_port': inputs.bad_port,
    'url': inputs.bad_url, 'path': inputs.bad_path, 'minimum': inputs.bad_version,
    'timeout': lambda n, v: inputs.bad_seconds(n, v, maximum=300),
    'within': lambda n, v: inputs.bad_seconds(n, v, maximum=300),
    'retries': lambda n, v: inputs.bad_int(n, v, 1, 100),
    'min_messages': lambda n, v: inputs.bad_int(n, v, 1, 1000000),
    'count': lambda n, v: inputs.bad_int(n, v, 1, 100),
    'modules': inputs.bad_module_list,
    'urls': lambda n, v: _list_of(n, v, inputs.bad_url),
    'members': lambda n, v: _list_of(n, v, inputs.bad_host),
    'max_lag_bytes': lambda n, v: inputs.bad_int(n, v, 0, 1 << 40),
}


def _list_of(name, value, check):
    if not isinstance(value, list) or not 1 <= len(value) <= 16:
        return '%s must be a list of 1-16 items' % name
    for i, item in enumerate(value):
        error = check('%s[%d]' % (name, i), item)
        if error:
            return error
    return None


for _name in ('budget', 'max_age', 'max_lag', 'max_skew'):
    ARG_CHECKS[_name] = lambda n, v: inputs.bad_seconds(n, v, allow_zero=True)


def _one_of(allowed):
    def check(name, value):
        if value not in allowed:
            return '%s must be one of %s, got %r' % (name, ', '.join(str(a) for a in allowed), str(value)[:80])
    return check


def _of_type(typ, what):
    def check(name, value):
        if isinstance(value, bool) and typ is not bool or not isinstance(value, typ):
            return '%s must be %s, got %s' % (name, what, type(value).__name__)
    return check


# Importing a module runs its code: a catalog may only name these (the runtime's libraries and
# the MetaTrader 5 client libraries an INF host may need).
ALLOWED_IMPORTS = ('zmq', 'redis', 'psycopg2', 'yaml', 'prometheus_client', 'json', 'ssl', 'sqlite3',
                   'rpyc', 'MetaTrader5', 'mt5linux', 'numpy', 'pandas')
ARG_CHECKS.update({
    'db': _of_type(str, 'a string'), 'user': _of_type(str, 'a string'),
    'ca_path': inputs.bad_path, 'path_type': _one_of(('any', 'file', 'dir', 'executable')),
    'expect_status': lambda n, v: inputs.bad_int(n, v, 100, 599),
    'validate_certs': _of_type(bool, 'true or false'),
    'password_from': _of_type(str, 'the name of a credential'),
    'gateway_dialect': _one_of(gateway_probes.DIALECTS), 'action_ping': _one_of(gateway_probes.ACTION_PINGS),
})
# Probe arguments renamed, by check kind: old name -> new name. `kind` names only a check's kind,
# so the path check's `kind` arg became `path_type`; a catalog may use the old name until 2.0.0.
ARG_ALIASES = {'path': {'kind': 'path_type'}}


def old_args(check):
    """(old, new) for each old argument name (ARG_ALIASES) a check's args use: what check_args,
    deprecated_args and validate all ask."""
    args = check.get('args') if isinstance(check, dict) else None
    if not isinstance(args, dict):
        return []
    return [(old, new) for old, new in ARG_ALIASES.get(check.get('kind'), {}).items() if old in args]


def check_args(check):
    """A check's args with each old argument name read as its new one: the one place an old name
    is translated, for validate and run_check alike."""
    renamed = dict(old_args(check))
    args = check.get('args', {})
    if not renamed:
        return args
    return dict((renamed.get(name, name), value) for name, value in args.items())


def deprecated_args(checks):
    """One message per check whose args use an old argument name, for the module to warn with."""
    return ['check %s: arg %s of a %s check is now %s' % (check.get('id'), old, check['kind'], new)
            for check in checks for old, new in old_args(check)]


# Phase 1 is the vantage host itself: if it is broken, nothing else it reports can be trusted.
COMPROMISING_PHASES = (1,)


def validate(checks, credentials, allow_insecure_tls=False):
    """Returns a list of error strings, each naming the check and the cause.

    Beyond names and types, the allow-list: secrets only by ``password_from`` (never a
    ``password`` in args), imports only from ALLOWED_IMPORTS, and ``validate_certs: false``
    only with ``allow_insecure_tls``."""
    errors, seen = [], set()
    if not checks:
        errors.append('the catalog holds no check (a verify of nothing would pass)')
    for i, check in enumerate(checks):
        if not isinstance(check, dict):
            errors.append('catalog entry %d is not a mapping' % i)
            continue
        cid = check.get('id', '#%d' % i)
        for key, typ in (('id', str), ('name', str), ('kind', str)):
            if not isinstance(check.get(key), typ):
                errors.append('check %s: %s must be a string' % (cid, key))
        if isinstance(check.get('phase'), bool) or not isinstance(check.get('phase'), int):
            errors.append('check %s: phase must be an integer' % cid)
        if cid in seen:
            errors.append('check %s: duplicate id' % cid)
        seen.add(cid)
        kind = check.get('kind')
        if kind not in KINDS:
            errors.append('check %s: unknown kind %r (known: %s)' % (cid, kind, ', '.join(sorted(KINDS))))
            continue
        args = check_args(check)
        if not isinstance(args, dict):
            errors.append('check %s: args must be a mapping' % cid)
            continue
        both = [(old, new) for old, new in old_args(check) if new in check['args']]
        if both:
            errors.append('check %s: give %s only (%s is its old name)' % (cid, both[0][1], both[0][0]))
        params = inspect.signature(KINDS[kind].probe).parameters
        allowed = set(params) - {'zmq', 'curve'}
        for name in args:
            if name == 'password_from':
                continue
            if name not in allowed:
                errors.append('check %s: kind %s takes no arg %r (takes: %s)' % (cid, kind, name, ', '.join(sorted(allowed))))
        errors.extend('check %s: %s' % (cid, e) for e in _arg_errors(args))
        errors.extend('check %s: %s' % (cid, e) for e in _policy_errors(args, allow_insecure_tls))
        for name in _secret_refs(args):
            if name not in credentials:
                errors.append('check %s: password_from %r is not in credentials' % (cid, name))
        # No probe requires its password (it comes from password_from or not at all).
        required = [n for n, p in params.items() if p.default is inspect.Parameter.empty and n not in ('zmq',)]
        missing = [n for n in required if n not in args]
        if missing:
            errors.append('check %s: kind %s needs %s' % (cid, kind, ', '.join(missing)))
    return errors


def _arg_errors(args, prefix=''):
    errors = []
    for name, value in args.items():
        if isinstance(value, dict):
            errors.extend(_arg_errors(value, prefix + name + '.'))
        elif name in ARG_CHECKS and value is not None:
            error = ARG_CHECKS[name](prefix + name, value)
            if error:
                errors.append(error)
    return errors


def _policy_errors(args, allow_insecure_tls):
    errors = []
    nested = [v for v in args.values() if isinstance(v, dict)]
    for where in [args] + nested:
        if 'password' in where:
            errors.append('a password in args would be logged with the catalog; name a credential with password_from')
    modules = args.get('modules')
    if isinstance(modules, list):
        refused = [m for m in modules if m not in ALLOWED_IMPORTS]
        if refused:
            errors.append('modules %s are not on the import allow-list (%s)' % (
                ', '.join(str(m)[:40] for m in refused), ', '.join(ALLOWED_IMPORTS)))
    if args.get('validate_certs') is False and not allow_insecure_tls:
        errors.append('validate_certs: false needs allow_insecure_tls: true on the module')
    return errors


def _secret_refs(args):
    refs = []
    if 'password_from' in args:
        refs.append(args['password_from'])
    for value in args.values():
        if isinstance(value, dict) and 'password_from' in value:
            refs.append(value['password_from'])
    return refs


def _resolve(args, credentials):
    out = {}
    for key, value in args.items():
        if key == 'password_from':
            out['password'] = credentials[value]
        elif isinstance(value, dict) and 'password_from' in value:
            value = dict(value)
            value['password'] = credentials[value.pop('password_from')]
            out[key] = value
        else:
            out[key] = value
    return out


def run_check(check, credentials, zmq=None, curve=None, curve_error=None):
    fn, needs_zmq = KINDS[check['kind']][:2]
    start = time.time()
    try:
        if needs_zmq and zmq is None:
            result = {'ok': False, 'detail': 'python library pyzmq is missing on this host'}
        elif needs_zmq and curve_error:
            result = {'ok': False, 'detail': curve_error}
        else:
            kwargs = _resolve(check_args(check), credentials)
            if needs_zmq:
                kwargs['zmq'] = zmq
                kwargs.setdefault('curve', curve)
            result = fn(**kwargs)
    except Exception as e:  # pylint: disable=broad-except
        # A probe must not take the whole report down; the cause is reported on the check.
        result = {'ok': False, 'detail': '%s: %s' % (type(e).__name__, e)}
    return {
        'id': check['id'],
        'phase': check['phase'],
        'phase_name': check.get('phase_name', 'Phase %d' % check['phase']),
        'name': check['name'],
        'kind': check['kind'],
        'ok': bool(result.get('ok')),
        'detail': result.get('detail', ''),
        'critical': bool(check.get('critical', False)),
        'extended': bool(check.get('extended', False)),
        'gateway': check.get('gateway'),
        'elapsed_ms': round((time.time() - start) * 1000, 1),
    }


def run_catalog(checks, credentials, parallel=16, zmq=None, curve=None, curve_error=None, curves=None):
    """Every check, in order. ``curves`` maps a gateway's name to its own (curve, curve_error):
    the checks of that gateway use its server key (several gateways, a key pair each)."""
    if not checks:
        return []
    curves = curves or {}

    def one(c):
        own_curve, own_error = curves.get(c.get('gateway'), (curve, curve_error))
        return run_check(c, credentials, zmq, own_curve, own_error)
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(checks)))) as pool:
        return list(pool.map(one, checks))


def score(results):
    """Scores the seed's catalog and the extended one apart; rc covers the core checks:
    0 all pass, 2 compromised (a phase-1 or critical check failed), 1 otherwise."""
    core = [r for r in results if not r['extended']]
    extended = [r for r in results if r['extended']]
    phases = []
    for phase in sorted(set(r['phase'] for r in core)):
        rows = [r for r in core if r['phase'] == phase]
        phases.append({'phase': phase, 'name': rows[0]['phase_name'], 'total': len(rows),
                       'passed': sum(r['ok'] for r in rows)})
    total, passed = len(core), sum(r['ok'] for r in core)
    failed = [r for r in core if not r['ok']]
    if not failed:
        rc = 0
    elif any(r['phase'] in COMPROMISING_PHASES or r['critical'] for r in failed):
        rc = 2
    else:
        rc = 1
    return {
        'total': total,
        'passed': passed,
        'percent': round(100.0 * passed / total, 1) if total else 0.0,
        'rc': rc,
        'status': {0: 'FULL MESH', 1: 'PARTIAL', 2: 'COMPROMISED'}[rc],
        'phases': phases,
        'extended': {'total': len(extended), 'passed': sum(r['ok'] for r in extended),
                     'ok': all(r['ok'] for r in extended)},
        'failures': [{'id': r['id'], 'name': r['name'], 'detail': r['detail']} for r in failed + [
            r for r in extended if not r['ok']]],
        'gateways': gateways.by_gateway(results),
        'checks': results,
    }
