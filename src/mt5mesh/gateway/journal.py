"""The gateway journal: what a terminal-backed gateway must not lose when it is killed.

Every event is appended here before it is published. A killed process keeps all of it (the
writes are in the kernel's page cache); the file is fsynced at least once a second, so a power
loss can cost the last second of ticks. The exactly-once record of orders is not here: it is the
order log beside it (mt5mesh.gateway.orderlog), which damage to this journal never touches.

Layout: ``DIR/lock`` (flock: one gateway per journal) and segments ``DIR/seg-<first seq>.log``.
A segment is lines of ``<crc32 hex> <type> <data>``:

* ``H {"epoch": E, "seq": S, "cursors": {...}}``, the checkpoint that opens every segment, so
  older segments can be dropped without losing state;
* ``E <seq> <payload>``, one published event (payload as on the wire);
* ``I``/``R``, order intents and replies, written by journals before the order log existed: read
  once, to carry them into it (an upgrade), and never written.

A bad checksum on the last line of the newest segment is a write torn by the kill: it is cut off
the file at load. Anywhere else the journal is corrupt: the gateway starts a new epoch (and says
so), keeping the terminal cursors of the last good checkpoint so only the ticks after the damage
are fetched again. Segments roll at ``segment_bytes`` of events; a segment is dropped once its
events are all older than the ring, or when the directory passes its byte budget, oldest first.

A write that fails (a full disk) never ends the gateway: the journal reports the error (status,
/healthz, /metrics), stops writing, and tries a fresh segment every few seconds; events published
meanwhile are not on disk, so a restart after that begins a new epoch.
"""
import errno
import fcntl
import json
import logging
import os
import re
import time
import zlib

from mt5mesh.fsutil import fsync_dir

log = logging.getLogger("mt5mesh-gateway")
SEGMENT_BYTES = 32 * 1024 * 1024
# Restart scans read our own canonical JSON with these instead of decoding a whole ring.
_SYMBOL = re.compile(rb'"symbol":"([^"\\]{1,32})"')
_TIME_MSC = re.compile(rb'"time_msc":(\d{1,19})')
SYNC_EVERY_S = 1.0
# After a write error the journal tries a fresh segment this often (space may have returned).
RETRY_EVERY_S = 5.0
# The journal directory's default byte budget: past it the oldest segments go first.
BUDGET_BYTES = 2 * 1024 * 1024 * 1024


class JournalError(Exception):
    """The journal cannot be used (in use by another gateway, unreadable directory)."""


class JournalCorrupt(Exception):
    """A journal whose content cannot be trusted; the gateway starts a new epoch.

    ``cursors`` holds the terminal cursors of the last good checkpoint (and events) before the
    damage, so the new epoch fetches again only what came after it."""

    def __init__(self, message, cursors=None):
        Exception.__init__(self, message)
        self.cursors = cursors or {}


class Loaded:
    """What a journal held: the epoch, its events (seq, payload) in order, cursors, replies, intents."""

    def __init__(self, epoch, events, cursors, replies, intents, checkpoint_seq=0):
        self.epoch, self.events, self.cursors = epoch, events, cursors
        self.replies, self.intents = replies, intents
        self.checkpoint_seq = checkpoint_seq  # the last seq written before the newest checkpoint

    @property
    def last_seq(self):
        return max(self.events[-1][0] if self.events else 0, self.checkpoint_seq)


def _line(tag, data):
    body = tag + b" " + data
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def parse_line(line):
    """(tag, data) of one journal line, or None when it is torn or altered (pure)."""
    # Byte indexes, not slices: this runs once per event a restart keeps (200 000 by default).
    if len(line) < 12 or line[-1] != 10 or line[8] != 32 or line[10] != 32:
        return None
    body = line[9:-1]
    try:
        crc = int(line[:8], 16)
    except ValueError:
        return None
    if zlib.crc32(body) != crc:
        return None
    return body[:1], body[2:]


def needed_from(firsts, ring_size):
    """Index of the oldest segment a restart reads, from the segments' first seqs, oldest first (pure).

    Every segment opens with the whole state, so only events make older segments worth reading,
    and the ring keeps the newest ``ring_size``: once the newest segment starts ``ring_size`` or
    more past a segment's start, everything before that segment is older than the ring."""
    needed = 0
    for i, first in enumerate(firsts):
        if firsts[-1] - first >= ring_size:
            needed = i
    return needed


def event_count(segments):
    """The event records in the segments, a torn last line not counted (pure; one byte a line)."""
    count = sum(1 for lines in segments for raw in lines if raw[9:10] == b"E")
    tail = segments[-1][-1:] if segments else []
    if tail and tail[0][9:10] == b"E" and parse_line(tail[0]) is None:
        count -= 1
    return count


def replay_lines(segments, ring_size):
    """Rebuild the state from the lines of each segment, oldest first (pure).

    ``segments`` is a list of lists of raw lines. Returns ``Loaded`` or raises JournalCorrupt;
    a torn last line of the last segment is ignored (it was never published). Events older than
    the ring are counted, not parsed: a gateway that ran at 20 000 ticks/s holds a ring and most
    of a segment more, and parsing those took 0.65 s of an idle restart (systemd's restart of a
    killed gateway has a 2 s budget). Every other line is checked."""
    epoch, events, cursors, replies, intents, mark = None, [], {}, {}, [], 0
    last = None  # the last seq known (an event's, or a checkpoint's): the next must follow it
    older = event_count(segments) - ring_size
    for n, lines in enumerate(segments):
        for i, raw in enumerate(lines):
            if older > 0 and raw[9:10] == b"E":
                older -= 1
                last = None  # the seqs of skipped events are not read
                continue
            parsed = parse_line(raw)
            if parsed is None:
                if n == len(segments) - 1 and i == len(lines) - 1:
                    break  # torn by the kill: never published, since publish follows the write
                raise JournalCorrupt("segment %d line %d fails its checksum" % (n + 1, i + 1),
                                     _salvage(cursors, events, mark))
            tag, data = parsed
            try:
                if tag == b"E":  # first: all but a few lines are events
                    seq_text, payload = data.split(b" ", 1)
                    seq = int(seq_text)
                    if last is not None and seq != last + 1:
                        raise JournalCorrupt("events jump from seq %s to %d" % (last, seq),
                                             _salvage(cursors, events, mark))
                    events.append((seq, payload))
                    last = seq
                elif tag == b"H":
                    head = json.loads(data)
                    if epoch is not None and head["epoch"] != epoch:
                        raise JournalCorrupt("segments of two epochs (%s and %s)" % (epoch, head["epoch"]),
                                             _salvage(cursors, events, mark))
                    head_seq = head.get("seq")
                    if last is not None and head_seq is not None and int(head_seq) != last:
                        # A segment begun after writes failed (a full disk): events are missing.
                        raise JournalCorrupt("events jump from seq %s to a checkpoint at %s"
                                             % (last, head_seq), _salvage(cursors, events, mark))
                    epoch = head["epoch"]
                    cursors = dict(head.get("cursors") or {})
                    # Journals from before the order log: each checkpoint held the whole order state.
                    replies = dict(head.get("replies") or [])
                    intents = list(head.get("intents") or [])
                    mark = events[-1][0] if events else int(head.get("seq", 0))
                    last = int(head_seq) if head_seq is not None else (events[-1][0] if events else None)
                elif tag == b"I":
                    intents.append(json.loads(data))
                elif tag == b"R":
                    key, reply = json.loads(data)
                    replies[key] = reply
                    if key in intents:
                        intents.remove(key)
                else:
                    raise JournalCorrupt("unknown record type %r" % tag)
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise JournalCorrupt("segment %d line %d: %s" % (n + 1, i + 1, e), _salvage(cursors, events, mark))
    if epoch is None:
        raise JournalCorrupt("no checkpoint record")
    return Loaded(epoch, events[-ring_size:], cursors, replies, intents, mark)


def _salvage(cursors, events, mark):
    """The terminal cursors as of the last good record before damage (pure)."""
    return cursors_from(Loaded(None, events, cursors, None, None, mark))


def latest_from(loaded, limit, symbols=()):
    """The newest tick payload per symbol, at most ``limit`` symbols (pure; read from the end).

    The scan stops once every one of ``symbols`` (the gateway's own) is found: a full ring of a
    few symbols never reaches ``limit``, and scanning all of it cost 0.3 s of every restart."""
    latest, wanted = {}, set(symbols)
    for _seq, payload in reversed(loaded.events):
        found = _SYMBOL.search(payload)
        if found and b'"trade":' not in payload:
            latest.setdefault(found.group(1).decode("utf-8"), payload)
            if len(latest) >= limit or (wanted and wanted.issubset(latest)):
                break
    return latest


def cursors_from(loaded, symbols=()):
    """Per-symbol terminal cursors {symbol: [time_msc, ticks at that msc]}: the checkpoint's,
    advanced by the journal's tick events after it (pure; scans from the newest event back).

    With ``symbols`` (those the terminal is asked for) only theirs are advanced, and the scan
    stops once each has shown an older millisecond: other symbols keep the checkpoint's."""
    cursors = {k: list(v) for k, v in loaded.cursors.items()}
    found, done, wanted = {}, set(), set(symbols)
    for seq, payload in reversed(loaded.events):
        if seq <= loaded.checkpoint_seq or (wanted and wanted.issubset(done)):
            break  # the checkpoint already counts these, or every wanted symbol is known
        # Our own canonical JSON: two regexes instead of decoding a whole ring at start.
        sym, msc = _SYMBOL.search(payload), _TIME_MSC.search(payload)
        if sym is None or msc is None or b'"trade":' in payload:
            continue
        symbol, msc = sym.group(1).decode("utf-8"), int(msc.group(1))
        if symbol in done or (wanted and symbol not in wanted):
            continue
        if symbol not in found:
            found[symbol] = [msc, 1]
        elif found[symbol][0] == msc:
            found[symbol][1] += 1
        else:
            done.add(symbol)
    for symbol, (msc, count) in found.items():
        old = cursors.get(symbol)
        if old and old[0] == msc:
            count += old[1] if symbol not in done else 0
        cursors[symbol] = [msc, count]
    return cursors


class Journal:
    """One gateway's journal directory. Owned by the broker thread; nothing else writes it."""

    def __init__(self, path, ring_size, segment_bytes=SEGMENT_BYTES, sync_every=SYNC_EVERY_S, clock=time.monotonic,
                 budget_bytes=BUDGET_BYTES):
        self.path, self.ring_size = path, int(ring_size)
        self.segment_bytes, self.sync_every, self.clock = segment_bytes, sync_every, clock
        self.budget_bytes = int(budget_bytes)
        self._lock_fd = None
        self._fd = None
        self._size = 0        # bytes of events in the open segment (what rolls it)
        self._bytes = {}      # file name -> bytes written, for the budget
        self._dirty = False
        self._synced_at = clock()
        self.segments = []  # (first seq, file name), oldest first
        self.syncs = 0
        self.error = None     # the standing write error, or None
        self._failed_at = None
        self.torn = 0         # bytes of a torn tail cut off at load

    # --- opening -----------------------------------------------------------------------
    def lock(self):
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            self._lock_fd = os.open(os.path.join(self.path, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise JournalError("journal %s: cannot open: %s" % (self.path, e.strerror or e))
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self._lock_fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(self._lock_fd)
            self._lock_fd = None
            raise JournalError("journal %s is in use by another gateway (pid %s); two gateways on one journal "
                               "would interleave their events" % (self.path, holder))
        os.ftruncate(self._lock_fd, 0)
        os.pwrite(self._lock_fd, b"%d\n" % os.getpid(), 0)

    def _segment_files(self):
        names = sorted(n for n in os.listdir(self.path) if n.startswith("seg-") and n.endswith(".log"))
        return [(int(n[4:-4]), n) for n in names]

    def load(self):
        """The journal's state, or None when there is none. Raises JournalCorrupt."""
        self.segments = self._segment_files()
        if not self.segments:
            return None
        contents = []
        needed = needed_from([first for first, _name in self.segments], self.ring_size)
        for _first, name in self.segments[needed:]:
            with open(os.path.join(self.path, name), "rb") as f:
                contents.append(f.readlines())
        for _first, name in self.segments:
            self._bytes[name] = os.path.getsize(os.path.join(self.path, name))
        loaded = replay_lines(contents, self.ring_size)
        self._cut_torn_tail(contents[-1])
        return loaded

    def _cut_torn_tail(self, lines):
        """Cut a torn last line off the newest segment, so that the next restart, which finds it
        no longer last, does not take it for corruption."""
        if not lines or parse_line(lines[-1]) is not None:
            return
        name = self.segments[-1][1]
        keep = sum(len(line) for line in lines[:-1])
        self.torn = len(lines[-1])
        fd = os.open(os.path.join(self.path, name), os.O_WRONLY)
        try:
            os.ftruncate(fd, keep)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._bytes[name] = keep
        log.warning("journal %s: cut a torn last record (%d bytes) off %s", self.path, self.torn, name)

    def set_aside(self, reason):
        """Move a corrupt journal's segments to DIR/corrupt-<time>/ (kept for a post-mortem)."""
        aside = os.path.join(self.path, "corrupt-%d" % int(time.time()))
        os.makedirs(aside, exist_ok=True)
        for _first, name in self._segment_files():
            os.rename(os.path.join(self.path, name), os.path.join(aside, name))
        log.error("journal %s is corrupt (%s): moved to %s; starting a new epoch", self.path, reason, aside)
        self.segments = []

    # --- writing -----------------------------------------------------------------------
    def start(self, first_seq, checkpoint):
        """Open a new segment that begins with the checkpoint (a dict with the epoch and seq).
        Returns False (and keeps ``error``) when it cannot be written; never raises OSError."""
        name = "seg-%020d.log" % first_seq
        try:
            if self._fd is not None:
                self._close_segment()
            self._fd = os.open(os.path.join(self.path, name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._size = 0
            self._bytes[name] = os.fstat(self._fd).st_size
            self.segments = [s for s in self.segments if s[1] != name] + [(first_seq, name)]
            self._write(b"H", json.dumps(checkpoint, separators=(",", ":")).encode("utf-8"))
            self.sync()
            self._fsync_dir()
        except OSError as e:
            self._failed(e)
            return False
        if self.error is not None:
            log.warning("journal %s: writable again (%s)", self.path, self.error)
        self.error = self._failed_at = None
        return True

    def _close_segment(self):
        fd, self._fd = self._fd, None
        try:
            if self._dirty:
                os.fsync(fd)
        finally:
            os.close(fd)

    def event(self, seq, payload):
        """Append one event; a write error is kept in ``error``, never raised (the gateway goes on
        publishing, and says it is unhealthy)."""
        if self.error is not None or self._fd is None:
            return
        try:
            self._write(b"E", b"%d " % seq + payload)
        except OSError as e:
            self._failed(e)

    def _write(self, tag, data):
        line = _line(tag, data)
        # One write per record: a kill leaves whole lines or a torn last one.
        written = os.write(self._fd, line)
        if written != len(line):
            # A short write (the disk filled mid-record): cut it off so no half line stays in the
            # middle of the segment, and report it as the full disk it is.
            os.ftruncate(self._fd, os.fstat(self._fd).st_size - written)
            raise OSError(errno.ENOSPC, "short write (%d of %d bytes)" % (written, len(line)))
        if tag == b"E":
            self._size += len(line)
        self._bytes[self.segments[-1][1]] += len(line)
        self._dirty = True

    def _failed(self, e):
        if self.error is None:
            log.error("journal %s: cannot write: %s; publishing goes on without it, and a restart after this "
                      "begins a new epoch", self.path, e.strerror or e)
        self.error = "journal %s: cannot write: %s" % (self.path, e.strerror or e)
        self._failed_at = self.clock()
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def due(self, now=None):
        """fsync when a second has passed since the last one; returns whether a new segment is
        due: the open one is full of events, or a write failed a while ago (a retry)."""
        now = self.clock() if now is None else now
        if self.error is not None:
            return now - self._failed_at >= RETRY_EVERY_S
        if self._dirty and now - self._synced_at >= self.sync_every:
            self.sync()
        return self._size >= self.segment_bytes

    def sync(self):
        if self._fd is not None and self._dirty:
            try:
                os.fsync(self._fd)
            except OSError as e:
                self._failed(e)
                return
            self.syncs += 1
        self._dirty = False
        self._synced_at = self.clock()

    def total_bytes(self):
        return sum(self._bytes[name] for _first, name in self.segments)

    def _fsync_dir(self):
        fsync_dir(self.path)

    def drop_older_than(self, oldest_seq):
        """Delete segments whose every event is older than ``oldest_seq`` (never the open one),
        then the oldest ones while the directory is over its byte budget."""
        keep = []
        for i, (first, name) in enumerate(self.segments):
            following = self.segments[i + 1][0] if i + 1 < len(self.segments) else None
            if following is not None and following <= oldest_seq:
                self._unlink(name)
            else:
                keep.append((first, name))
        while len(keep) > 1 and sum(self._bytes[n] for _f, n in keep) > self.budget_bytes:
            self._unlink(keep.pop(0)[1])
        self.segments = keep

    def _unlink(self, name):
        try:
            os.unlink(os.path.join(self.path, name))
        except FileNotFoundError:
            pass
        del self._bytes[name]

    def close(self):
        if self._fd is not None:
            try:
                self._close_segment()
            except OSError:
                pass
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
