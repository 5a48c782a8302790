"""Every tick the terminal has, exactly once: per symbol, copy_ticks_from(symbol, cursor, count,
COPY_TICKS_ALL) from the last published millisecond. Ticks of an earlier millisecond are old;
ticks of the cursor's millisecond are skipped only as many times as they were published (the
terminal returns a millisecond's ticks in the same order every time), so a tick is never
published twice and a new tick is never dropped for sharing a millisecond with an older one.
Never symbol_info_tick: polling the latest tick drops every tick between two polls.

Cursors are in the terminal's own clock (its trade server's time), and ``date_from`` goes as
whole seconds of it, a plain int: no datetime crosses to the terminal, and no time zone is
guessed. A symbol whose call fails keeps its cursor; the others' ticks of that round stand.
"""
from typing import Any

from mt5mesh.gateway.terminal import api

BATCH = 5000


class TerminalCallError(Exception):
    """A terminal call returned None with an error set (the official API's way to fail)."""


def rows_of(result):
    """Ticks as ``api.Tick`` from a list of them or numpy's structured array (its rows are
    tuples in the same field order)."""
    if result is None:
        return []
    if hasattr(result, "tolist"):
        result = result.tolist()
    return [r if isinstance(r, api.Tick) else api.Tick(*r) for r in result]


class Cursor:
    """Where one symbol's stream stands: the last published time_msc and how many ticks of that
    millisecond were published."""

    def __init__(self, time_msc=0, at_msc=0):
        self.time_msc, self.at_msc = time_msc, at_msc

    def fresh(self, ticks):
        """The ticks not yet published, in order; advances the cursor past them."""
        out, skip = [], self.at_msc
        for t in ticks:
            if t.time_msc < self.time_msc:
                continue
            if t.time_msc == self.time_msc and skip > 0:
                skip -= 1
                continue
            out.append(t)
            if t.time_msc == self.time_msc:
                self.at_msc += 1
            else:
                self.time_msc, self.at_msc = t.time_msc, 1
            skip = 0
        return out

    def date_from(self):
        """copy_ticks_from's date_from: the cursor's whole second, on the terminal's clock."""
        return self.time_msc // 1000


class TerminalFollower:
    """Follows every symbol of one terminal; ``poll()`` returns (symbol, Tick) in time order per
    symbol, and leaves the round's failures in ``failed`` as (symbol, exception)."""

    def __init__(self, mt5, symbols, start_msc=None, saved=None):
        self.mt5 = mt5
        self.symbols = list(symbols)
        # After a restart, at the journal's cursors, so the ticks of the downtime come too. A symbol
        # without one starts after what the terminal holds at its first poll (start_msc=None), or at
        # start_msc when given: the gateway publishes what arrives from its start, not the past.
        saved = saved or {}
        self.cursors = {s: Cursor(*saved[s]) for s in self.symbols if s in saved}
        if start_msc is not None:
            for s in self.symbols:
                self.cursors.setdefault(s, Cursor(start_msc, 0))
        self.failed = []

    def _copy(self, symbol, cursor, max_batches, out):
        """Appends the fresh ticks of `symbol` to `out` batch by batch, so a call that fails after
        a full batch loses nothing the cursor has already passed."""
        for _i in range(max_batches):
            result = self.mt5.copy_ticks_from(symbol, cursor.date_from(), BATCH, api.COPY_TICKS_ALL)
            if result is None:
                error = self.mt5.last_error()
                if error and error[0] != api.RES_S_OK:
                    raise TerminalCallError("copy_ticks_from(%s) returned None: %s" % (symbol, error))
                return
            ticks = rows_of(result)
            out.extend((symbol, t) for t in cursor.fresh(ticks))
            if len(ticks) < BATCH:
                return

    def _start(self, symbol, max_batches):
        """A cursor after every tick the terminal holds now, whatever its clock says."""
        tick = self.mt5.symbol_info_tick(symbol)
        if tick is None:
            raise TerminalCallError("symbol_info_tick(%s) returned None: %s" % (symbol, self.mt5.last_error()))
        cursor = Cursor(tick.time_msc, 0)
        self._copy(symbol, cursor, max_batches, [])
        self.cursors[symbol] = cursor

    def poll(self, max_batches=4):
        out: list[Any] = []
        self.failed = []
        for symbol in self.symbols:
            try:
                cursor = self.cursors.get(symbol)
                if cursor is None:
                    self._start(symbol, max_batches)
                    continue
                self._copy(symbol, cursor, max_batches, out)
            except Exception as e:  # pylint: disable=broad-except
                # Its cursor moved only with what `out` holds: the next round asks again from there.
                self.failed.append((symbol, e))
        return out
