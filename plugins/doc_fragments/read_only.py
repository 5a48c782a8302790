# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The probes only look: they behave the same in check mode and have nothing to diff.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing to diff.
'''
