# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Error text shared by the probes and the services (one helper, not one per package)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def first_line(e):
    """The first line of an exception's text, or its type name when it has none."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
