"""Every tick the terminal has, exactly once: per symbol, copy_ticks_from(symbol, cursor, count,
COPY_TICKS_ALL) from the last published millisecond. Ticks of an earlier millisecond are old;
ticks of the cursor's millisecond are skipped only as many times as they were published (the
terminal returns a millisecond's ticks in the same order every time), so a tick is never
published twice and a new tick is never dropped for sharing a millisecond with an older one.
Never symbol_info_tick: polling the latest tick drops every tick between two polls.
"""
import datetime

from mt5mesh.gateway.terminal import api

BATCH = 5000


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
        return datetime.datetime.fromtimestamp(self.time_msc / 1000.0, tz=datetime.timezone.utc)


class TerminalFollower:
    """Follows every symbol of one terminal; ``poll()`` returns (symbol, Tick) in time order per symbol."""

    def __init__(self, mt5, symbols, start_msc, saved=None):
        self.mt5 = mt5
        self.symbols = list(symbols)
        # Start at "now": the gateway publishes what arrives from its start, not the terminal's past;
        # after a restart, at the journal's cursors, so the ticks of the downtime come too.
        saved = saved or {}
        self.cursors = {s: Cursor(*saved[s]) if s in saved else Cursor(start_msc, 0) for s in self.symbols}

    def poll(self, max_batches=4):
        out = []
        for symbol in self.symbols:
            cursor = self.cursors[symbol]
            for _i in range(max_batches):
                ticks = rows_of(self.mt5.copy_ticks_from(symbol, cursor.date_from(), BATCH, api.COPY_TICKS_ALL))
                out.extend((symbol, t) for t in cursor.fresh(ticks))
                if len(ticks) < BATCH:
                    break
        return out
