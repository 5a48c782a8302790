"""What the order-log tests share: a clock that stands still until told, and a loaded log."""
from mt5mesh.gateway.orderlog import OrderLog


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def opened(path, clock=None, **kw):
    log = OrderLog(str(path), clock=clock or Clock(), **kw)
    log.load()
    return log
