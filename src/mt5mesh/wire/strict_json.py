# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How deep a JSON frame nests, measured before it is decoded (protocol.py refuses deeper ones).

Python's json decoder recurses once per level, so a peer's ``[[[[...`` would reach the
recursion limit; this check costs a few C-level passes over the bytes instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Deeper JSON is refused before decoding: the decoder recurses once per level.
MAX_DEPTH = 32

_STRING_RE = re.compile(b'"[^"]*"')
_NOT_STRUCTURE = bytes(bytearray(b for b in range(256) if b not in b'"[]{}'))


def nesting_too_deep(data, limit=MAX_DEPTH):
    """True when JSON bytes nest deeper than ``limit`` or have unbalanced brackets.

    Escapes go first (so no quote is escaped), then everything but quotes and brackets, then
    the strings (brackets inside them do not nest); matched pairs are then removed one level
    per pass. Every step is a C loop, so a 1 MiB frame costs a few milliseconds."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    rest = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    rest = _STRING_RE.sub(b"", rest)
    for _level in range(limit):
        if not rest:
            return False
        shorter = rest.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(rest):
            return True  # unbalanced: not JSON anyway
        rest = shorter
    return bool(rest)
