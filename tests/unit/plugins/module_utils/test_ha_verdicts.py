"""The INF pair's verdicts (docs/ha.md) on plain data: what Patroni's /cluster and etcd's /health
answers mean for an operator."""
from ansible_collections.mt5crs.mesh.plugins.module_utils import catalog
from ansible_collections.mt5crs.mesh.plugins.module_utils.ha_probes import etcd_verdict, patroni_verdict

PAIR = ["inf.lab", "inf2.lab"]


def member(name, role, state="running", lag=None):
    m = {"name": name, "role": role, "state": state}
    if lag is not None:
        m["lag"] = lag
    return m


def test_one_leader_and_a_streaming_replica_within_the_bound_pass_naming_both():
    ok, detail = patroni_verdict({"members": [member("inf.lab", "leader"), member("inf2.lab", "sync_standby", lag=0)]},
                                 PAIR, 1024)
    assert ok and detail == "leader inf.lab; inf2.lab sync_standby, lag 0"


def test_a_dead_member_fails_naming_the_host():
    ok, detail = patroni_verdict({"members": [member("inf2.lab", "leader")]}, PAIR, 1024)
    assert not ok and detail == "inf.lab is not in the cluster (its Patroni does not answer: host down?)"


def test_no_leader_or_two_leaders_fail_saying_how_many():
    ok, detail = patroni_verdict({"members": [member("inf.lab", "replica", lag=0), member("inf2.lab", "replica", lag=0)]},
                                 PAIR, 1024)
    assert not ok and detail == "0 leaders (none), want exactly one"
    ok, detail = patroni_verdict({"members": [member("inf.lab", "leader"), member("inf2.lab", "leader")]}, PAIR, 1024)
    assert not ok and detail == "2 leaders (inf.lab, inf2.lab), want exactly one"


def test_a_replica_that_does_not_replicate_or_lags_past_the_bound_fails_with_its_lag():
    ok, detail = patroni_verdict({"members": [member("inf.lab", "leader"), member("inf2.lab", "replica", lag="unknown")]},
                                 PAIR, 1024)
    assert not ok and detail == "inf2.lab does not replicate (lag unknown)"
    ok, detail = patroni_verdict({"members": [member("inf.lab", "leader"), member("inf2.lab", "replica", lag=1025)]},
                                 PAIR, 1024)
    assert not ok and detail == "inf2.lab lags 1025 bytes (max 1024)"
    ok, _detail = patroni_verdict({"members": [member("inf.lab", "leader"), member("inf2.lab", "replica", lag=1024)]},
                                  PAIR, 1024)
    assert ok


def test_a_member_that_is_not_serving_fails_with_its_state():
    ok, detail = patroni_verdict({"members": [member("inf.lab", "leader"), member("inf2.lab", "replica", "starting", 0)]},
                                 PAIR, 1024)
    assert not ok and detail == "inf2.lab is starting"


def test_hostile_cluster_answers_fail_without_raising():
    for body in (None, [], {"members": "x"}, {"members": [1, "a", None]}, {}):
        ok, detail = patroni_verdict(body, PAIR, 1024)
        assert not ok and detail
    ok, _detail = patroni_verdict({"members": [member("inf.lab", "leader"), member("inf2.lab", "replica", lag=True)]},
                                  PAIR, 1024)
    assert not ok


def test_etcd_quorum_needs_a_majority_and_names_the_unhealthy_members():
    assert etcd_verdict({"a": True, "b": True, "c": True}) == (True, "quorum, all 3 members healthy")
    assert etcd_verdict({"a": True, "b": True, "c": "refused"}) == (True, "quorum (2 of 3); unhealthy: c (refused)")
    assert etcd_verdict({"a": True, "b": "refused", "c": "health false"}) == (
        False, "no quorum: 1 of 3 members healthy, 2 needed; b (refused); c (health false)")


def test_the_pair_checks_validate_their_urls_and_members():
    ok = {"id": "ha.patroni", "phase": 5, "name": "p", "kind": "patroni_cluster",
          "args": {"urls": ["http://10.0.0.1:8008/cluster"], "members": ["inf.lab"], "max_lag_bytes": 1024}}
    assert catalog.validate([ok], {}) == []
    bad = dict(ok, args={"urls": ["ftp://x"], "members": [], "max_lag_bytes": -1})
    assert catalog.validate([bad], {}) == [
        "check ha.patroni: urls[0] must be an http(s) URL with a valid host, got 'ftp://x'",
        "check ha.patroni: members must be a list of 1-16 items",
        "check ha.patroni: max_lag_bytes must be an integer 0-1099511627776, got -1"]


def test_a_pair_check_list_holds_1_to_16_items_and_names_the_first_bad_one():
    def errors(**args):
        check = {"id": "ha.etcd", "phase": 5, "name": "e", "kind": "etcd_quorum", "args": args}
        return catalog.validate([check], {})
    assert errors(urls=["http://h%d:2379/health" % i for i in range(16)]) == []
    assert errors(urls=["http://h%d:2379/health" % i for i in range(17)]) == [
        "check ha.etcd: urls must be a list of 1-16 items"]
    assert errors(urls="http://h:2379/health") == ["check ha.etcd: urls must be a list of 1-16 items"]
    assert errors(urls=["http://a:2379/health", "nope", "worse"]) == [
        "check ha.etcd: urls[1] must be an http(s) URL with a valid host, got 'nope'"]
