# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One bounded read of a JSON answer over HTTP, for every probe of a REST endpoint (nexus
/healthz, Patroni, etcd): a peer's bytes are hostile, so at most MAX_BODY bytes are read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.urls import open_url

MAX_BODY = 1 << 20


def get_json(url, timeout):
    """The decoded answer of ``url``. An error status with a JSON body is an answer too (nexus,
    Patroni and etcd answer 503 with a body that says why). Raises URLError, OSError or
    ValueError (not JSON, or cut off at MAX_BODY) when there is no answer to read, and HTTPError
    when an error status has no JSON body."""
    try:
        resp = open_url(url, timeout=timeout)
    except HTTPError as e:
        body = e.read(MAX_BODY + 1)
        try:
            return _decode(body)
        except ValueError:
            raise e
    return _decode(resp.read(MAX_BODY + 1))


def _decode(body):
    if len(body) > MAX_BODY:
        raise ValueError('answer over %d bytes' % MAX_BODY)
    return json.loads(body.decode('utf-8'))
