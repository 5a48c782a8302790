"""The deal audit (issue: trading through the mesh), shared by the loopback and lab tests.

``query(sql)`` returns rows as tuples. ``replies`` are the order_send/order_close/close_all
replies a client got. Every reply with retcode 10009 must have exactly one row in ``deals``, no
deal may lack its order, and (epoch, seq) over ticks and orders must be the whole stream."""


def deal_tickets(replies):
    out = []
    for r in replies:
        if r.get("retcode") == 10009 and r.get("deal"):
            out.append(r["deal"])
        for c in r.get("closed") or []:
            out.append(c["deal"])
    return out


def audit(query, replies, gateway="gtw"):
    """Problems in ``gateway``'s rows (the stores may hold other gateways' too)."""
    problems = []
    for ticket in deal_tickets(replies):
        n = query("SELECT count(*) FROM deals WHERE ticket = %d AND gateway = '%s'" % (int(ticket), gateway))[0][0]
        if int(n) != 1:
            problems.append("deal %d: %s rows in deals (want exactly 1)" % (ticket, n))
    orphans = query("SELECT count(*) FROM deals d WHERE d.gateway = '%s' AND NOT EXISTS (SELECT 1 FROM orders o "
                    "WHERE o.gateway = d.gateway AND o.order_ticket = d.order_ticket AND o.kind = 'fill')" % gateway)[0][0]
    if int(orphans):
        problems.append("%s deal rows lack their order" % orphans)
    for epoch, count, lo, hi in query("SELECT epoch, count(*), min(seq), max(seq) FROM (SELECT epoch, seq FROM ticks "
                                      "WHERE gateway = '%s' UNION ALL SELECT epoch, seq FROM orders WHERE gateway = '%s') s "
                                      "GROUP BY epoch" % (gateway, gateway)):
        if int(count) != int(hi) - int(lo) + 1:
            problems.append("epoch %s: %s events for seq %s..%s" % (epoch, count, lo, hi))
    return problems
