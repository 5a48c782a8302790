"""A bounded on-disk journal of batches that could not be written to PostgreSQL.

One file per batch, written to a temporary name, fsynced, renamed, and the directory fsynced,
so a crash (or a SIGKILL) leaves either the whole batch or nothing, and the rename survives a
power cut. Files sort in stream order by name (epoch, then seq). Depth and bytes are counters
kept by the one thread that owns the spool, not a directory listing per read.
"""
import json
import os

from mt5mesh.fsutil import fsync_dir
from mt5mesh.nexus import rows


class SpoolFull(Exception):
    """The spool reached its byte limit; the caller must stop consuming and alarm."""


class Spool:
    def __init__(self, directory, max_bytes):
        self.dir = directory
        self.max_bytes = int(max_bytes)
        os.makedirs(directory, exist_ok=True)
        self._sizes = {}
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            if name.endswith(".tmp"):
                os.unlink(path)  # a write that never finished: its batch is still in the gateway ring
            elif name.endswith(".json"):
                self._sizes[name] = os.path.getsize(path)
        self._bytes = sum(self._sizes.values())

    @property
    def depth(self):
        return len(self._sizes)

    @property
    def bytes(self):
        return self._bytes

    @staticmethod
    def name_for(batch):
        return "%020d-%012d.json" % (batch[0][0], batch[0][1])

    def append(self, batch):
        """batch: rows (nexus/rows.py: Tick, Trade), in order."""
        data = json.dumps([rows.to_json(r) for r in batch], separators=(",", ":")).encode()
        if self._bytes + len(data) > self.max_bytes:
            raise SpoolFull("spool %s full (%d bytes max)" % (self.dir, self.max_bytes))
        name = self.name_for(batch)
        tmp = os.path.join(self.dir, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.dir, name))
        self._fsync_dir()
        self._bytes += len(data) - self._sizes.get(name, 0)
        self._sizes[name] = len(data)

    def oldest(self):
        """(name, rows) of the oldest batch, or None."""
        if not self._sizes:
            return None
        name = min(self._sizes)
        with open(os.path.join(self.dir, name), "rb") as f:
            return name, [rows.from_json(r) for r in json.load(f)]

    def remove(self, name):
        os.unlink(os.path.join(self.dir, name))
        self._fsync_dir()
        self._bytes -= self._sizes.pop(name, 0)

    def _fsync_dir(self):
        fsync_dir(self.dir)
