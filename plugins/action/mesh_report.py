# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mesh_report delegated to the controller (as the mesh_verify role does) writes its files here,
in-process: the same code as the module (module_utils/report_files.py) without a module run,
which is a third of a verify's time. Anywhere else it runs the module as usual.

``InProcessWriter`` is shared with mesh_remediation_report's action plugin."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.mt5crs.mesh.plugins.module_utils import report_files


class InProcessWriter(ActionBase):
    """Runs MODULE's own validate and write functions in-process on a local connection."""

    TRANSFERS_FILES = False
    MODULE = 'mt5crs.mesh.mesh_report'
    SPEC = report_files.ARGUMENT_SPEC
    validate = staticmethod(report_files.validation_error)
    write = staticmethod(report_files.write)

    def run(self, tmp=None, task_vars=None):
        result = super(InProcessWriter, self).run(tmp, task_vars)
        if self._connection.transport != 'local':
            result.update(self._execute_module(module_name=self.MODULE, task_vars=task_vars))
            return result
        dummy, params = self.validate_argument_spec(argument_spec=self.SPEC)
        error = self.validate(params)
        if not error:
            error, files = self.write(params, self._task.check_mode)
        if error:
            result.update(failed=True, msg=error)
            return result
        result.update(changed=True, files=files)
        return result


class ActionModule(InProcessWriter):
    pass
