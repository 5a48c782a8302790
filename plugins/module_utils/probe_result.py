# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one shape every probe returns: {'ok': bool, 'detail': str, ...extra}."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def fail(detail, **extra):
    extra.update(ok=False, detail=detail)
    return extra


def ok(detail, **extra):
    extra.update(ok=True, detail=detail)
    return extra
