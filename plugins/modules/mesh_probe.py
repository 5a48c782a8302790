#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_probe
short_description: Run one mesh check (Python, Redis, PostgreSQL, path, ICMP, TCP, HTTP(S), DNS, nexus health)
description:
  - Runs one probe of the mesh check catalog and reports C(is_available) with the cause, instead of failing.
  - Services are proven by their protocol, Redis C(PING), a PostgreSQL login, an HTTP status.
  - The same probes back M(mt5crs.mesh.mesh_verify), so one check behaves the same either way.
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
extends_documentation_fragment:
  - mt5crs.mesh.read_only
options:
  kind:
    description:
      - What to probe.
    type: str
    required: true
    choices: [python, imports, redis, postgres, path, icmp, tcp, http, dns, nexus_health]
  target:
    description:
      - Host, path, URL or name to probe, by I(kind). Not used for C(python) and C(imports).
    type: str
  port:
    description:
      - Port for C(redis) (default 6379), C(postgres) (default 5432) and C(tcp) (required).
    type: int
  timeout:
    description:
      - Seconds before the probe gives up.
    type: float
    default: 2.0
  minimum:
    description:
      - Minimum Python version for C(python).
    type: str
    default: '3.9'
  modules:
    description:
      - Python modules that must import, for C(imports).
    type: list
    elements: str
    default: [zmq, redis, psycopg2]
  database:
    description:
      - Database for C(postgres), or the Redis db number for C(redis).
    type: str
  user:
    description:
      - Login for C(postgres).
    type: str
  password:
    description:
      - Password for C(redis) or C(postgres). Never logged.
    type: str
  path_type:
    description:
      - What C(path) must be.
    type: str
    choices: [any, file, dir, executable]
    default: any
  expect_status:
    description:
      - HTTP status that counts as success for C(http).
    type: int
    default: 200
  ca_path:
    description:
      - CA bundle to verify HTTPS against, for C(http).
    type: path
  validate_certs:
    description:
      - Verify HTTPS certificates, for C(http).
    type: bool
    default: true
  max_lag:
    description:
      - Seconds of lag still healthy, for C(nexus_health).
    type: float
    default: 1.0
  fail_on_unavailable:
    description:
      - Fail the task when the probe fails.
    type: bool
    default: false
requirements:
  - redis (for C(redis))
  - psycopg2 (for C(postgres))
'''

EXAMPLES = r'''
- name: Redis answers PING with its password
  mt5crs.mesh.mesh_probe:
    kind: redis
    target: 127.0.0.1
    password: "{{ vault_mesh_redis_password }}"

- name: The Notion API stand-in answers 403
  mt5crs.mesh.mesh_probe:
    kind: http
    target: https://api.notion.lab/
    expect_status: 403
    ca_path: /etc/mt5lab/ca.pem
'''

RETURN = r'''
is_available:
  description: Whether the probe succeeded.
  returned: always
  type: bool
detail:
  description: One line naming the target and what was found or why it failed.
  returned: always
  type: str
  sample: Redis 7.0.15 online at 127.0.0.1:6379
elapsed_ms:
  description: Time the probe took.
  returned: always
  type: float
'''

import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mt5crs.mesh.plugins.module_utils import catalog, inputs

try:
    import redis  # noqa: F401  pylint: disable=unused-import
    REDIS_IMP_ERR = None
except ImportError:
    REDIS_IMP_ERR = traceback.format_exc()
try:
    import psycopg2  # noqa: F401  pylint: disable=unused-import
    PSYCOPG2_IMP_ERR = None
except ImportError:
    PSYCOPG2_IMP_ERR = traceback.format_exc()

# Module option -> probe argument. The kind list, each kind's target argument and the dispatch
# come from catalog.KINDS, the list mesh_verify uses too.
OPTION_TO_ARG = {'port': 'port', 'password': 'password', 'user': 'user', 'database': 'db', 'path_type': 'path_type',
                 'expect_status': 'expect_status', 'ca_path': 'ca_path', 'validate_certs': 'validate_certs',
                 'max_lag': 'max_lag', 'minimum': 'minimum', 'modules': 'modules', 'timeout': 'timeout'}


def probe_kwargs(params):
    """The probe's keyword arguments from the module's options: only those its probe takes."""
    kind = catalog.KINDS[params['kind']]
    given = dict((arg, params[opt]) for opt, arg in OPTION_TO_ARG.items() if params[opt] is not None)
    if kind.target:
        given[kind.target] = params['target']
    if params['kind'] == 'redis' and 'db' in given:
        given['db'] = int(given['db'])
    wanted = catalog.probe_args(params['kind'])
    return dict((k, v) for k, v in given.items() if k in wanted)


def run(module):
    return catalog.KINDS[module.params['kind']].probe(**probe_kwargs(module.params))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kind=dict(type='str', required=True, choices=catalog.STANDALONE_KINDS),
            target=dict(type='str'),
            port=dict(type='int'),
            timeout=dict(type='float', default=2.0),
            minimum=dict(type='str', default='3.9'),
            modules=dict(type='list', elements='str', default=['zmq', 'redis', 'psycopg2']),
            database=dict(type='str'),
            user=dict(type='str'),
            password=dict(type='str', no_log=True),
            path_type=dict(type='str', default='any', choices=['any', 'file', 'dir', 'executable']),
            expect_status=dict(type='int', default=200),
            ca_path=dict(type='path'),
            validate_certs=dict(type='bool', default=True),
            max_lag=dict(type='float', default=1.0),
            fail_on_unavailable=dict(type='bool', default=False),
        ),
        required_if=[('kind', 'postgres', ('database', 'user')), ('kind', 'tcp', ('port',))],
        supports_check_mode=True,
    )
    p = module.params
    target = catalog.KINDS[p['kind']].target
    if target and not p['target']:
        module.fail_json(msg="kind=%s needs target" % p['kind'])
    target_errors = catalog.arg_errors({target: p['target']}) if target else []
    error = inputs.first_error(
        target_errors[0].replace(target, 'target', 1) if target_errors else None,
        inputs.bad_port('port', p['port']) if p['port'] is not None else None,
        inputs.bad_seconds('timeout', p['timeout'], maximum=300),
        inputs.bad_seconds('max_lag', p['max_lag'], allow_zero=True),
        inputs.bad_int('expect_status', p['expect_status'], 100, 599),
        inputs.bad_version('minimum', p['minimum']),
        inputs.bad_module_list('modules', p['modules']))
    if error:
        module.fail_json(msg=error)
    if p['kind'] == 'redis' and REDIS_IMP_ERR:
        module.fail_json(msg=missing_required_lib('redis'), exception=REDIS_IMP_ERR)
    if p['kind'] == 'postgres' and PSYCOPG2_IMP_ERR:
        module.fail_json(msg=missing_required_lib('psycopg2'), exception=PSYCOPG2_IMP_ERR)
    if p['kind'] == 'redis' and p['database'] is not None and not str(p['database']).isdigit():
        module.fail_json(msg="database for redis is a db number, got %r" % p['database'])
    start = time.time()
    result = run(module)
    out = dict(changed=False, is_available=result['ok'], detail=result['detail'],
               elapsed_ms=round((time.time() - start) * 1000, 1))
    if not result['ok'] and p['fail_on_unavailable']:
        module.fail_json(msg="%s probe failed: %s" % (p['kind'], result['detail']), **out)
    module.exit_json(**out)


if __name__ == '__main__':
    main()
