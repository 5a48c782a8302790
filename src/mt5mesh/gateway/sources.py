"""Tick sources. The broker asks a source for ticks that are due; it assigns seq itself.

* SyntheticSource: seeded random walk, for the lab, demo and benchmarks.
* The PULL source is a socket polled by the broker (an MT5 Expert Advisor pushes JSON ticks,
  see docs/protocol.md); it has no class here.
* A MetaTrader5-Python-API source (Windows only) would be a class with the same ``due()``
  method calling ``mt5.symbol_info_tick`` per symbol; see docs/protocol.md.
"""
import random
import time


class SyntheticSource:
    def __init__(self, symbols, rate, seed=42, max_burst=None):
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.symbols = list(symbols)
        self.rate = float(rate)
        self.rng = random.Random(seed)
        self.mid = {s: 1.0 + 0.1 * i for i, s in enumerate(self.symbols)}
        self.start = time.monotonic()
        self.generated = 0
        # If the loop was held up, catch up at most this many ticks at once.
        self.max_burst = max_burst or max(100, int(self.rate / 10))

    def due(self, now):
        """Ticks due at monotonic time ``now`` as (symbol, bid, ask) tuples."""
        target = int((now - self.start) * self.rate)
        n = target - self.generated
        if n <= 0:
            return []
        if n > self.max_burst:
            # Falling behind: re-anchor instead of bursting forever (rate is a target, not a debt).
            self.generated = target - self.max_burst
            n = self.max_burst
        self.generated += n
        out = []
        rng, mids, symbols = self.rng, self.mid, self.symbols
        for _i in range(n):
            s = symbols[rng.randrange(len(symbols))]
            m = mids[s] = max(0.0001, mids[s] * (1.0 + rng.gauss(0.0, 0.00005)))
            half = m * 0.00005
            out.append((s, round(m - half, 6), round(m + half, 6)))
        return out

    def next_in(self, now):
        """Seconds until the next tick is due."""
        return max(0.0, (self.generated + 1) / self.rate - (now - self.start))
