# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: cwd
short_description: The directory ansible-playbook was started in
description:
  - Returns the controller's current working directory, where the user ran C(ansible-playbook).
  - The C(pipe) lookup cannot tell it, it runs its command in the playbook's directory.
  - The collection writes its reports there (C(reports/)), never inside an installed collection.
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
'''

EXAMPLES = r'''
- name: Where reports go
  ansible.builtin.debug:
    msg: "{{ lookup('mt5crs.mesh.cwd') }}/reports"
'''

RETURN = r'''
_raw:
  description: The working directory, an absolute path.
  type: list
  elements: str
'''

import os

from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [os.getcwd()]
