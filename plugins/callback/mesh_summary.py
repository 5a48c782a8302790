# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: mesh_summary
type: aggregate
short_description: Print the mesh check phase table and score at the end of a run
description:
  - Collects every M(mt5crs.mesh.mesh_verify) result of the run.
  - Prints, per vantage host, the phase table, the score and the failing checks, like the seed's log.
  - Ends with C(FULL MESH CONNECTED & OPERATIONAL) when a whole catalog (17 checks plus extended ones) passed and no host failed.
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
requirements:
  - enable in ansible.cfg with C(callbacks_enabled = mt5crs.mesh.mesh_summary)
options:
  show_failures:
    description: List each failing check with its cause under the table.
    type: bool
    default: true
    env:
      - name: MESH_SUMMARY_SHOW_FAILURES
    ini:
      - section: mesh_summary
        key: show_failures
'''

from ansible.plugins.callback import CallbackBase

from ansible_collections.mt5crs.mesh.plugins.module_utils import report

BANNER = 'FULL MESH CONNECTED & OPERATIONAL'


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'mt5crs.mesh.mesh_summary'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None, options=None):
        super(CallbackModule, self).__init__(display=display, options=options)
        self.results = {}

    def _collect(self, result):
        res = result._result  # pylint: disable=protected-access
        if isinstance(res, dict) and 'checks' in res and 'phases' in res and 'rc' in res:
            self.results[result._host.get_name()] = res  # pylint: disable=protected-access

    def v2_runner_on_ok(self, result):
        self._collect(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._collect(result)

    def v2_playbook_on_stats(self, stats):
        if not self.results:
            return
        show_failures = self.get_option('show_failures')
        for host in sorted(self.results):
            res = self.results[host]
            self._display.banner('MESH SUMMARY (from %s)' % host)
            self._display.display(report.phase_table(res))
            if show_failures:
                for line in report.failing_lines(res):
                    self._display.display(line, color='red')
        # Only a whole catalog (the seed's 17 checks plus extended ones) earns the banner, not a subset.
        whole = all(r.get('rc') == 0 and r.get('total', 0) >= 17 and (r.get('extended') or {}).get('total', 0) > 0
                    and r['extended'].get('ok') for r in self.results.values())
        if whole and not stats.failures and not stats.dark:
            # The last line of a good run, as the seed's ops_establish_link.py ended.
            self._display.display(BANNER, color='green')
