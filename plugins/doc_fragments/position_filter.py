# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The filter mt5_positions_info and mt5_close_all share: the same positions are listed and closed.
    DOCUMENTATION = r'''
options:
  symbol:
    description:
      - Only positions of this symbol.
    type: str
  magic:
    description:
      - Only positions with this magic number (the strategy's id).
    type: int
'''
