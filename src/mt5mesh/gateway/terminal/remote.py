"""The mt5linux backend: the MetaTrader5 module of a terminal under Wine, reached over rpyc's
classic protocol (``python -m mt5linux`` runs that server beside the terminal).

Every call crosses with plain values only, as mt5linux itself renders its calls: the official C
extension checks argument types, and an rpyc proxy of a ``dict`` or ``datetime`` fails that check
(the call returns None with ``(-2, 'Invalid arguments')``). So arguments go as ints, floats,
strings and tuples (which rpyc copies by value), the request dict is built on the terminal's side,
and the result comes back in one transfer as JSON with the call's ``last_error()``: one round trip
per call, never one per field. Results are read here as ``Record`` objects with the official
field names. A link that breaks (the terminal or Wine restarted) is rebuilt by ``reconnect()``.
"""
import ipaddress
import json
import logging

log = logging.getLogger("mt5mesh-gateway")
# The largest reply taken from the terminal (5 000 ticks are ~0.5 MB as JSON): the terminal host
# is trusted to run our code, not to send us unbounded bytes.
MAX_REPLY_BYTES = 64 * 1024 * 1024

# Runs on the terminal host, in the rpyc server's namespace.
REMOTE_CODE = '''
import json as _mt5mesh_json
import MetaTrader5 as mt5

def _mt5mesh_plain(r, rows=False):
    if hasattr(r, "tolist"):
        r = r.tolist()
    if rows and isinstance(r, (list, tuple)):
        return [list(x) for x in r]
    if hasattr(r, "_asdict"):
        return {"__record__": dict((k, _mt5mesh_plain(v)) for k, v in r._asdict().items())}
    if isinstance(r, dict):
        return {"__record__": dict((k, _mt5mesh_plain(v)) for k, v in r.items())}
    if isinstance(r, (list, tuple)):
        return [_mt5mesh_plain(x) for x in r]
    return r

def _mt5mesh_scalar(x):
    # numpy scalars and arrays inside records; anything else as its text
    if hasattr(x, "tolist"):
        return x.tolist()
    if hasattr(x, "item"):
        return x.item()
    return str(x)

def _mt5mesh_call(fn, args, kwargs, request, rows):
    args = tuple(args)
    if request is not None:
        args = (dict(request),) + args
    r = getattr(mt5, fn)(*args, **dict(kwargs))
    return _mt5mesh_json.dumps([_mt5mesh_plain(r, rows), list(mt5.last_error()) if r is None else None],
                               default=_mt5mesh_scalar)
'''
# Calls whose result is an array of ticks: rows come back as lists, not records.
TICK_CALLS = ("copy_ticks_from", "copy_ticks_range")
# Calls whose first argument is the trade request dict.
REQUEST_CALLS = ("order_send", "order_check")


class TerminalLinkError(Exception):
    """The rpyc link to the terminal host cannot be built."""


class Record:
    """One of the official result records (TradePosition, TradeDeal, OrderSendResult...), by field
    name, built from what the terminal sent."""

    def __init__(self, fields):
        self.__dict__.update(fields)

    def _asdict(self):
        return dict(self.__dict__)

    def __repr__(self):
        return "Record(%s)" % ", ".join("%s=%r" % kv for kv in self.__dict__.items())


def records(value):
    """JSON from the terminal as Records (pure)."""
    if isinstance(value, dict):
        inner = value.get("__record__")
        return Record({k: records(v) for k, v in inner.items()}) if isinstance(inner, dict) else value
    if isinstance(value, list):
        return tuple(records(v) for v in value)
    return value


def plain(value):
    """An argument as rpyc copies it by value: builtins and tuples of them; anything else is a
    programming error here, never sent as a proxy."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    raise TypeError("not a plain value for the terminal: %s" % type(value).__name__)


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RemoteMT5:
    """The terminal's MetaTrader5 module over rpyc classic, called by value."""

    def __init__(self, host, port, allow_remote=False, timeout=30.0):
        self.host, self.port, self.allow_remote, self.timeout = host, int(port), allow_remote, float(timeout)
        self.conn = self._call = None
        self.error = (1, "Success")
        if not is_loopback(host):
            if not allow_remote:
                raise TerminalLinkError(
                    "terminal_host %s is not loopback: an rpyc classic server runs any code it is sent, so the "
                    "gateway only talks to one on this host (tunnel it, or set terminal_allow_remote if the link "
                    "is yours alone)" % host)
            log.warning("terminal: rpyc classic server on %s is not loopback; anyone who reaches it can run code on "
                        "the terminal host", host)
        self.connect()

    def connect(self):
        try:
            import rpyc  # pylint: disable=import-outside-toplevel
        except ImportError:
            raise TerminalLinkError("terminal mt5linux needs rpyc (Debian python3-rpyc)")
        self.close()
        try:
            conn = rpyc.classic.connect(self.host, self.port)
            conn._config["sync_request_timeout"] = self.timeout  # pylint: disable=protected-access
            conn.execute(REMOTE_CODE)
            self.conn, self._call = conn, conn.namespace["_mt5mesh_call"]
        except Exception as e:  # pylint: disable=broad-except
            raise TerminalLinkError("terminal mt5linux at %s:%s: %s: %s" % (self.host, self.port, type(e).__name__, e))

    def reconnect(self):
        """A new rpyc link (the terminal or Wine restarted) and initialize() on it."""
        self.connect()
        return self.initialize()

    def close(self):
        conn, self.conn, self._call = self.conn, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # pylint: disable=broad-except
                pass

    def call(self, name, *args, **kwargs):
        if self._call is None:
            raise TerminalLinkError("terminal mt5linux at %s:%s: not connected" % (self.host, self.port))
        request = None
        if name in REQUEST_CALLS:
            request, args = tuple(sorted((k, plain(v)) for k, v in args[0].items())), args[1:]
        raw = self._call(name, plain(args), tuple(sorted((k, plain(v)) for k, v in kwargs.items())), request,
                         name in TICK_CALLS)
        if not isinstance(raw, str) or len(raw) > MAX_REPLY_BYTES:
            raise TerminalLinkError("terminal mt5linux: %s: a reply that is not JSON text or too big" % name)
        value, error = json.loads(raw)
        self.error = tuple(error) if error else (1, "Success")
        return value if name in TICK_CALLS else records(value)

    def last_error(self):
        """The error of the last call, as the terminal reported it with that call's result."""
        return self.error

    def __getattr__(self, name):
        # Functions only: the gateway takes the constants from its own api module.
        if name.startswith("_") or name.isupper():
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)
