"""The one bounded JSON read of every REST probe (nexus /healthz, Patroni, etcd), against a
hostile HTTP server on loopback: whatever it answers, a probe fails naming why and never raises,
and no more than MAX_BODY bytes are read."""
import http.server
import threading

import pytest

from ansible_collections.mt5crs.mesh.plugins.module_utils import http_json
from ansible_collections.mt5crs.mesh.plugins.module_utils.ha_probes import etcd_quorum
from ansible_collections.mt5crs.mesh.plugins.module_utils.probes import nexus_health


class Hostile(http.server.BaseHTTPRequestHandler):
    answers = {}  # path -> (status, body bytes)

    def do_GET(self):  # noqa: N802 - the handler's name is http.server's
        status, body = self.answers[self.path]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(name="server")
def fixture_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def serve(path, status, body):
    Hostile.answers[path] = (status, body)
    return path


def test_get_json_refuses_an_answer_one_byte_over_max_body_and_takes_one_at_max_body(server):
    at_max = b'"' + b"x" * (http_json.MAX_BODY - 2) + b'"'
    assert len(http_json.get_json(server + serve("/max", 200, at_max), 5)) == http_json.MAX_BODY - 2
    with pytest.raises(ValueError, match="over 1048576 bytes"):
        http_json.get_json(server + serve("/over", 200, at_max + b" "), 5)


def test_get_json_reads_the_json_body_of_an_error_status_and_raises_http_error_without_one(server):
    assert http_json.get_json(server + serve("/503", 503, b'{"state": "degraded"}'), 5) == {"state": "degraded"}
    with pytest.raises(http_json.HTTPError):
        http_json.get_json(server + serve("/500", 500, b"<html>"), 5)


@pytest.mark.parametrize("body, why", [
    (b"[1, 2]", "not a JSON object"),
    (b'{"state": "healthy", "lag_s": "0.1"}', "nexus lag 0.1 s over 1.0 s"),
    (b'{"state": "healthy", "lag_s": true}', "nexus lag True s over 1.0 s"),
    (b'{"state": "degraded", "problems": "not a list"}', "nexus degraded: "),
    (b'{"state": "healthy", "lag_s": 0.1' + b" " * http_json.MAX_BODY + b"}", "over 1048576 bytes"),
    (b"\xff\xfe", "invalid start byte"),
])
def test_nexus_health_fails_naming_why_and_never_raises_on_a_hostile_answer(server, body, why):
    out = nexus_health(server + serve("/h", 200, body))
    assert not out["ok"] and why in out["detail"]


def test_etcd_quorum_names_a_member_whose_answer_is_over_max_body_unreadable(server):
    big = serve("/big", 200, b'{"health": "true"' + b" " * http_json.MAX_BODY + b"}")
    one, two = (serve(p, 200, b'{"health": "true"}') for p in ("/one", "/two"))
    out = etcd_quorum([server + one, server + big, server + two])
    assert out["ok"] and "over 1048576 bytes" in str(out["members"][server + big])
