"""The nexus sync daemon, wired: gateway PUB -> sequenced, gap-free stream -> local XPUB proxy,
INF PostgreSQL + Redis, HUB feature store.

One owner per piece of state, as in the zguide Clone client and Patroni's small daemon shell:
  * the main thread runs the Follower (sockets, sequence, open batch, gateway client);
  * the writer thread runs the Writer (INF PostgreSQL, Redis, spool), fed by its queue;
  * the hub thread runs the HubWorker (HUB feature store);
  * the health thread only reads the snapshots the others publish and decides with
    ``assess()``, a pure function.
Everything at or above ``next_seq`` can be recovered from the gateway's replay ring, so the
follower never has to hold data it cannot write: it just does not advance.
"""
import logging
import threading
import time

from mt5mesh.nexus import health
from mt5mesh.nexus.assess import assess
from mt5mesh.nexus.follower import Follower
from mt5mesh.nexus.hubworker import HubWorker
from mt5mesh.nexus.logutil import redact
from mt5mesh.nexus.stores import pg_where
from mt5mesh.nexus.writer import Writer

log = logging.getLogger("mt5mesh-nexus")


class Nexus:
    def __init__(self, cfg, stop):
        self.cfg, self.stop = cfg, stop
        self.metrics = health.Metrics()
        self.writer = Writer(cfg, self.metrics, stop)
        self.follower = Follower(cfg, self.metrics, stop, self.writer)
        self.hub = HubWorker(cfg, self.metrics, stop) if cfg["hub_pg_host"] else None

    def health(self):
        return assess(self.cfg, self.follower.status(), self.writer.status(),
                      self.hub.status() if self.hub else None, time.monotonic(), time.time())

    def run(self):
        health.serve(self.cfg["health_listen"], self.health, self.metrics, log)
        self.follower.open()
        log.info("nexus: gateway REQ %s SUB %s, XPUB %s, %s, redis %s, hub %s, health http://%s",
                 self.cfg["gateway_req"], self.cfg["gateway_sub"], self.cfg["xpub"], pg_where(self.cfg, "pg_"),
                 redact(self.cfg["redis_url"]), pg_where(self.cfg, "hub_pg_") if self.hub else "off",
                 self.cfg["health_listen"])
        checkpoint = self.writer.wait_for_store()
        if checkpoint is None and self.stop.is_set():
            self.follower.close()
            return
        writer = threading.Thread(target=self.writer.run, name="writer", daemon=True)
        writer.start()
        if self.hub is not None:
            threading.Thread(target=self.hub.run, name="hub", daemon=True).start()
        try:
            self.follower.follow(checkpoint)
        finally:
            self.writer.queue.put(None)
            writer.join(timeout=30)
            self.follower.close()
            committed = self.writer.status()["committed"]
            log.info("stopped at %s", committed and "epoch %d seq %d" % committed[:2])
