#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_remediation_report
short_description: Write a gateway remediation report as JSON
description:
  - Writes the report of C(remediate_gateway.yml) (what was diagnosed, what it was after the repair) as indented JSON,
    under each of I(names) in I(dest).
  - Runs where the report belongs, usually the controller (C(delegate_to=localhost)); there it writes in-process,
    without a module run.
  - Files are written to a temporary name and renamed, so a reader never sees half a report.
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
options:
  report:
    description:
      - The report. It must hold at least C(host), C(cause), C(detail) and C(after).
    type: dict
    required: true
  dest:
    description:
      - Report directory; created if missing.
    type: path
    required: true
  names:
    description:
      - File names to write the same report under, each ending in C(.json), for example
        C(remediation-gtw.lab.json) and C(remediation-latest.json).
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    support: full
    description: Reports what it would write, writes nothing.
  diff_mode:
    support: none
    description: Nothing to diff.
seealso:
  - module: mt5crs.mesh.mesh_gateway_diagnose
  - module: mt5crs.mesh.mesh_report
'''

EXAMPLES = r'''
- name: Write the remediation report on the controller
  mt5crs.mesh.mesh_remediation_report:
    report:
      host: "{{ inventory_hostname }}"
      cause: "{{ gateway_diagnosis.cause }}"
      detail: "{{ gateway_diagnosis.detail }}"
      after: {cause: "{{ gateway_after.cause }}", detail: "{{ gateway_after.detail }}"}
    dest: "{{ playbook_dir }}/../reports"
    names: ["remediation-{{ inventory_hostname }}.json", remediation-latest.json]
  delegate_to: localhost
'''

RETURN = r'''
files:
  description: Paths written (or that would be written in check mode).
  returned: always
  type: list
  elements: str
  sample: [/srv/mesh/reports/remediation-gtw.lab.json, /srv/mesh/reports/remediation-latest.json]
'''

from ansible_collections.mt5crs.mesh.plugins.module_utils import report_files


def main():
    report_files.module_main(report_files.REMEDIATION_SPEC, report_files.remediation_error, report_files.write_remediation)


if __name__ == '__main__':
    main()
