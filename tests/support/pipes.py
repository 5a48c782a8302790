"""Fakes of the two ends of the stores process's pipe (nexus/storeproc.py), for its tests."""


class Pipe:
    """The parent's end: hands out the given messages in order, raises a given exception in its
    turn, then EOFError (the child closed its end)."""

    def __init__(self, *messages):
        self.messages = list(messages)

    def recv(self):
        if not self.messages:
            raise EOFError
        m = self.messages.pop(0)
        if isinstance(m, Exception):
            raise m
        return m


class Conn:
    """The child's end: records what was sent, and whether it was closed."""

    def __init__(self):
        self.sent, self.closed = [], False

    def send(self, msg):
        self.sent.append(msg)

    def close(self):
        self.closed = True
