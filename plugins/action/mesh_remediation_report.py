# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mesh_remediation_report delegated to the controller writes in-process (as mesh_report does):
remediation wrote its report with a directory task and a two-item copy loop, 1.7 s of its 9 s."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mt5crs.mesh.plugins.action.mesh_report import InProcessWriter
from ansible_collections.mt5crs.mesh.plugins.module_utils import report_files


class ActionModule(InProcessWriter):
    MODULE = 'mt5crs.mesh.mesh_remediation_report'
    SPEC = report_files.REMEDIATION_SPEC
    validate = staticmethod(report_files.remediation_error)
    write = staticmethod(report_files.write_remediation)
