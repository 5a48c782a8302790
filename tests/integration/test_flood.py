"""A smaller version of the `make chaos` bad-input flood: malformed frames of every kind at the
REP and PULL ports, then the gateway still answers fast and its memory stayed bounded."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "chaos"))
import flood  # noqa: E402


def test_flood_of_malformed_frames_answers_each_and_3mib_frames_disconnect_their_peer_unanswered():
    ok, result = flood.main(frames=10000, huge=5)
    assert result["alive"] and result["replies"] == result["frames_rep"] and result["huge_replies"] == 0, result
    assert result["ping_p99_ms_after"] < 10, result
    assert result["rss_kb_after"] - result["rss_kb_before"] < 100 * 1024, result
    assert result["rejected"] >= 10000 and result["pull_dropped"] >= 5000, result
    assert ok
