"""The hub thread (in the stores process): the only owner of the HUB feature store connection;
it builds 1-second bars from INF ticks past HUB's own checkpoint and publishes its state as a
snapshot."""
import logging

import psycopg2
import redis

from mt5mesh.nexus.logutil import first_line
from mt5mesh.nexus.stores import HubFeeder

log = logging.getLogger("mt5mesh-nexus")

INITIAL_STATUS = {"hub": "unknown", "skipped": 0}


class HubWorker:
    def __init__(self, cfg, metrics, stop):
        self.metrics, self.stop = metrics, stop
        self._feeder = HubFeeder(cfg)
        self._state = "unknown"
        self._snapshot = dict(INITIAL_STATUS)

    def status(self):
        return self._snapshot

    def _set(self, state):
        self._state = state
        self._snapshot = {"hub": state, "skipped": self._feeder.skipped}

    def run(self):
        while not self.stop.is_set():
            try:
                moved = self._feeder.step()
                if self._state != "up":
                    log.info("hub feature store up")
                self._set("up")
                self.metrics.store_up.labels("hub").set(1)
                if moved < 50000:
                    self.stop.wait(0.2)
            except (psycopg2.Error, redis.RedisError) as e:
                if self._state != "down":
                    log.error("hub feature store down: %s", first_line(e))
                self._set("down")
                self.metrics.store_up.labels("hub").set(0)
                self._feeder.drop()
                self.stop.wait(1.0)
