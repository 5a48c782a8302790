#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_report
short_description: Write mesh_verify results as JSON, JUnit XML and Markdown reports
description:
  - Writes timestamped reports of a M(mt5crs.mesh.mesh_verify) result into I(dest), plus C(latest.json), C(latest.xml) and C(latest.md).
  - Runs where the reports belong, usually the controller (C(delegate_to=localhost)).
  - Files are written to a temporary name and renamed, so a reader never sees half a report.
version_added: 0.1.0
author:
  - mt5crs maintainers (@mt5crs)
options:
  result:
    description:
      - The registered result of M(mt5crs.mesh.mesh_verify).
    type: dict
    required: true
  vantages:
    description:
      - Optional results from other vantage hosts, keyed by host, for the N x N view.
    type: dict
    default: {}
  dest:
    description:
      - Report directory; created if missing.
    type: path
    required: true
  stamp:
    description:
      - Timestamp used in the file names and the report, for example C(ansible_date_time.iso8601_basic_short).
    type: str
    required: true
attributes:
  check_mode:
    support: full
    description: Reports what it would write, writes nothing.
  diff_mode:
    support: none
    description: Nothing to diff.
'''

EXAMPLES = r'''
- name: Write reports on the controller
  mt5crs.mesh.mesh_report:
    result: "{{ mesh }}"
    dest: "{{ playbook_dir }}/../reports"
    stamp: "{{ now(utc=true, fmt='%Y%m%dT%H%M%SZ') }}"
  delegate_to: localhost
'''

RETURN = r'''
files:
  description: Paths written (or that would be written in check mode).
  returned: always
  type: list
  elements: str
'''

import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mt5crs.mesh.plugins.module_utils import inputs, report

STAMP = re.compile(r'[A-Za-z0-9_.:-]{1,64}')


def write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.tmp-')
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            result=dict(type='dict', required=True),
            vantages=dict(type='dict', default={}),
            dest=dict(type='path', required=True),
            stamp=dict(type='str', required=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    result = dict(p['result'])
    for key in ('checks', 'total', 'passed', 'rc'):
        if key not in result:
            module.fail_json(msg="result is not a mesh_verify result: it has no %r" % key)
    if not isinstance(result['checks'], list) or not all(isinstance(c, dict) and 'id' in c and 'ok' in c for c in result['checks']):
        module.fail_json(msg="result.checks must be a list of checks (mappings with id and ok)")
    if not STAMP.fullmatch(p['stamp']):
        module.fail_json(msg="stamp must be letters, digits, '.', '_', ':' or '-' only, got %r" % p['stamp'][:80])
    bad = [host for host, r in p['vantages'].items() if not isinstance(r, dict)]
    if bad:
        module.fail_json(msg="vantages must map each host to its mesh_verify result; not a result: %s" % ', '.join(bad[:5]))
    error = inputs.bad_path('dest', p['dest'])
    if error:
        module.fail_json(msg=error)
    result['generated_at'] = p['stamp']
    if p['vantages']:
        result['vantages'] = dict((host, {'total': r.get('total'), 'passed': r.get('passed'), 'rc': r.get('rc'),
                                          'extended': r.get('extended'), 'elapsed_ms': r.get('elapsed_ms'),
                                          'failures': r.get('failures', [])}) for host, r in p['vantages'].items())
    renders = (('json', report.to_json(result)), ('xml', report.to_junit(result)), ('md', report.to_markdown(result)))
    files = []
    for ext, _text in renders:
        files.append(os.path.join(p['dest'], 'mesh-%s.%s' % (p['stamp'], ext)))
        files.append(os.path.join(p['dest'], 'latest.%s' % ext))
    if module.check_mode:
        module.exit_json(changed=True, files=files)
    try:
        if not os.path.isdir(p['dest']):
            os.makedirs(p['dest'])
        for ext, text in renders:
            write_atomic(os.path.join(p['dest'], 'mesh-%s.%s' % (p['stamp'], ext)), text)
            write_atomic(os.path.join(p['dest'], 'latest.%s' % ext), text)
    except (IOError, OSError) as e:
        module.fail_json(msg="cannot write reports to %s: %s" % (p['dest'], e))
    module.exit_json(changed=True, files=files)


if __name__ == '__main__':
    main()
