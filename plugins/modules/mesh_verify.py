#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_verify
short_description: Run the mesh check catalog in parallel and score it
description:
  - Runs every check of I(catalog) from the host the task runs on (the vantage point), in parallel.
  - The catalog is inventory data. The default one, the seed's 17 checks plus the extended ones, lives in the C(mt5crs.mesh.mesh_verify) role defaults.
  - Each check is proven at the protocol level, see M(mt5crs.mesh.mesh_probe) and M(mt5crs.mesh.mesh_gateway_ping).
  - Returns every check, a score per phase, C(total), C(passed), C(percent) and C(rc).
  - C(rc) is 0 when every core check passes, 2 (compromised) when a phase 1 (local environment) check or a check marked C(critical) fails,
    1 (partial) otherwise.
  - Extended checks are scored apart and do not change C(rc).
  - Like any module that returns C(rc), the task fails when C(rc) is not 0, with a message naming each failing check and its cause.
  - Everything is returned either way; use C(failed_when) on C(checks is not defined) to only report.
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
extends_documentation_fragment:
  - mt5crs.mesh.read_only
options:
  catalog:
    description:
      - The checks. Each is a mapping with C(id), C(phase) (int), C(phase_name), C(name), C(kind), C(args),
        and optionally C(critical) and C(extended).
      - C(kind) is one of C(python), C(imports), C(redis), C(postgres), C(path), C(icmp), C(tcp), C(http), C(dns),
        C(zmq_ping), C(zmq_heartbeat), C(nexus_health), C(gateway_terminal), C(ticks_fresh), C(hub_bar_fresh), C(clock_skew),
        C(patroni_cluster), C(etcd_quorum).
      - Secrets are not written into C(args), an arg C(password_from) names an entry of I(credentials); a C(password)
        in C(args) is refused, so the catalog can be logged.
      - Each kind accepts only its own arguments, with their types; C(imports) only names modules of an allow-list;
        a C(postgres) check runs one fixed query (C(SHOW server_version)), never SQL from the catalog.
      - A C(path) check takes C(path) and C(path_type) (C(any), C(file), C(dir) or C(executable)). Its old spelling
        C(kind) for C(path_type) still works, with a deprecation warning, until 2.0.0.
    type: list
    elements: dict
    required: true
  gateways:
    description:
      - The mesh's gateways, each a mapping with C(name) (as nexus names its rows) and the fields the catalog's
        C(per_gateway) checks take from it (the role passes C(address), C(nexus_health_url) and C(trading)).
      - A check with C(per_gateway) (a mapping of probe argument to gateway field) runs once per gateway. With one
        gateway its id and name stay as written; with several, the id gains C(.<name>) and the name C( <name>).
    type: list
    elements: dict
    default: []
  allow_insecure_tls:
    description:
      - Allow C(http) checks with C(validate_certs) false. Off, such a check is an error in the catalog.
    type: bool
    default: false
  credentials:
    description:
      - Secrets referenced by C(password_from) in the catalog, from inventory vars or Ansible Vault. Never logged.
    type: dict
    default: {}
  parallel:
    description:
      - Checks run at the same time.
    type: int
    default: 16
  curve_server_public_key:
    description:
      - Gateway public key file for CURVE, used by the ZeroMQ checks.
    type: path
  curve_client_secret_key:
    description:
      - Client secret key file for CURVE, used by the ZeroMQ checks.
      - When the key files cannot be loaded, the ZeroMQ checks fail with that cause; the other checks still run.
    type: path
  curve_server_public_keys:
    description:
      - Each gateway's own public key file, by gateway name (several gateways, a key pair each). The ZeroMQ checks of a
        gateway listed here use its key with I(curve_client_secret_key); the others use I(curve_server_public_key).
    type: dict
    default: {}
requirements:
  - pyzmq (for the ZeroMQ checks; without it they fail with that cause)
'''

EXAMPLES = r'''
- name: Run the default catalog from INF
  mt5crs.mesh.mesh_verify:
    catalog: "{{ mesh_verify_catalog + mesh_verify_extended_catalog }}"
    credentials:
      inf_pg: "{{ mesh_inf_pg_password }}"
  register: mesh
'''

RETURN = r'''
checks:
  description:
    - Every check with C(id), C(phase), C(phase_name), C(name), C(kind), C(ok), C(detail), C(critical), C(extended) and C(elapsed_ms).
  returned: always
  type: list
  elements: dict
phases:
  description: Score per phase of the core catalog, each with C(phase), C(name), C(total) and C(passed).
  returned: always
  type: list
  elements: dict
total:
  description: Core checks run.
  returned: always
  type: int
  sample: 17
passed:
  description: Core checks passed.
  returned: always
  type: int
  sample: 15
percent:
  description: Core checks passed, in percent.
  returned: always
  type: float
  sample: 88.2
rc:
  description: 0 all pass, 1 partial, 2 compromised.
  returned: always
  type: int
status:
  description: C(FULL MESH), C(PARTIAL) or C(COMPROMISED).
  returned: always
  type: str
extended:
  description: Score of the extended checks, with C(total), C(passed) and C(ok).
  returned: always
  type: dict
failures:
  description: Failing checks (core and extended) with C(id), C(name) and C(detail).
  returned: always
  type: list
  elements: dict
gateways:
  description: Each gateway's checks scored, core and extended together, with C(name), C(total), C(passed), C(ok) and C(failing) (check names).
  returned: always
  type: list
  elements: dict
elapsed_ms:
  description: Wall time of the whole catalog.
  returned: always
  type: float
vantage:
  description: Host name the checks ran from.
  returned: always
  type: str
'''

import socket
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mt5crs.mesh.plugins.module_utils import catalog, gateways, inputs, mesh_common


def main():
    module = AnsibleModule(
        argument_spec=dict(
            # Safe to log: validate() refuses any secret in it (only password_from names).
            catalog=dict(type='list', elements='dict', required=True, no_log=False),
            credentials=dict(type='dict', default={}, no_log=True),
            gateways=dict(type='list', elements='dict', default=[]),
            allow_insecure_tls=dict(type='bool', default=False),
            parallel=dict(type='int', default=16),
            curve_server_public_key=dict(type='path'),
            curve_client_secret_key=dict(type='path', no_log=False),
            curve_server_public_keys=dict(type='dict', default={}),
        ),
        required_together=mesh_common.GATEWAY_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    p = module.params
    error = inputs.bad_int('parallel', p['parallel'], 1, 64)
    if error:
        module.fail_json(msg=error)
    checks, errors = gateways.expand(p['catalog'], p['gateways'])
    if not errors:
        errors = catalog.validate(checks, p['credentials'], p['allow_insecure_tls'])
    if errors:
        module.fail_json(msg="invalid check catalog: %s" % '; '.join(errors), errors=errors)
    for message in catalog.deprecated_args(checks):
        module.deprecate(message, version='2.0.0', collection_name='mt5crs.mesh')
    curve, curve_error = None, None
    if mesh_common.HAS_ZMQ and p['curve_client_secret_key']:
        # Missing keys fail the ZeroMQ checks (named, with the cause), not the whole run: a verify
        # before the keys are installed (establish step 1 on fresh hosts) must still report.
        curve, curve_error = mesh_common.load_curve(p['curve_client_secret_key'], p['curve_server_public_key'])
    curves = {}
    if mesh_common.HAS_ZMQ and p['curve_client_secret_key']:
        for name, path in p['curve_server_public_keys'].items():
            curves[name] = mesh_common.load_curve(p['curve_client_secret_key'], path)
    start = time.time()
    results = catalog.run_catalog(checks, p['credentials'], p['parallel'], mesh_common.zmq, curve, curve_error, curves)
    scored = catalog.score(results)
    scored.update(elapsed_ms=round((time.time() - start) * 1000, 1), vantage=socket.gethostname())
    if scored['rc'] != 0:
        module.fail_json(msg="mesh %s: %d/%d; failing: %s" % (
            scored['status'], scored['passed'], scored['total'],
            '; '.join('%s (%s)' % (f['name'], f['detail']) for f in scored['failures'])), **scored)
    module.exit_json(changed=False, **scored)


if __name__ == '__main__':
    main()
