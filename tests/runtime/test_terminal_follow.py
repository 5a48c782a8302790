"""Every tick the terminal has, exactly once (terminal/follow.py), on plain data and on the paper
terminal driven by a fake clock: bursts in one millisecond, identical ticks, batches."""
from mt5mesh.gateway.terminal import api
from mt5mesh.gateway.terminal.follow import Cursor, TerminalFollower, rows_of
from mt5mesh.gateway.terminal.paper import PaperTerminal


def tick(msc, bid=1.0):
    return api.Tick(msc // 1000, bid, bid + 0.1, 0.0, 0, msc, 6, 0.0)


def test_ticks_of_the_cursor_millisecond_are_skipped_once_each_and_new_ones_kept():
    c = Cursor(0, 0)
    first = [tick(1000), tick(1001), tick(1001)]
    assert c.fresh(first) == first and (c.time_msc, c.at_msc) == (1001, 2)
    # The terminal returns the same millisecond again with one more tick in it, identical to the others.
    again = [tick(1000), tick(1001), tick(1001), tick(1001), tick(1002)]
    assert c.fresh(again) == [tick(1001), tick(1002)] and (c.time_msc, c.at_msc) == (1002, 1)


def test_older_milliseconds_are_never_published_again():
    c = Cursor(5000, 1)
    assert c.fresh([tick(4999), tick(5000)]) == []
    assert c.fresh([tick(5000), tick(5000)]) == [tick(5000)] and c.at_msc == 2


def test_rows_of_reads_lists_and_structured_rows():
    assert rows_of(None) == []
    assert rows_of([tuple(tick(7))]) == [tick(7)]

    class Rows:
        def tolist(self):
            return [tuple(tick(8))]
    assert rows_of(Rows()) == [tick(8)]


class Clock:
    def __init__(self):
        self.now = 1767139200.0

    def __call__(self):
        return self.now


def test_every_paper_tick_is_followed_exactly_once_across_polls_and_bursts():
    clock = Clock()
    paper = PaperTerminal(["EURUSD", "GBPUSD"], rate=5000, seed=3, clock=clock, burst=5)
    paper.initialize()
    for s in paper.symbols:
        paper.symbol_select(s)
    follower = TerminalFollower(paper, paper.symbols, int(clock.now * 1000))
    seen = []
    for step in range(300):
        clock.now += 0.0007 if step % 3 else 0.013  # polls inside and across milliseconds
        seen.extend(follower.poll())
    for symbol in paper.symbols:
        history = list(paper.history[symbol])
        mine = [t for s, t in seen if s == symbol]
        assert mine == history, symbol
    times = [t.time_msc for s, t in seen if s == "EURUSD"]
    assert len(times) > len(set(times)), "the test needs ticks sharing a millisecond"
    assert len(seen) > 1000


def test_a_follower_starting_later_does_not_publish_the_past():
    clock = Clock()
    paper = PaperTerminal(["EURUSD"], rate=1000, clock=clock)
    paper.initialize()
    clock.now += 1.0
    paper.symbol_info_tick("EURUSD")
    follower = TerminalFollower(paper, ["EURUSD"], int(clock.now * 1000) + 1)
    assert follower.poll() == []


class CountingTerminal(PaperTerminal):
    """The paper terminal, counting how often status asks it (and able to fail on demand)."""

    def __init__(self):
        super().__init__(["EURUSD"], clock=Clock())
        self.asked, self.broken = 0, False

    def terminal_info(self):
        self.asked += 1
        if self.broken:
            raise ConnectionError("terminal went away")
        return super().terminal_info()


def test_status_asks_the_terminal_at_most_once_per_max_age_and_shows_a_loss_after_it():
    from mt5mesh.gateway.terminal import STATUS_MAX_AGE_S, TerminalSource
    mt5 = CountingTerminal()
    assert mt5.initialize()
    source = TerminalSource("paper", mt5, ["EURUSD"])
    first = source.status(now=100.0)
    assert first["connected"] is True and first["account_known"] is True and first["symbols"] == ["EURUSD"]
    for i in range(50):  # a client polling status in a loop
        assert source.status(now=100.0 + i * STATUS_MAX_AGE_S / 100) == first
    assert mt5.asked == 1
    mt5.broken = True
    assert source.status(now=100.0 + STATUS_MAX_AGE_S * 0.99)["connected"] is True  # still the cached answer
    lost = source.status(now=100.0 + STATUS_MAX_AGE_S)
    assert mt5.asked == 2 and lost["connected"] is False and "terminal went away" in lost["error"]
    source.errors = 3  # the error count is live, never cached
    assert source.status(now=100.0 + STATUS_MAX_AGE_S)["errors"] == 3


def test_rows_of_keeps_tick_records_as_they_are_and_builds_ticks_from_tuples():
    t = tick(9)
    assert rows_of([t])[0] is t
    out = rows_of([tuple(tick(10))])
    assert out[0].__class__ is api.Tick and out == [tick(10)]


def test_a_new_cursor_stands_before_everything():
    c = Cursor()
    assert (c.time_msc, c.at_msc) == (0, 0)


def test_date_from_is_the_cursor_whole_second_as_a_plain_int():
    # A plain int crosses rpyc by value; a datetime would reach the terminal as a proxy it refuses.
    d = Cursor(1999).date_from()
    assert d == 1 and type(d) is int  # pylint: disable=unidiomatic-typecheck


class Terminal:
    """copy_ticks_from answers from a script of batch sizes, recording each call."""

    def __init__(self, sizes):
        self.sizes, self.calls = list(sizes), []

    def copy_ticks_from(self, symbol, date_from, count, flags):
        self.calls.append((symbol, count, flags))
        n = self.sizes.pop(0) if self.sizes else 0
        start = 1000 + 10 * len(self.calls) * count
        return [tick(start + i) for i in range(n)]


def test_a_follower_starts_new_symbols_at_the_start_and_saved_ones_at_their_cursor():
    f = TerminalFollower(Terminal([]), ["A", "B"], 777, saved={"B": (900, 2)})
    assert (f.cursors["A"].time_msc, f.cursors["A"].at_msc) == (777, 0)
    assert (f.cursors["B"].time_msc, f.cursors["B"].at_msc) == (900, 2)


def test_a_full_batch_asks_again_a_short_one_stops_and_four_batches_are_the_most_per_poll():
    from mt5mesh.gateway.terminal import follow
    mt5 = Terminal([follow.BATCH, 3])
    TerminalFollower(mt5, ["A"], 0).poll()
    assert mt5.calls == [("A", follow.BATCH, api.COPY_TICKS_ALL)] * 2
    mt5 = Terminal([follow.BATCH] * 10)
    TerminalFollower(mt5, ["A"], 0).poll()
    assert len(mt5.calls) == 4


class Scripted:
    """A terminal that holds `held` ticks per symbol and records every copy_ticks_from's date_from;
    `none_error` makes copy_ticks_from return None with that last_error()."""

    def __init__(self, held, none_error=None, tick_none=False):
        self.held, self.none_error, self.tick_none, self.asked = held, none_error, tick_none, []
        self.error = (api.RES_S_OK, "Success")

    def symbol_info_tick(self, symbol):
        if self.tick_none:
            self.error = (api.RES_E_NOT_FOUND, "Terminal: Not found")
            return None
        return self.held[symbol][-1]

    def copy_ticks_from(self, symbol, date_from, count, flags):
        self.asked.append((symbol, date_from))
        if self.none_error is not None:
            self.error = self.none_error
            return None
        return [t for t in self.held[symbol] if t.time_msc >= date_from * 1000][:count]

    def last_error(self):
        return self.error


def test_date_from_of_a_real_clock_is_its_whole_second():
    assert Cursor(1767146400999).date_from() == 1767146400


def test_a_follower_has_no_failures_before_its_first_poll():
    assert TerminalFollower(Scripted({}), ["A"], 0).failed == []


def test_a_new_symbol_starts_at_the_newest_tick_the_terminal_holds_and_publishes_none_of_the_past():
    held = {"A": [tick(5000), tick(7000), tick(7500)], "B": [tick(9000), tick(9100)]}
    mt5 = Scripted(held)
    f = TerminalFollower(mt5, ["A", "B"])
    assert f.poll() == [] and f.failed == []
    assert mt5.asked == [("A", 7), ("B", 9)]  # from the newest tick's second, never from 0
    assert {s: (c.time_msc, c.at_msc) for s, c in f.cursors.items()} == {"A": (7500, 1), "B": (9100, 1)}
    held["A"].append(tick(8000))
    assert f.poll() == [("A", tick(8000))]


def test_none_with_last_error_success_is_no_ticks_not_a_failure():
    f = TerminalFollower(Scripted({"A": [tick(1000)]}, none_error=(api.RES_S_OK, "Success")), ["A"], 0)
    assert f.poll() == [] and f.failed == []


def test_none_with_an_error_fails_its_symbol_naming_the_call_and_the_error():
    f = TerminalFollower(Scripted({"A": [tick(1000)]}, none_error=(-1, "Terminal: Call failed")), ["A"], 0)
    assert f.poll() == []
    [(symbol, e)] = f.failed
    assert symbol == "A" and str(e) == "copy_ticks_from(A) returned None: (-1, 'Terminal: Call failed')"


def test_a_symbol_without_a_tick_fails_its_start_naming_the_call_and_the_error():
    f = TerminalFollower(Scripted({"A": []}, tick_none=True), ["A"])
    assert f.poll() == [] and "A" not in f.cursors
    [(symbol, e)] = f.failed
    assert symbol == "A" and str(e) == "symbol_info_tick(A) returned None: (-4, 'Terminal: Not found')"
