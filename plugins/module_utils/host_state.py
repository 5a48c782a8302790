# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a host already is as a role would leave it: the decision, on plain data.

A role asks once (the mesh_host_state module observes files, packages, users and units in one round
trip) and runs its block of writes only when something differs. It is an optimisation that must
never hide drift: anything unknown or unreadable counts as a difference, so the worst case is the
role running in full, as it would without the check.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


# Names that reach dpkg-query and systemctl as arguments: nothing option-looking or odd.
PACKAGE = re.compile(r'[a-z0-9][a-z0-9+.-]{0,99}')
UNIT = re.compile(r'[A-Za-z0-9@_.:\\][A-Za-z0-9@_.:\\-]{0,254}')
USER = re.compile(r'[a-z_][a-z0-9_-]{0,31}')
SHA1 = re.compile(r'[0-9a-f]{40}')
OCTAL = re.compile(r'0?[0-7]{3,4}')


def _bad_path(what, path):
    if not isinstance(path, str) or not path.startswith('/') or '\x00' in path or '\n' in path:
        return '%s must be an absolute path, got %r' % (what, str(path)[:80])
    return None


def _bad_regexp(what, pattern):
    try:
        re.compile(pattern)
    except (re.error, TypeError) as e:
        return '%s is not a regular expression (%s): %r' % (what, e, str(pattern)[:80])
    return None


def validation_error(params):
    """The first invalid value among the module's options, named, or None. Runs before anything
    is read on the host, so a hostile value never reaches dpkg-query, systemctl or re."""
    for want in params.get('files') or ():
        error = _bad_path('files[].path', want.get('path'))
        if error:
            return error
        if want.get('mode') is not None and not OCTAL.fullmatch(want['mode']):
            return 'files[].mode must be an octal string such as "0644", got %r for %s' % (want['mode'][:20], want['path'])
        if want.get('checksum') is not None and not SHA1.fullmatch(want['checksum']):
            return 'files[].checksum must be a SHA-1 in hex (40 characters) for %s' % want['path']
    for name in params.get('packages') or ():
        if not PACKAGE.fullmatch(name):
            return 'packages[] must be Debian package names, got %r' % name[:80]
    for user in params.get('users') or ():
        if not USER.fullmatch(user['name']):
            return 'users[].name must be a user name, got %r' % user['name'][:80]
    for unit in params.get('units') or ():
        if not UNIT.fullmatch(unit['name']):
            return 'units[].name must be a systemd unit name, got %r' % unit['name'][:80]
    for want in params.get('lines') or ():
        error = _bad_path('lines[].path', want.get('path')) or (
            _bad_regexp('lines[].regexp', want['regexp']) if want.get('regexp') is not None else None)
        if error:
            return error
    for want in params.get('no_other') or ():
        error = _bad_path('no_other[].pattern', want.get('pattern'))
        for path in want.get('keep') or ():
            error = error or _bad_path('no_other[].keep', path)
        if error:
            return error
    return None


def file_differences(want, seen):
    """What differs for one wanted file or directory. seen: None when the path does not exist,
    else a dict with type ('file', 'directory' or 'other'), mode (int), owner, group and, for a
    file whose checksum was asked, checksum."""
    path = want['path']
    state = want.get('state') or 'file'
    if state == 'absent':
        return [] if seen is None else ['%s: present' % path]
    if seen is None:
        return ['%s: missing' % path]
    if seen.get('type') != state:
        return ['%s: is not a %s' % (path, state)]
    out = []
    if want.get('checksum') and seen.get('checksum') != want['checksum']:
        out.append('%s: content differs' % path)
    if want.get('mode') and seen.get('mode') != int(str(want['mode']), 8):
        out.append('%s: mode differs' % path)
    for key in ('owner', 'group'):
        if want.get(key) and seen.get(key) != want[key]:
            out.append('%s: %s differs' % (path, key))
    return out


def user_differences(want, seen):
    """seen: the passwd entry as a dict (shell, home), or None when there is no such user."""
    if seen is None:
        return ['user %s: missing' % want['name']]
    return ['user %s: %s differs' % (want['name'], key) for key in ('shell', 'home')
            if want.get(key) and seen.get(key) != want[key]]


def unit_differences(want, seen):
    """seen: systemctl show's properties of the unit (LoadState, ActiveState, UnitFileState,
    NeedDaemonReload), or None when systemctl told nothing about it."""
    name = want['name']
    if not seen or seen.get('LoadState') != 'loaded':
        return ['unit %s: not loaded' % name]
    out = []
    if seen.get('NeedDaemonReload') != 'no':
        out.append('unit %s: systemd has not loaded its file' % name)
    if want.get('enabled') and seen.get('UnitFileState') != 'enabled':
        out.append('unit %s: not enabled' % name)
    if want.get('active') and seen.get('ActiveState') != 'active':
        out.append('unit %s: not active' % name)
    return out


def unit_actions(wanted, observed):
    """What the units' differences need, as fields a role acts on (never on the differences'
    text), in the order systemd needs them: reload its unit files (a unit not loaded, or whose
    file changed since), then enable, then start. wanted and observed as for differences()."""
    reload, enable, start = False, [], []
    for unit in wanted.get('units') or ():
        seen = (observed.get('units') or {}).get(unit['name']) or {}
        loaded = seen.get('LoadState') == 'loaded'
        if not loaded or seen.get('NeedDaemonReload') != 'no':
            reload = True
        if unit.get('enabled') and (not loaded or seen.get('UnitFileState') != 'enabled'):
            enable.append(unit['name'])
        if unit.get('active') and (not loaded or seen.get('ActiveState') != 'active'):
            start.append(unit['name'])
    return {'daemon_reload': reload, 'enable': enable, 'start': start}


def line_differences(want, seen):
    """want: path with either regexp and line (as lineinfile leaves it: the last line matching
    regexp is line) or text (as blockinfile leaves it: the text is in the file). seen: the file's
    lines, or None when it cannot be read."""
    path = want['path']
    if seen is None:
        return ['%s: missing' % path]
    if want.get('text') is not None:
        return [] if want['text'] in '\n'.join(seen) else ['%s: block differs' % path]
    matching = [line for line in seen if re.search(want['regexp'], line)]
    return [] if matching and matching[-1] == want['line'] else ['%s: line %r differs' % (path, want['regexp'])]


def extra_paths(want, seen):
    """want: pattern (a glob) and keep (the paths that may match it); seen: the paths matching."""
    keep = set(want.get('keep') or ())
    return ['%s: not wanted' % path for path in sorted(seen or ()) if path not in keep]


def kinds(differs):
    """Which kinds differ: 'units' for a unit's state, 'files' for anything else a role writes.
    A role whose files are in place and whose unit is only stopped just starts it."""
    out = set('units' if line.startswith('unit ') else 'files' for line in differs)
    return sorted(out)


def file_paths(wanted, observed):
    """The paths of the wanted files (and directories) that differ, in the wanted order: a role
    writes just these, not every file it declares (each write is a round trip)."""
    seen = observed.get('files') or {}
    return [want['path'] for want in wanted.get('files') or () if file_differences(want, seen.get(want['path']))]


def differences(wanted, observed):
    """Every difference, in a stable order, between what a role wants and what the host has.
    wanted: files, packages, users, lines, no_other, units (the module's options); observed: files
    (path -> seen), packages (the names dpkg reports installed), users (name -> seen), lines (path
    -> its lines), no_other (pattern -> the paths matching it), units (name -> seen)."""
    out = []
    installed = set(observed.get('packages') or ())
    out += ['package %s: not installed' % name for name in wanted.get('packages') or () if name not in installed]
    for user in wanted.get('users') or ():
        out += user_differences(user, (observed.get('users') or {}).get(user['name']))
    for want in wanted.get('files') or ():
        out += file_differences(want, (observed.get('files') or {}).get(want['path']))
    for want in wanted.get('lines') or ():
        out += line_differences(want, (observed.get('lines') or {}).get(want['path']))
    for want in wanted.get('no_other') or ():
        out += extra_paths(want, (observed.get('no_other') or {}).get(want['pattern']))
    for unit in wanted.get('units') or ():
        out += unit_differences(unit, (observed.get('units') or {}).get(unit['name']))
    return out
