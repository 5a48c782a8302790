"""The replay ring: the last N published events by seq, O(1) put and lookup."""


class Ring:
    def __init__(self, size):
        if size < 1:
            raise ValueError("ring size must be >= 1")
        self.size = size
        self._buf = [None] * size
        self.last = 0  # seq of the newest event, 0 when empty

    @property
    def oldest(self):
        return max(1, self.last - self.size + 1) if self.last else 0

    def put(self, seq, payload):
        # Seqs arrive contiguous from 1; the slot of seq-size is simply overwritten.
        self._buf[seq % self.size] = payload
        self.last = seq

    def slice(self, from_seq, limit, max_bytes=None):
        """Payloads for seq in [from_seq, from_seq+limit), contiguous. None when from_seq is gone.

        With ``max_bytes`` the slice stops before the payloads would exceed it (at least one
        payload is always returned), so a small request cannot buy a huge reply."""
        if self.last == 0 or from_seq > self.last:
            return []
        if from_seq < self.oldest:
            return None
        end = min(self.last, from_seq + limit - 1)
        out: list[bytes] = []
        total = 0
        for seq in range(from_seq, end + 1):
            payload = self._buf[seq % self.size]
            total += len(payload) + 1
            if max_bytes is not None and out and total > max_bytes:
                break
            out.append(payload)
        return out
