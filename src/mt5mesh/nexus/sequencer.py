"""Sequence bookkeeping for one gateway stream: what to accept, what is a gap, what is a
new epoch. Pure logic, no I/O, so every rule is unit-tested."""

ACCEPT = "accept"
DUPLICATE = "duplicate"
GAP = "gap"
EPOCH_CHANGE = "epoch_change"
IDLE = "idle"


class Sequencer:
    def __init__(self, epoch, next_seq=1):
        self.epoch = epoch
        self.next_seq = next_seq
        self.head = next_seq - 1  # highest seq the gateway is known to have published

    def offer(self, event_type, event):
        """Classify an event; returns (action, first_missing, last_missing)."""
        if event["epoch"] != self.epoch:
            return EPOCH_CHANGE, None, None
        seq = event["seq"]
        self.head = max(self.head, seq)
        if event_type == "hb":
            # A heartbeat carries the last published seq: anything above what we hold is a gap
            # even when no tick of it ever reached us.
            if seq >= self.next_seq:
                return GAP, self.next_seq, seq
            return IDLE, None, None
        if seq < self.next_seq:
            return DUPLICATE, None, None
        if seq > self.next_seq:
            return GAP, self.next_seq, seq - 1
        return ACCEPT, None, None

    def accepted(self, seq):
        self.next_seq = seq + 1

    def skip_to(self, seq):
        """Give up on everything below ``seq`` (it is gone from the gateway's ring)."""
        self.next_seq = max(self.next_seq, seq)

    @property
    def behind(self):
        return max(0, self.head - (self.next_seq - 1))
