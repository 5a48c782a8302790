# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing report files: a mesh_verify result (mesh_report) and a remediation report
(mesh_remediation_report). Shared by each module (which runs wherever it is delegated) and its action
plugin (which writes on the controller in-process when delegated to it, saving module runs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mt5crs.mesh.plugins.module_utils import inputs, report

STAMP = re.compile(r'[A-Za-z0-9_.:-]{1,64}')

ARGUMENT_SPEC = dict(
    result=dict(type='dict', required=True),
    vantages=dict(type='dict', default={}),
    dest=dict(type='path', required=True),
    stamp=dict(type='str', required=True),
)


def validation_error(p):
    """The first invalid option, named, or None."""
    result = p['result']
    for key in ('checks', 'total', 'passed', 'rc'):
        if key not in result:
            return "result is not a mesh_verify result: it has no %r" % key
    if not isinstance(result['checks'], list) or not all(isinstance(c, dict) and 'id' in c and 'ok' in c for c in result['checks']):
        return "result.checks must be a list of checks (mappings with id and ok)"
    if not STAMP.fullmatch(p['stamp']):
        return "stamp must be letters, digits, '.', '_', ':' or '-' only, got %r" % p['stamp'][:80]
    bad = [host for host, r in p['vantages'].items() if not isinstance(r, dict)]
    if bad:
        return "vantages must map each host to its mesh_verify result; not a result: %s" % ', '.join(bad[:5])
    return inputs.bad_path('dest', p['dest'])


def module_main(spec, validate, write):
    """A report module's whole run (mesh_report, mesh_remediation_report): validate, then write."""
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    error = validate(module.params)
    if error:
        module.fail_json(msg=error)
    error, files = write(module.params, module.check_mode)
    if error:
        module.fail_json(msg=error)
    module.exit_json(changed=True, files=files)


def write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.tmp-')
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def write(p, check_mode):
    """(error or None, files written or that would be written). p: validated options."""
    result = dict(p['result'])
    result['generated_at'] = p['stamp']
    if p['vantages']:
        result['vantages'] = dict((host, {'total': r.get('total'), 'passed': r.get('passed'), 'rc': r.get('rc'),
                                          'extended': r.get('extended'), 'elapsed_ms': r.get('elapsed_ms'),
                                          'failures': r.get('failures', [])}) for host, r in p['vantages'].items())
    renders = (('json', report.to_json(result)), ('xml', report.to_junit(result)), ('md', report.to_markdown(result)))
    pairs = []
    for ext, text in renders:
        pairs.append((os.path.join(p['dest'], 'mesh-%s.%s' % (p['stamp'], ext)), text))
        pairs.append((os.path.join(p['dest'], 'latest.%s' % ext), text))
    return write_all(p['dest'], pairs, check_mode, 'reports')


def write_all(dest, pairs, check_mode, what):
    """Write each (path, text) under ``dest`` (made if missing): (error or None, paths)."""
    files = [path for path, dummy in pairs]
    if check_mode:
        return None, files
    try:
        if not os.path.isdir(dest):
            os.makedirs(dest)
        for path, text in pairs:
            write_atomic(path, text)
    except (IOError, OSError) as e:
        return "cannot write %s to %s: %s" % (what, dest, e), files
    return None, files


# --- the remediation report ---------------------------------------------------------------
REMEDIATION_SPEC = dict(
    report=dict(type='dict', required=True),
    dest=dict(type='path', required=True),
    names=dict(type='list', elements='str', required=True),
)
REMEDIATION_KEYS = ('host', 'cause', 'detail', 'after')
FILE_NAME = re.compile(r'[A-Za-z0-9_-][A-Za-z0-9_.-]{0,122}\.json')


def remediation_error(p):
    """The first invalid option, named, or None."""
    if not p['names']:
        return "names must list at least one file name"
    bad = [n for n in p['names'] if not FILE_NAME.fullmatch(n)]
    if bad:
        return "names must be file names ending in .json (letters, digits, '.', '_', '-'), got %r" % bad[0][:80]
    missing = [k for k in REMEDIATION_KEYS if k not in p['report']]
    if missing:
        return "report is not a remediation report: it has no %s" % ', '.join(repr(k) for k in missing)
    return inputs.bad_path('dest', p['dest'])


def write_remediation(p, check_mode):
    """(error or None, files written or that would be written). p: validated options."""
    text = json.dumps(p['report'], indent=4, sort_keys=True, separators=(',', ': '), default=str) + '\n'
    return write_all(p['dest'], [(os.path.join(p['dest'], name), text) for name in p['names']], check_mode,
                     'the remediation report')
