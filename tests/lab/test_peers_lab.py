"""The quick hostile-peer stage (tests/chaos/peers.py --quick) on the lab: under fuzz, nesting,
replay pipelining, slow and huge subscribers and a connection flood, the gateway and nexus keep
running, heartbeats keep cadence, nexus keeps committing and INF's ping is answered."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "chaos"))
import peers  # noqa: E402


def test_lab_mesh_keeps_serving_with_no_restart_under_hostile_peers(mesh):
    ok, result = peers.main(quick=True)
    assert ok, result
    assert result["restarts_before"] == result["restarts_after"]
    assert result["heartbeat_max_gap_s"] < 2.0 and result["inf_pings_answered"] == result["inf_pings"]
