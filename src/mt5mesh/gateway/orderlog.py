"""The order log: the exactly-once record of a gateway, kept apart from the tick journal.

A trading command's key (its ``id``, prefixed by the CURVE client's public key when CURVE is on)
is written here, fsynced, before the order reaches the terminal; its reply follows. Replies are
kept by time (``retention_s``, at least 24 h), never by count, so no flood of other requests can
push a filled order out and make its retry fill again.

Files, in the journal directory (the journal's flock covers them):

* ``orders.snap``: a compacted snapshot, written whole to a temporary file, fsynced and renamed;
* ``orders.log``: records appended since that snapshot.

Both are lines of ``<crc32 hex> <type> <json>`` (the journal's line format):

* ``S {"salt": hex}``: first line of the snapshot. The salt hashes client ids into the
  ``client_ref`` of published events, so the stream never carries an id (a stranger who saw ids
  could claim the next ones);
* ``I [key, t]``: an order about to reach the terminal;
* ``R [key, fingerprint, reply, t]``: its reply.

On load, a torn last line of the log (a kill mid-write) is cut off. Any other bad line is damage:
the log cannot say which orders were sent, so it raises ``OrderLogDamaged`` and the gateway stops
trading (reads go on) until an operator looks; it never forgets silently.
"""
import collections
import errno
import hashlib
import json
import os
import time
import zlib

from mt5mesh.fsutil import fsync_dir

RETENTION_S = 86400
# The log is compacted into the snapshot once it holds this many bytes (and on expiry).
COMPACT_BYTES = 4 * 1024 * 1024
SNAPSHOT, LOG = "orders.snap", "orders.log"


class OrderLogError(Exception):
    """The order log cannot be written (disk full, I/O error): no order may reach the terminal."""


class OrderLogDamaged(Exception):
    """The order log's content cannot be trusted: trading stops until an operator repairs it."""


def record(tag, obj):
    """One log line (pure)."""
    body = tag + b" " + json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def parse(line):
    """(tag, obj) of one line, or None when it is torn, altered or not JSON (pure). The CRC covers
    the type, its space and the JSON; the newline and the space after the CRC are checked here."""
    body = line[9:-1]
    if line[-1:] != b"\n" or line[8:9] != b" " or b"%08x" % zlib.crc32(body) != line[:8]:
        return None
    try:
        return body[:1], json.loads(body[2:])
    except ValueError:
        return None


def _write_whole(fd, data):
    """None when ``data`` went out in one write; otherwise why not (never raises)."""
    try:
        written = os.write(fd, data)
    except OSError as e:
        return e.strerror or str(e)
    return None if written == len(data) else "short write (%d of %d bytes)" % (written, len(data))


class State:
    """What the log says: the salt, replies {key: [fingerprint, reply, t]} oldest first, and
    intents {key: t} (sent, no reply written)."""

    def __init__(self, salt=None):
        self.salt = salt
        self.replies = collections.OrderedDict()
        self.intents = {}

    def apply(self, tag, obj):
        """One record; raises ValueError/TypeError/KeyError on a malformed one."""
        if tag == b"S":
            self.salt = str(obj["salt"])
        elif tag == b"I":
            key, t = obj
            self.intents[str(key)] = float(t)
        elif tag == b"R":
            key, fp, reply, t = obj
            if not isinstance(reply, dict):
                raise TypeError("reply is not an object")
            self.replies.pop(key, None)
            self.replies[str(key)] = [str(fp), reply, float(t)]
            self.intents.pop(key, None)
        else:
            raise ValueError("unknown record type %r" % tag)

    def lines(self):
        """The snapshot of this state, as lines (pure)."""
        out = [record(b"S", {"salt": self.salt})]
        out += [record(b"I", [k, t]) for k, t in self.intents.items()]
        out += [record(b"R", [k, fp, reply, t]) for k, (fp, reply, t) in self.replies.items()]
        return out

    def expire(self, before):
        """Drop replies and intents recorded before ``before``; returns how many went."""
        dropped = 0
        while self.replies:
            key = next(iter(self.replies))
            if self.replies[key][2] >= before:
                break
            del self.replies[key]
            dropped += 1
        for key in [k for k, t in self.intents.items() if t < before]:
            del self.intents[key]
            dropped += 1
        return dropped


def replay(snapshot_lines, log_lines):
    """(State, bytes of the log to keep) from the two files' lines (pure).

    The snapshot is written whole, so any bad line in it is damage. In the log only the last line
    may be bad (torn by a kill): the bytes to keep stop before it. Raises OrderLogDamaged."""
    state = State()
    for i, line in enumerate(snapshot_lines):
        _apply(state, line, "%s line %d" % (SNAPSHOT, i + 1))
    if snapshot_lines and state.salt is None:
        raise OrderLogDamaged("%s has no salt record" % SNAPSHOT)
    keep = 0
    for i, line in enumerate(log_lines):
        if i == len(log_lines) - 1 and parse(line) is None:
            break  # torn by a kill mid-write: its order never reached the terminal
        _apply(state, line, "%s line %d" % (LOG, i + 1))
        keep += len(line)
    return state, keep


def _apply(state, line, where):
    parsed = parse(line)
    if parsed is None:
        raise OrderLogDamaged("%s fails its checksum" % where)
    try:
        state.apply(*parsed)
    except (ValueError, TypeError, KeyError) as e:
        raise OrderLogDamaged("%s: %s" % (where, e))


class OrderLog:
    """The gateway's exactly-once record. Owned by the broker thread (through the Trader).

    ``path`` None keeps it in memory only (a gateway run with --journal none)."""

    def __init__(self, path=None, retention_s=RETENTION_S, clock=time.time, compact_bytes=COMPACT_BYTES):
        self.path, self.retention_s, self.clock = path, float(retention_s), clock
        self.compact_bytes = compact_bytes
        self.state = State(os.urandom(16).hex())
        self.error = None    # the last write error; orders are refused while it stands
        self.damaged = None  # why the log could not be trusted at load; sticky
        self.torn = 0        # bytes of a torn tail cut off at load
        self._fd = None
        self._size = 0
        self._sync_failed = False

    # --- opening ----------------------------------------------------------------------
    def _file(self, name):
        return os.path.join(self.path, name)

    def load(self):
        """Read the snapshot and the log, cut a torn tail, open the log for appending.
        Returns True when the log existed. Raises OrderLogDamaged (and keeps ``damaged``)."""
        if self.path is None:
            return False
        snap, log = self._read(SNAPSHOT), self._read(LOG)
        existed = bool(snap or log)
        try:
            state, keep = replay(snap, log)
        except OrderLogDamaged as e:
            self.damaged = str(e)
            raise
        if not existed:
            self.compact()
            return False
        if state.salt is None:  # a log without its snapshot: it was created and never compacted
            self.damaged = "%s is missing while %s has records" % (SNAPSHOT, LOG)
            raise OrderLogDamaged(self.damaged)
        self.state = state
        self.torn = sum(len(line) for line in log) - keep
        self._fd = os.open(self._file(LOG), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if self.torn:
            os.ftruncate(self._fd, keep)
            os.fsync(self._fd)
        self._size = keep
        return True

    def _read(self, name):
        try:
            with open(self._file(name), "rb") as f:
                return f.readlines()
        except FileNotFoundError:
            return []

    # --- what the trader asks -----------------------------------------------------------
    def ref(self, key):
        """The salted hash published for a key instead of the client's id."""
        return hashlib.sha256((self.state.salt + "\n" + key).encode()).hexdigest()[:16]

    def reply_of(self, key):
        """[fingerprint, reply] kept for a key, or None."""
        got = self.state.replies.get(key)
        return None if got is None else got[:2]

    def has_intent(self, key):
        return key in self.state.intents

    def intent(self, key):
        """On disk and fsynced before the terminal sees the order; raises OrderLogError."""
        if self.damaged:
            raise OrderLogError("the order log is damaged: %s" % self.damaged)
        now = self.clock()
        self._append(record(b"I", [key, now]))
        self._sync()
        self.state.intents[key] = now

    def reply(self, key, fp, reply):
        """Keep a reply (in memory whatever happens; on disk unless the disk fails, in which case
        the intent stays and a retry after a restart is answered 'outcome unknown')."""
        now = self.clock()
        self.state.intents.pop(key, None)
        self.state.replies.pop(key, None)
        self.state.replies[key] = [fp, reply, now]
        try:
            # Not fsynced on its own (the next intent's fsync or the close carries it): should a
            # power loss take it, the fsynced intent remains and a retry is answered "outcome
            # unknown", never sent again. A kill cannot take it (the page cache keeps it).
            self._append(record(b"R", [key, fp, reply, now]))
        except OrderLogError:
            pass  # self.error says why; orders are refused until it clears
        self.maintain()

    def maintain(self, now=None):
        """Expire what is older than the retention; compact once the log has grown."""
        now = self.clock() if now is None else now
        dropped = self.state.expire(now - self.retention_s)
        if self.path is None or self.damaged or self._sync_failed:
            return
        # A standing write error is retried here too, so the gateway reports healthy again as
        # soon as space returns, not only at the next order.
        if self.error or self._size >= self.compact_bytes or dropped > 1000:
            try:
                self.compact()
            except OrderLogError:
                pass

    def status(self):
        return {"kept": len(self.state.replies), "intents": len(self.state.intents), "ok": self.healthy(),
                "error": self.damaged or self.error, "log_bytes": self._size, "retention_s": self.retention_s}

    def healthy(self):
        return not (self.damaged or self.error)

    # --- writing ------------------------------------------------------------------------
    def _append(self, line):
        if self.path is None:
            return
        if self._sync_failed:
            # After a failed fsync the kernel may have dropped the dirty pages: nothing written
            # since can be trusted to be on disk. Only a restart (a fresh load) clears it.
            raise OrderLogError(self.error)
        why = _write_whole(self._fd, line)
        if why:
            self._undo()
            self.error = "order log %s: cannot write: %s" % (self.path, why)
            raise OrderLogError(self.error)
        self._size += len(line)
        self.error = None

    def _sync(self):
        if self.path is None:
            return
        try:
            os.fsync(self._fd)
        except OSError as e:
            self._sync_failed = True
            self.error = "order log %s: fsync failed: %s (restart the gateway)" % (self.path, e.strerror or e)
            raise OrderLogError(self.error)

    def _undo(self):
        """Cut a partial record off, so the log never holds half a line in its middle."""
        try:
            os.ftruncate(self._fd, self._size)
        except OSError:
            pass

    def compact(self):
        """Write the state as a new snapshot and start an empty log (crash-safe: a kill at any
        point leaves either the old snapshot and log or the new snapshot, and replaying the old
        log on the new snapshot gives the same state)."""
        tmp = self._file(SNAPSHOT + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                why = _write_whole(fd, b"".join(self.state.lines()))
                if why:
                    raise OSError(errno.ENOSPC, why)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, self._file(SNAPSHOT))
            fsync_dir(self.path)
            if self._fd is not None:
                os.close(self._fd)
            self._fd = os.open(self._file(LOG), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
            os.fsync(self._fd)
            self._size = 0
            self.error = None
        except OSError as e:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            self.error = "order log %s: cannot compact: %s" % (self.path, e.strerror or e)
            raise OrderLogError(self.error)

    def close(self):
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None
