"""A bounded on-disk journal of batches that could not be written to PostgreSQL.

One file per batch, written to a temporary name, fsynced and renamed, so a crash leaves
either the whole batch or nothing. Files sort in stream order by name.
"""
import json
import os


class SpoolFull(Exception):
    """The spool reached its byte limit; the caller must stop consuming and alarm."""


class Spool:
    def __init__(self, directory, max_bytes):
        self.dir = directory
        self.max_bytes = int(max_bytes)
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".tmp"):
                os.unlink(os.path.join(directory, name))

    def _files(self):
        return sorted(n for n in os.listdir(self.dir) if n.endswith(".json"))

    @property
    def depth(self):
        return len(self._files())

    @property
    def bytes(self):
        return sum(os.path.getsize(os.path.join(self.dir, n)) for n in self._files())

    def append(self, rows):
        """rows: list of (epoch, seq, symbol, ts, bid, ask), in order."""
        data = json.dumps(rows, separators=(",", ":")).encode()
        if self.bytes + len(data) > self.max_bytes:
            raise SpoolFull("spool %s full (%d bytes max)" % (self.dir, self.max_bytes))
        name = "%020d-%012d.json" % (rows[0][0], rows[0][1])
        tmp = os.path.join(self.dir, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.dir, name))

    def oldest(self):
        """(name, rows) of the oldest batch, or None."""
        files = self._files()
        if not files:
            return None
        with open(os.path.join(self.dir, files[0]), "rb") as f:
            return files[0], [tuple(r) for r in json.load(f)]

    def remove(self, name):
        os.unlink(os.path.join(self.dir, name))
