# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing a mesh_verify result as report files: shared by the mesh_report module (which runs
wherever it is delegated) and its action plugin (which writes on the controller in-process when
delegated to it, saving a module run per verify)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile

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
    files = []
    for ext, dummy in renders:
        files.append(os.path.join(p['dest'], 'mesh-%s.%s' % (p['stamp'], ext)))
        files.append(os.path.join(p['dest'], 'latest.%s' % ext))
    if check_mode:
        return None, files
    try:
        if not os.path.isdir(p['dest']):
            os.makedirs(p['dest'])
        for ext, text in renders:
            write_atomic(os.path.join(p['dest'], 'mesh-%s.%s' % (p['stamp'], ext)), text)
            write_atomic(os.path.join(p['dest'], 'latest.%s' % ext), text)
    except (IOError, OSError) as e:
        return "cannot write reports to %s: %s" % (p['dest'], e), files
    return None, files
