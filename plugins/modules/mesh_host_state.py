#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_host_state
short_description: Tell in one round trip whether a host already is as a role would leave it
description:
  - Observes files and directories (content checksum, mode, owner, group), Debian packages, users and systemd units, and returns
    every difference from what is wanted.
  - The mesh roles run it first and run their tasks only when something differs, so a converged run costs one round trip per role
    instead of one per task. Drift is still repaired, because the real files are read, not a stamp.
  - Anything it cannot read counts as a difference, so the worst case is the role running in full.
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
extends_documentation_fragment:
  - mt5crs.mesh.read_only
options:
  files:
    description:
      - Files and directories that must exist as given.
    type: list
    elements: dict
    default: []
    suboptions: &file_options
      path:
        description: Absolute path.
        type: path
        required: true
      state:
        description: What the path must be (C(absent) - nothing there).
        type: str
        choices: [file, directory, absent]
        default: file
      checksum:
        description: SHA-1 of the file's content (for example C(lookup('template', ...) | hash('sha1'))); not compared when omitted.
        type: str
      mode:
        description: Octal mode as a string, for example C("0644"); not compared when omitted.
        type: str
      owner:
        description: Owner name; not compared when omitted.
        type: str
      group:
        description: Group name; not compared when omitted.
        type: str
  packages:
    description:
      - Debian packages that must be installed.
    type: list
    elements: str
    default: []
  users:
    description:
      - Users that must exist.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: User name.
        type: str
        required: true
      shell:
        description: Login shell; not compared when omitted.
        type: str
      home:
        description: Home directory; not compared when omitted.
        type: str
  lines:
    description:
      - Lines of text files as C(ansible.builtin.lineinfile) (I(regexp) and I(line)) or C(ansible.builtin.blockinfile) (I(text)) leaves them.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      regexp:
        description: The last line matching it must be I(line).
        type: str
      line:
        description: The line.
        type: str
      text:
        description: Text the file must contain, markers included.
        type: str
  no_other:
    description:
      - Paths matching I(pattern) that must not exist except those in I(keep) (for example a client key no longer allowed).
    type: list
    elements: dict
    default: []
    suboptions: &no_other_options
      pattern:
        description: A glob.
        type: str
        required: true
      keep:
        description: The paths that may match.
        type: list
        elements: path
        default: []
  units:
    description:
      - systemd units (full names, for example C(mt5mesh-gateway.service)) that must be loaded from their current file.
    type: list
    elements: dict
    default: []
    suboptions: &unit_options
      name:
        description: Unit name.
        type: str
        required: true
      enabled:
        description: Whether the unit must be enabled.
        type: bool
        default: false
      active:
        description: Whether the unit must be running.
        type: bool
        default: false
  also:
    description:
      - A second wanted state, observed in the same round trip and judged on its own (returned as RV(also)).
      - What a shared role uses to check its includer's files and units with its own, so that the includer needs no round trip
        of its own (C(mesh_runtime) for C(gateway_broker) and C(nexus_daemon)).
      - I(files), I(units) and I(no_other) take the same entries as the options of those names.
    type: dict
    suboptions:
      name:
        description: A label returned as is, so that the includer can tell its own verdict from another role's.
        type: str
        required: true
      files:
        description: As I(files).
        type: list
        elements: dict
        default: []
        suboptions: *file_options
      units:
        description: As I(units).
        type: list
        elements: dict
        default: []
        suboptions: *unit_options
      no_other:
        description: As I(no_other).
        type: list
        elements: dict
        default: []
        suboptions: *no_other_options
requirements:
  - dpkg-query when I(packages) is given, systemctl when I(units) is given
'''

EXAMPLES = r'''
- name: Check the gateway's files and unit in one round trip
  mt5crs.mesh.mesh_host_state:
    files:
      - path: /etc/mt5mesh/gateway.yml
        checksum: "{{ lookup('ansible.builtin.template', 'gateway.yml.j2') | hash('sha1') }}"
        mode: "0640"
        owner: root
        group: mt5mesh
    units:
      - {name: mt5mesh-gateway.service, enabled: true, active: true}
  register: gateway_state

- name: Deploy only what differs
  ansible.builtin.include_tasks: deploy.yml
  when: not gateway_state.converged
'''

RETURN = r'''
converged:
  description: Whether nothing differs.
  returned: always
  type: bool
differs:
  description: Each difference in one line naming the path, package, user or unit and what differs.
  returned: always
  type: list
  elements: str
  sample: ["/etc/mt5mesh/gateway.yml: content differs", "unit mt5mesh-gateway.service: not active"]
kinds:
  description: What kind of thing differs, C(files) (files, lines, packages, users) and C(units); empty when converged.
  returned: always
  type: list
  elements: str
  sample: [units]
paths:
  description: The paths of the I(files) entries that differ, in the order given (a role writes just these).
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/mt5mesh-gateway.service]
unit_actions:
  description:
    - What the units' differences need, as fields to act on (never on RV(differs)' text), in systemd's order.
    - C(daemon_reload) is true when a unit is not loaded or systemd has not loaded its changed file; C(enable) and C(start)
      list the units that are not enabled and not active (a unit not loaded is in both, when wanted so).
  returned: always
  type: dict
  sample: {daemon_reload: false, enable: [], start: [mt5mesh-gateway.service]}
  contains:
    daemon_reload:
      description: Whether systemd must reload its unit files first.
      type: bool
      returned: always
    enable:
      description: The units to enable.
      type: list
      elements: str
      returned: always
    start:
      description: The units to start.
      type: list
      elements: str
      returned: always
also:
  description: The verdict on I(also), as RV(converged), RV(differs), RV(kinds), RV(paths) and RV(unit_actions) are on the rest, with its I(name).
  returned: when I(also) is given
  type: dict
  sample: {name: gateway_broker, converged: false, differs: ["unit mt5mesh-gateway.service: not active"], kinds: [units],
           unit_actions: {daemon_reload: false, enable: [], start: [mt5mesh-gateway.service]}}
elapsed:
  description: Seconds the observation took.
  returned: always
  type: float
'''

import glob
import grp
import hashlib
import os
import pwd
import stat
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mt5crs.mesh.plugins.module_utils import host_state

UNIT_PROPERTIES = ('LoadState', 'ActiveState', 'UnitFileState', 'NeedDaemonReload')


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return None


def observe_file(want):
    try:
        st = os.lstat(want['path'])
    except OSError:
        return None
    file_type = 'file' if stat.S_ISREG(st.st_mode) else 'directory' if stat.S_ISDIR(st.st_mode) else 'other'
    seen = dict(type=file_type, mode=stat.S_IMODE(st.st_mode), owner=_name(pwd.getpwuid, st.st_uid), group=_name(grp.getgrgid, st.st_gid))
    if file_type == 'file' and want.get('checksum'):
        digest = hashlib.sha1()
        try:
            with open(want['path'], 'rb') as f:
                for chunk in iter(lambda: f.read(1 << 16), b''):
                    digest.update(chunk)
        except (IOError, OSError):
            return dict(seen, type='unreadable')
        seen['checksum'] = digest.hexdigest()
    return seen


def observe_lines(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace').splitlines()
    except (IOError, OSError):
        return None


def observe_packages(module, names):
    if not names:
        return []
    # One dpkg-query for all; it exits 1 when one is unknown, which is "not installed" here.
    dummy, out, dummy = module.run_command(['dpkg-query', '-W', '-f=${Package} ${db:Status-Status}\n'] + list(names))
    return [line.split()[0] for line in out.splitlines() if line.endswith(' installed')]


def observe_users(names):
    out = {}
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        out[name] = dict(shell=entry.pw_shell, home=entry.pw_dir)
    return out


def observe_units(module, names):
    if not names:
        return {}
    rc, out, dummy = module.run_command(['systemctl', 'show', '-p', ','.join(UNIT_PROPERTIES), '--'] + list(names))
    if rc != 0:
        return {}
    # systemctl prints one block per unit, in the order asked, separated by a blank line.
    blocks = [dict(line.split('=', 1) for line in block.splitlines() if '=' in line) for block in out.strip('\n').split('\n\n')]
    return dict(zip(names, blocks)) if len(blocks) == len(names) else {}


FILE_OPTIONS = dict(path=dict(type='path', required=True), state=dict(type='str', choices=['file', 'directory', 'absent'], default='file'),
                    checksum=dict(type='str', no_log=True), mode=dict(type='str'), owner=dict(type='str'), group=dict(type='str'))
UNIT_OPTIONS = dict(name=dict(type='str', required=True), enabled=dict(type='bool', default=False), active=dict(type='bool', default=False))
NO_OTHER_OPTIONS = dict(pattern=dict(type='str', required=True), keep=dict(type='list', elements='path', default=[]))


def observe(module, p):
    """What the host has of everything ``p`` (the module's options, or ``also``) names."""
    return dict(files={want['path']: observe_file(want) for want in p.get('files') or ()},
                lines={want['path']: observe_lines(want['path']) for want in p.get('lines') or ()},
                no_other={want['pattern']: glob.glob(want['pattern']) for want in p.get('no_other') or ()},
                packages=observe_packages(module, p.get('packages') or ()), users=observe_users([u['name'] for u in p.get('users') or ()]),
                units=observe_units(module, [u['name'] for u in p.get('units') or ()]))


def verdict(p, observed):
    differs = host_state.differences(p, observed)
    return dict(converged=not differs, differs=differs, kinds=host_state.kinds(differs),
                paths=host_state.file_paths(p, observed), unit_actions=host_state.unit_actions(p, observed))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', default=[], options=FILE_OPTIONS),
            packages=dict(type='list', elements='str', default=[]),
            users=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True), shell=dict(type='str'), home=dict(type='str'))),
            lines=dict(type='list', elements='dict', default=[], no_log=False, options=dict(
                path=dict(type='path', required=True), regexp=dict(type='str'), line=dict(type='str', no_log=True), text=dict(type='str', no_log=True)),
                required_one_of=[('line', 'text')], mutually_exclusive=[('line', 'text')], required_together=[('regexp', 'line')]),
            no_other=dict(type='list', elements='dict', default=[], options=NO_OTHER_OPTIONS),
            units=dict(type='list', elements='dict', default=[], options=UNIT_OPTIONS),
            also=dict(type='dict', options=dict(
                name=dict(type='str', required=True),
                files=dict(type='list', elements='dict', default=[], options=FILE_OPTIONS),
                units=dict(type='list', elements='dict', default=[], options=UNIT_OPTIONS),
                no_other=dict(type='list', elements='dict', default=[], options=NO_OTHER_OPTIONS))),
        ),
        supports_check_mode=True,
    )
    p = module.params
    error = host_state.validation_error(p) or (host_state.validation_error(p['also']) if p['also'] else None)
    if error:
        module.fail_json(msg=error)
    started = time.time()
    result = verdict(p, observe(module, p))
    if p['also']:
        also = p['also']
        result['also'] = dict(verdict(also, observe(module, also)), name=also['name'])
    module.exit_json(changed=False, elapsed=round(time.time() - started, 3), **result)


if __name__ == '__main__':
    main()
