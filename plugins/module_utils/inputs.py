# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of inventory values, shared by every module and by the check catalog.

Each function returns None when the value is fine, else a sentence naming the option, the value
and what is expected. Values are checked before any socket, subprocess or DNS lookup, so a
hostile value (``-f`` as a ping target, ``nan`` as a timeout, a shell string as a host) becomes
a clear error instead of a traceback, an option injection or a lookup of a name that is not one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible.module_utils.six import string_types
from ansible.module_utils.six.moves.urllib.parse import urlsplit

# Host names, IPv4, IPv6 (optionally bracketed, with a %zone): no spaces, quotes or shell syntax.
_HOST = re.compile(r'\[?[A-Za-z0-9_.:%-]+\]?')
_VERSION = re.compile(r'[0-9]{1,3}(\.[0-9]{1,3}){0,2}')
_MODULE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*')
MAX_SECONDS = 86400.0


def _shown(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def bad_host(name, value):
    if not isinstance(value, string_types) or not value:
        return '%s must be a host name or address, got %s' % (name, _shown(value))
    if len(value) > 253 or value.startswith('-') or not _HOST.fullmatch(value):
        return '%s must be a host name or address (letters, digits, ".", "-", ":"; not starting with "-"), got %s' % (
            name, _shown(value))
    return None


_GATEWAY_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_-]{0,62}')


def bad_gateway_name(name, value):
    """A gateway's name as nexus writes it in its rows (mt5mesh.nexus.schema_config.GATEWAY_NAME)."""
    if not isinstance(value, string_types) or not _GATEWAY_NAME.fullmatch(value):
        return '%s must be a gateway name (letters, digits, "_" and "-", up to 63), got %s' % (name, _shown(value))
    return None


def bad_port(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return '%s must be 1-65535, got %s' % (name, _shown(value))
    return None


def bad_seconds(name, value, minimum=0.0, maximum=MAX_SECONDS, allow_zero=False):
    """A finite duration: nan and inf pass a `> 0` test and then break every clock sum."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return '%s must be a finite number of seconds, got %s' % (name, _shown(value))
    if value < minimum or (value == 0 and not allow_zero) or value > maximum:
        if minimum or allow_zero:
            return '%s must be between %s and %s seconds, got %s' % (name, minimum, maximum, _shown(value))
        return '%s must be > 0 and at most %s seconds, got %s' % (name, maximum, _shown(value))
    return None


def bad_int(name, value, minimum, maximum):
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        return '%s must be an integer %d-%d, got %s' % (name, minimum, maximum, _shown(value))
    return None


def bad_url(name, value):
    if not isinstance(value, string_types) or not value:
        return '%s must be an http(s) URL, got %s' % (name, _shown(value))
    try:
        parts = urlsplit(value)
        scheme, host = parts.scheme, parts.hostname
        dummy = parts.port  # raises ValueError on a port that is not one
    except ValueError:
        scheme, host = None, None
    if scheme not in ('http', 'https') or host is None or bad_host(name, host) or any(c.isspace() for c in value):
        return '%s must be an http(s) URL with a valid host, got %s' % (name, _shown(value))
    return None


def bad_path(name, value):
    if not isinstance(value, string_types) or not value or '\x00' in value:
        return '%s must be a file system path, got %s' % (name, _shown(value))
    return None


def bad_version(name, value):
    if not isinstance(value, string_types) or not _VERSION.fullmatch(value):
        return '%s must be a version like 3.9, got %s' % (name, _shown(value))
    return None


def bad_module_name(name, value):
    if not isinstance(value, string_types) or not _MODULE.fullmatch(value):
        return '%s must be a Python module name, got %s' % (name, _shown(value))
    return None


def bad_module_list(name, value):
    """A non-empty list of Python module names; names every bad one."""
    if not isinstance(value, list) or not value:
        return '%s must be a non-empty list' % name
    errors = [e for e in (bad_module_name(name + '[]', m) for m in value) if e]
    return '; '.join(errors) or None


def first_error(*errors):
    for error in errors:
        if error:
            return error
    return None
