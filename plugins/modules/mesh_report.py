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
version_added: 1.0.0
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

from ansible_collections.mt5crs.mesh.plugins.module_utils import report_files


def main():
    report_files.module_main(report_files.ARGUMENT_SPEC, report_files.validation_error, report_files.write)


if __name__ == '__main__':
    main()
