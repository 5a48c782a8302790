# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether establish must wait for a gateway's service (its broker's ping, its nexus's health).
A wait is for a service that was (re)started or found down; one that passed the verify before
establish, on a host whose state check found nothing to change, was not restarted since, and the
verify after checks it anyway. Anything unknown means waiting."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean


def wait_needed(passed_before, gateway, check, converged, curve=False):
    """passed_before: the checks that passed in the verify before (mappings with gateway, kind);
    gateway: its name; check: the check's kind (zmq_ping, nexus_health); converged: the host's
    state check found nothing to change (a role's result); curve: CURVE on (its tasks always run)."""
    if boolean(curve, strict=False) or not boolean(converged, strict=False):
        return True
    for c in passed_before or ():
        if isinstance(c, dict) and c.get('gateway') == gateway and c.get('kind') == check:
            return False
    return True


class FilterModule(object):
    def filters(self):
        return {'wait_needed': wait_needed}
