# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Renders a scored mesh_verify result: phase table text, JSON, JUnit XML, and Markdown laid
out like the seed's log. Used by the mesh_report module and the mesh_summary callback."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from xml.etree import ElementTree as ET

MARK = {True: 'PASS', False: 'FAIL'}
# What XML 1.0 cannot hold: control characters other than tab, LF and CR, lone surrogates, and
# U+FFFE/U+FFFF. A check detail may quote a peer's bytes; the report must still parse.
_NOT_XML = re.compile(u'[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')


def xml_safe(text):
    """Text with every character XML 1.0 cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub(u'\ufffd', u'%s' % (text,))


def phase_table(result):
    lines = []
    for ph in result.get('phases', []):
        lines.append('  Phase %d %-24s %2d/%-2d' % (ph['phase'], ph['name'] + ':', ph['passed'], ph['total']))
    lines.append('  %-32s %2d/%-2d (%.1f%%)  rc=%d %s' % (
        'TOTAL:', result.get('passed', 0), result.get('total', 0), result.get('percent', 0.0),
        result.get('rc', -1), result.get('status', '')))
    ext = result.get('extended') or {}
    if ext.get('total'):
        lines.append('  %-32s %2d/%-2d' % ('Extended (beyond the seed):', ext['passed'], ext['total']))
    gateways = result.get('gateways') or []
    if len(gateways) > 1:  # one gateway: the seed's table as it was
        for gw in gateways:
            lines.append('  %-32s %2d/%-2d %s' % ('Gateway %s:' % gw['name'], gw['passed'], gw['total'],
                                                  'ok' if gw['ok'] else 'FAILING ' + ', '.join(gw['failing'])))
    return '\n'.join(lines)


def failing_lines(result):
    return ['  FAIL %s: %s' % (f['name'], f['detail']) for f in result.get('failures', [])]


def to_json(result):
    keys = ('total', 'passed', 'percent', 'rc', 'status', 'vantage', 'generated_at', 'phases', 'extended',
            'failures', 'gateways', 'elapsed_ms', 'checks', 'vantages')
    return json.dumps(dict((k, result[k]) for k in keys if k in result), indent=2, sort_keys=False) + '\n'


def to_junit(result):
    checks = result.get('checks', [])
    suite = ET.Element('testsuite', name=xml_safe('mt5crs.mesh verify (%s)' % result.get('vantage', '?')),
                       tests=str(len(checks)), failures=str(sum(1 for c in checks if not c['ok'])),
                       time='%.3f' % (result.get('elapsed_ms', 0) / 1000.0))
    for c in checks:
        classname = '%s.phase%d' % ('extended' if c['extended'] else 'core', c['phase'])
        case = ET.SubElement(suite, 'testcase', classname=classname, name=xml_safe('%s %s' % (c['id'], c['name'])),
                             time='%.3f' % (c['elapsed_ms'] / 1000.0))
        detail = xml_safe(c['detail'])
        if not c['ok']:
            ET.SubElement(case, 'failure', message=detail).text = detail
        else:
            ET.SubElement(case, 'system-out').text = detail
    return ET.tostring(suite, encoding='unicode') + '\n'


def to_markdown(result):
    score = (result.get('status'), result.get('passed', 0), result.get('total', 0), result.get('percent', 0), result.get('rc', -1))
    out = ['# Mesh verification (%s)' % result.get('vantage', '?'), '',
           '**Generated**: %s  ' % result.get('generated_at', ''),
           '**Status**: %s, %d/%d (%.1f%%), rc %d' % score,
           '']
    checks = result.get('checks', [])
    for ph in result.get('phases', []):
        out.append('## Phase %d: %s (%d/%d)' % (ph['phase'], ph['name'], ph['passed'], ph['total']))
        out.append('')
        out.append('| | Check | Detail | ms |')
        out.append('|---|---|---|---|')
        for c in checks:
            if c['phase'] == ph['phase'] and not c['extended']:
                out.append('| %s | %s | %s | %.0f |' % (MARK[c['ok']], c['name'], c['detail'].replace('|', '/'), c['elapsed_ms']))
        out.append('')
    ext = [c for c in checks if c['extended']]
    if ext:
        out.append('## Extended checks (beyond the seed, scored apart)')
        out.append('')
        out.append('| | Check | Detail | ms |')
        out.append('|---|---|---|---|')
        for c in ext:
            out.append('| %s | %s | %s | %.0f |' % (MARK[c['ok']], c['name'], c['detail'].replace('|', '/'), c['elapsed_ms']))
        out.append('')
    out.append('## Overall score')
    out.append('')
    out.append('```')
    out.append(phase_table(result))
    out.append('```')
    return '\n'.join(out) + '\n'
