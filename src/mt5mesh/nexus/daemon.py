"""The nexus sync daemon, wired: gateway PUB -> sequenced, gap-free stream -> local XPUB proxy,
INF PostgreSQL + Redis, HUB feature store.

One owner per piece of state, as in the zguide Clone client and Patroni's small daemon shell:
  * the main thread runs the Follower (sockets, sequence, open batch, gateway client);
  * the stores process (storeproc) runs the Writer (INF PostgreSQL, Redis, spool), fed by its
    bounded queue, and the HubWorker (HUB feature store), each in its own thread there, so that
    re-publishing a tick to strategies never waits behind a store write for the GIL;
  * the health thread only reads the snapshots the others publish and decides with
    ``assess()``, a pure function.
Everything at or above ``next_seq`` can be recovered from the gateway's replay ring, so the
follower never has to hold data it cannot write: it just does not advance.
"""
import logging
import time

from mt5mesh.nexus import health
from mt5mesh.nexus.assess import assess
from mt5mesh.nexus.follower import Follower
from mt5mesh.nexus.logutil import redact
from mt5mesh.nexus.storeproc import StoresProcess
from mt5mesh.nexus.pg import pg_where
from mt5mesh.service import ServiceError

log = logging.getLogger("mt5mesh-nexus")


class Nexus:
    def __init__(self, cfg, stop):
        self.cfg, self.stop = cfg, stop
        self.metrics = health.Metrics()
        self.stores = StoresProcess(cfg, self.metrics, stop)
        self.follower = Follower(cfg, self.metrics, stop, self.stores)

    def health(self):
        return assess(self.cfg, self.follower.status(), self.stores.status(), self.stores.hub_status(),
                      time.monotonic(), time.time())

    def run(self):
        health.serve(self.cfg["health_listen"], self.health, self.metrics, log)
        self.follower.open()
        log.info("nexus: gateway REQ %s SUB %s, XPUB %s, %s, redis %s, hub %s, health http://%s",
                 self.cfg["gateway_req"], self.cfg["gateway_sub"], self.cfg["xpub"], pg_where(self.cfg, "pg_"),
                 redact(self.cfg["redis_url"]), pg_where(self.cfg, "hub_pg_") if self.cfg["hub_pg_host"] else "off",
                 self.cfg["health_listen"])
        self.stores.start()
        checkpoint = self.stores.wait_for_store()
        try:
            if checkpoint is not None:
                self.follower.follow(checkpoint)
        finally:
            self.stores.finish()
            self.follower.close()
            committed = self.stores.status()["committed"]
            log.info("stopped at %s", committed and "epoch %d seq %d" % tuple(committed[:2]))
        if self.stores.failure:
            # A non-zero exit, so systemd (Restart=on-failure) starts nexus again.
            raise ServiceError(self.stores.failure)
