# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every mt5crs.mesh module shares: optional-library imports with their tracebacks,
the gateway connection argument spec, and the CURVE key loading."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mt5crs.mesh.plugins.module_utils import inputs

try:
    import zmq  # pylint: disable=unused-import; modules use it as mesh_common.zmq
    HAS_ZMQ = True
    ZMQ_IMP_ERR = None
except ImportError:
    zmq = None
    HAS_ZMQ = False
    ZMQ_IMP_ERR = traceback.format_exc()


def gateway_argument_spec():
    """Options of every module that talks to the gateway broker."""
    return dict(
        host=dict(type='str', required=True),
        port=dict(type='int', default=5555),
        timeout=dict(type='float', default=1.0),
        curve_server_public_key=dict(type='path'),
        curve_client_secret_key=dict(type='path', no_log=False),
    )


# The CURVE keys only make sense as a pair (declared, not hand-checked).
def dialect_argument_spec():
    """The gateway's dialect, for the probes that may face a gateway we did not deploy."""
    return dict(gateway_dialect=dict(type='str', default='mt5mesh', choices=['mt5mesh', 'action']),
                action_ping=dict(type='str', default='HEARTBEAT', choices=['HEARTBEAT', 'PING']))


GATEWAY_REQUIRED_TOGETHER = [('curve_server_public_key', 'curve_client_secret_key')]


def gateway_module(options, dialect=False):
    """The AnsibleModule of a read-only module that talks to the gateway: the shared connection
    options (and the dialect ones if asked) plus its own, the CURVE pair declared together, and
    check mode supported (the module changes nothing, or guards its change itself)."""
    spec = gateway_argument_spec()
    spec.update(options)
    if dialect:
        spec.update(dialect_argument_spec())
    return AnsibleModule(argument_spec=spec, required_together=GATEWAY_REQUIRED_TOGETHER, supports_check_mode=True)


def ensure_zmq(module):
    if not HAS_ZMQ:
        module.fail_json(msg=missing_required_lib('pyzmq'), exception=ZMQ_IMP_ERR)


def validate_gateway(module):
    """Fail early, naming the option and the value, instead of failing deep in a socket call."""
    p = module.params
    error = inputs.first_error(inputs.bad_host('host', p['host']), inputs.bad_port('port', p['port']),
                               inputs.bad_seconds('timeout', p['timeout']))
    if error:
        module.fail_json(msg=error)


def load_curve(client_secret_file, server_public_file):
    """((client public, client secret, server public), None), or (None, why not)."""
    import zmq.auth
    try:
        cpub, csec = zmq.auth.load_certificate(client_secret_file)
        spub, dummy = zmq.auth.load_certificate(server_public_file)
    except (IOError, OSError, ValueError) as e:
        return None, "cannot load CURVE keys: %s" % e
    if not csec:
        return None, "curve_client_secret_key %s holds no secret key" % client_secret_file
    return (cpub, csec, spub), None


def curve_keys(module):
    """(client public, client secret, server public) or None; fails the module on bad keys."""
    p = module.params
    if not p['curve_client_secret_key']:
        return None
    keys, error = load_curve(p['curve_client_secret_key'], p['curve_server_public_key'])
    if error:
        module.fail_json(msg=error)
    return keys


def bad_trade_filter(params):
    """The symbol/magic/client_id filters of the account modules, checked before any I/O."""
    from ansible_collections.mt5crs.mesh.plugins.module_utils._wire import protocol
    symbol, magic, client_id = params.get('symbol'), params.get('magic'), params.get('client_id')
    if symbol is not None and not protocol.valid_symbol(symbol):
        return 'symbol %r must be 1-32 characters from A-Z a-z 0-9 . _ # -' % symbol[:64]
    if magic is not None:
        error = inputs.bad_int('magic', magic, 0, 2 ** 63 - 1)
        if error:
            return error
    if client_id is not None and not protocol.valid_id(client_id):
        return 'client_id must be %s' % protocol.ID_RULE
    return None
