"""gateways.py on plain data: one check per gateway, the seed's ids and names kept with one
gateway, the host in them with several, each gateway scored on its own, and every error named."""
from ansible_collections.mt5crs.mesh.plugins.module_utils import catalog, gateways

REQ = {"id": "app.gtw_req", "phase": 3, "name": "GTW ZMQ REQ (5555)", "kind": "zmq_ping",
       "per_gateway": {"host": "address"}, "args": {"port": 5555, "timeout": 1.0}}
NEXUS = {"id": "ext.nexus", "phase": 5, "name": "Nexus healthy", "kind": "nexus_health", "extended": True,
         "per_gateway": {"url": "nexus_health_url"}, "args": {"max_lag": 1.0}}
PLAIN = {"id": "net.hub", "phase": 2, "name": "ICMP to HUB", "kind": "icmp", "args": {"host": "10.0.0.13"}}
GTW = {"name": "gtw", "address": "10.0.0.12", "nexus_health_url": "http://127.0.0.1:9110/healthz"}
GTW2 = {"name": "gtw2", "address": "10.0.0.14", "nexus_health_url": "http://127.0.0.1:9111/healthz"}


def test_one_gateway_keeps_the_seed_id_and_name_and_fills_the_target():
    checks, errors = gateways.expand([PLAIN, REQ], [GTW])
    assert errors == []
    assert checks[0] is PLAIN
    assert checks[1] == {"id": "app.gtw_req", "phase": 3, "name": "GTW ZMQ REQ (5555)", "kind": "zmq_ping",
                         "args": {"port": 5555, "timeout": 1.0, "host": "10.0.0.12"}, "gateway": "gtw"}


def test_two_gateways_give_two_checks_each_named_with_its_host_in_gateway_order():
    checks, errors = gateways.expand([REQ, NEXUS], [GTW, GTW2])
    assert errors == []
    assert [(c["id"], c["name"], c["gateway"]) for c in checks] == [
        ("app.gtw_req.gtw", "GTW ZMQ REQ (5555) gtw", "gtw"), ("app.gtw_req.gtw2", "GTW ZMQ REQ (5555) gtw2", "gtw2"),
        ("ext.nexus.gtw", "Nexus healthy gtw", "gtw"), ("ext.nexus.gtw2", "Nexus healthy gtw2", "gtw2")]
    assert [c["args"]["host"] for c in checks[:2]] == ["10.0.0.12", "10.0.0.14"]
    assert checks[3]["args"] == {"max_lag": 1.0, "url": "http://127.0.0.1:9111/healthz"}
    assert all("per_gateway" not in c for c in checks)
    assert REQ["args"] == {"port": 5555, "timeout": 1.0}, "the catalog entry itself must not change"
    assert catalog.validate(checks, {}) == []


def test_a_name_shows_the_gateway_field_it_names():
    icmp = {"id": "net.gtw", "phase": 2, "name": "ICMP to GTW ({address})", "kind": "icmp",
            "per_gateway": {"host": "address"}, "args": {}}
    assert [c["name"] for c in gateways.expand([icmp], [GTW])[0]] == ["ICMP to GTW (10.0.0.12)"]
    assert [c["name"] for c in gateways.expand([icmp], [GTW, GTW2])[0]] == [
        "ICMP to GTW (10.0.0.12) gtw", "ICMP to GTW (10.0.0.14) gtw2"]


def test_gateway_errors_name_the_gateway_and_the_cause():
    assert gateways.expand([REQ], [GTW, dict(GTW)])[1] == ["gateway gtw is listed twice"]
    assert gateways.expand([REQ], [{"name": "gtw.lab"}])[1] == [
        'gateways[0].name must be a gateway name (letters, digits, "_" and "-", up to 63), got \'gtw.lab\'']
    assert gateways.expand([REQ], ["gtw"])[1] == ["gateway 0 is not a mapping"]
    assert gateways.expand([NEXUS], [{"name": "gtw"}]) == ([], ["check ext.nexus: gateway gtw has no nexus_health_url"])
    assert gateways.expand([REQ], []) == ([], ["check app.gtw_req: per_gateway, but the inventory has no gateway "
                                               "(group gtw is empty)"])
    assert gateways.expand([dict(REQ, per_gateway=["host"])], [GTW]) == (
        [], ["check app.gtw_req: per_gateway must map probe arguments to gateway fields"])


def test_each_gateway_is_scored_apart_so_a_stopped_one_shows_its_failing_checks():
    checks = gateways.expand([REQ, NEXUS, PLAIN], [GTW, GTW2])[0]
    results = [dict(id=c["id"], phase=c["phase"], phase_name="p", name=c["name"], kind=c["kind"],
                    ok=not c["id"].endswith("gtw2") or c["kind"] != "zmq_ping", detail="", critical=False,
                    extended=bool(c.get("extended")), gateway=c.get("gateway")) for c in checks]
    scored = catalog.score(results)
    assert scored["gateways"] == [
        {"name": "gtw", "total": 2, "passed": 2, "failing": [], "ok": True},
        {"name": "gtw2", "total": 2, "passed": 1, "failing": ["GTW ZMQ REQ (5555) gtw2"], "ok": False}]
    assert [f["id"] for f in scored["failures"]] == ["app.gtw_req.gtw2"]


def test_the_summary_table_shows_each_gateway_only_when_there_are_several():
    from ansible_collections.mt5crs.mesh.plugins.module_utils import report
    base = {"phases": [], "passed": 20, "total": 20, "percent": 100.0, "rc": 0, "status": "FULL MESH"}
    one = dict(base, gateways=[{"name": "gtw", "total": 7, "passed": 7, "failing": [], "ok": True}])
    assert "Gateway" not in report.phase_table(one)
    two = dict(base, gateways=[{"name": "gtw", "total": 7, "passed": 7, "failing": [], "ok": True},
                               {"name": "gtw2", "total": 7, "passed": 5, "ok": False,
                                "failing": ["GTW ZMQ REQ (5555) gtw2", "GTW ZMQ SUB (5556) gtw2"]}])
    assert report.phase_table(two).splitlines()[-2:] == [
        "  Gateway gtw:                      7/7  ok",
        "  Gateway gtw2:                     5/7  FAILING GTW ZMQ REQ (5555) gtw2, GTW ZMQ SUB (5556) gtw2"]
    assert '"gateways"' in report.to_json(two)


def test_catalog_validates_a_gateway_argument_by_name():
    fresh = {"id": "x", "phase": 5, "name": "bar", "kind": "hub_bar_fresh",
             "args": {"gateway": "gtw.lab", "pg": {"host": "h", "db": "d", "user": "u"}}}
    assert catalog.validate([fresh], {}) == [
        'check x: gateway must be a gateway name (letters, digits, "_" and "-", up to 63), got \'gtw.lab\'']
    assert catalog.validate([dict(fresh, args=dict(fresh["args"], gateway="gtw2"))], {}) == []


def test_by_gateway_skips_checks_of_no_gateway_and_keeps_first_seen_order():
    rows = [{"gateway": "b", "ok": True, "name": "1"}, {"gateway": None, "ok": False, "name": "2"},
            {"gateway": "a", "ok": False, "name": "3"}, {"gateway": "b", "ok": False, "name": "4"}]
    assert gateways.by_gateway(rows) == [{"name": "b", "total": 2, "passed": 1, "failing": ["4"], "ok": False},
                                         {"name": "a", "total": 1, "passed": 0, "failing": ["3"], "ok": False}]
    assert gateways.by_gateway([]) == []


def test_a_check_without_per_gateway_or_not_a_mapping_passes_through_unchanged():
    odd = ["not a check", None]
    assert gateways.expand(odd + [PLAIN], [GTW]) == (odd + [PLAIN], [])
    assert gateways.expand([PLAIN], []) == ([PLAIN], [])


def test_every_bad_gateway_and_every_bad_check_is_reported_not_only_the_first():
    assert gateways.gateway_errors(["gtw", {"name": "a.b"}]) == [
        "gateway 0 is not a mapping",
        'gateways[1].name must be a gateway name (letters, digits, "_" and "-", up to 63), got \'a.b\'']
    no_id = {"per_gateway": {"host": "address", "url": "nexus_health_url", "x": "trading"}}
    assert gateways.expand([no_id, dict(REQ, per_gateway="host"), REQ], [{"name": "gtw"}])[1] == [
        "check ?: gateway gtw has no address, nexus_health_url, trading",
        "check app.gtw_req: per_gateway must map probe arguments to gateway fields",
        "check app.gtw_req: gateway gtw has no address"]
    assert gateways.expand([no_id, REQ], [])[1] == [
        "check ?: per_gateway, but the inventory has no gateway (group gtw is empty)",
        "check app.gtw_req: per_gateway, but the inventory has no gateway (group gtw is empty)"]
    checks, errors = gateways.expand([REQ], [{"name": "gtw"}, GTW2])
    assert errors == ["check app.gtw_req: gateway gtw has no address"]
    assert [c["gateway"] for c in checks] == ["gtw2"]
