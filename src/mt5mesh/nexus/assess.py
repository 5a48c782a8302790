"""Is nexus healthy? A pure decision on the snapshots its threads publish (no I/O, no clock of
its own), so every rule is unit-tested on plain dicts."""


def lag_of(follow, write, wall):
    """Publish-to-commit lag: the last commit's, or how old the newest commit is while behind."""
    committed, delay = write["committed"], write["commit_delay"]
    if committed is None:
        return None
    caught_up = follow["behind"] == 0 and follow["batch_empty"] and write["queue_empty"]
    if caught_up or delay is None:
        return delay
    return max(delay, wall - committed[2])


def assess(cfg, follow, write, hub, now, wall):
    """(HTTP code, /healthz body). follow/write/hub: the threads' snapshots; now: monotonic;
    wall: time.time()."""
    lag = lag_of(follow, write, wall)
    problems = []
    if follow["state"] != "running":
        problems.append(follow["state"])
    stores = {"postgres": write["postgres"], "redis": write["redis"]}
    if hub is not None:
        stores["hub"] = hub["hub"]
    problems += ["%s down" % s for s, state in sorted(stores.items()) if state == "down"]
    if write["spool_full"]:
        problems.append("spool full: consumption paused")
    silent = now - follow["last_event_at"]
    if silent > cfg["heartbeat_timeout"]:
        problems.append("no gateway event for %.1fs" % silent)
    if follow["circuit"] == "open":
        problems.append("gateway circuit open")
    if write["committed"] is None and follow["head"] > 0:
        problems.append("catching up: nothing committed yet, gateway at seq %d" % follow["head"])
    if lag is not None and lag > cfg["max_lag"]:
        problems.append("lag %.3fs over %.3fs" % (lag, cfg["max_lag"]))
    gap_at = follow["last_unrecoverable_at"]
    if gap_at is not None and now - gap_at < cfg["gap_alarm_s"]:
        problems.append("unrecoverable gap: %(from_seq)d-%(to_seq)d in epoch %(epoch)d" % follow["unrecoverable"][-1])
    counts = follow["counts"]
    body = {
        "state": "healthy" if not problems else "degraded",
        "problems": problems,
        "lag_s": None if lag is None else round(lag, 4),
        "epoch": follow["epoch"],
        "last_seq": write["committed"][1] if write["committed"] else None,
        "next_seq": follow["next_seq"],
        "gateway_seq": follow["head"] if follow["epoch"] is not None else None,
        "behind": follow["behind"] if follow["epoch"] is not None else None,
        "unrecoverable": list(follow["unrecoverable"]),
        "quarantined": write["quarantined"],
        "spool_depth": write["spool_depth"],
        "spool_full": write["spool_full"],
        "stores": stores,
        "circuit": follow["circuit"],
        "received": {"tick": counts.get("tick", 0), "hb": counts.get("hb", 0)},
    }
    for key in ("gaps_filled", "gaps_unrecoverable", "ticks_unrecoverable", "replayed", "refilled", "epoch_changes",
                "duplicates", "malformed"):
        body[key] = counts.get(key, 0)
    return (200 if not problems else 503), body
