"""The gateway's configuration schema: the one list of its settings, types, ranges and defaults
(the role template renders these keys; tests/integration/test_config_schema.py checks that)."""
import re

from mt5mesh.config import HOST_PORT, LEVELS, ZMQ_URL, Option
from mt5mesh.gateway import backends
from mt5mesh.wire import protocol

SYMBOLS = re.compile(r"%s(,%s)*" % (protocol.SYMBOL_RE.pattern, protocol.SYMBOL_RE.pattern))

SCHEMA = (
    Option("rep", str, "tcp://*:%d" % protocol.DEFAULT_REP_PORT, "REQ/REP bind URL", pattern=ZMQ_URL, what="a ZeroMQ bind URL"),
    Option("pub", str, "tcp://*:%d" % protocol.DEFAULT_PUB_PORT, "PUB bind URL", pattern=ZMQ_URL, what="a ZeroMQ bind URL"),
    Option("pull", str, "tcp://*:%d" % protocol.DEFAULT_PULL_PORT, "PULL bind URL for --source pull", pattern=ZMQ_URL,
           what="a ZeroMQ bind URL"),
    Option("legacy_pub", str, None, "also publish each tick as one JSON frame {type: TICK, symbol, bid, ask, time} "
           "for existing action-dialect clients (off by default)", pattern=ZMQ_URL, what="a ZeroMQ bind URL", optional=True),
    Option("health_listen", str, "none", "HOST:PORT for /healthz and /metrics (Prometheus), e.g. 127.0.0.1:9120; "
           "none is off (the role turns it on)",
           pattern=re.compile(r"none|%s" % HOST_PORT.pattern), what="HOST:PORT or none"),
    Option("terminal", str, "synthetic", backends.help_text(), choices=backends.NAMES),
    Option("source", str, "synthetic", "deprecated: --source pull is --terminal ea", choices=("synthetic", "pull")),
    Option("terminal_host", str, "127.0.0.1", "mt5linux: rpyc classic server host (loopback only by default)",
           pattern=re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]{0,252}"), what="a host name or address"),
    Option("terminal_port", int, 18812, "mt5linux: rpyc classic server port", low=1, high=65535),
    Option("terminal_allow_remote", bool, False, "mt5linux: allow a non-loopback rpyc server (it runs any code)"),
    Option("terminal_utc_offset", str, None, "the terminal's clock (its trade server's) against UTC, as seconds "
           "(7200) or +HH:MM; unset, it is learned from the newest tick (docs/terminals.md)", optional=True,
           pattern=re.compile(r"[+-]?\d{1,5}|[+-]\d{1,2}:[0-5]\d"), what="seconds or +HH:MM"),
    Option("terminal_poll", float, 0.01, "seconds between copy_ticks_from rounds", low=0.001, high=5),
    Option("paper_balance", float, 10000.0, "paper terminal: starting balance", low=0, high=1e12),
    Option("paper_leverage", int, 100, "paper terminal: leverage", low=1, high=10000),
    Option("paper_slippage", int, 0, "paper terminal: slippage in points on market fills", low=0, high=10000),
    Option("paper_burst", int, 4, "paper terminal: ticks that share one millisecond", low=1, high=1000),
    Option("symbols", str, "EURUSD,GBPUSD,USDJPY,XAUUSD", "comma-separated symbols for --source synthetic",
           pattern=SYMBOLS, what="comma-separated symbols of 1-32 characters from A-Z a-z 0-9 . _ # -"),
    Option("rate", float, 100.0, "synthetic ticks per second", low=0.001, high=1000000),
    Option("seed", int, 42, "synthetic random-walk seed", low=0, high=2 ** 32),
    Option("heartbeat", float, 1.0, "heartbeat interval, seconds", low=0.01, high=60),
    Option("ring_size", int, 200000, "events kept for replay", low=1, high=10000000),
    Option("pub_hwm", int, 50000, "PUB send high-water mark per subscriber", low=1, high=10000000),
    Option("journal", str, None, "terminal backends: journal directory (ring, cursors, order replies) so a restart "
           "keeps the epoch; default $STATE_DIRECTORY or /var/lib/mt5mesh-gateway; 'none' turns it off", optional=True,
           pattern=re.compile(r"none|/[^\x00\n]{0,4000}|[^/\x00\n][^\x00\n]{0,4000}"), what="a directory or none"),
    Option("trading", bool, False, "accept order_send/order_close (read-only commands always work; close_all from "
           "an authenticated CURVE client always works)"),
    Option("allow_insecure_trading", bool, False, "without CURVE, let anonymous peers trade (order_send, order_close, "
           "close_all) when --trading is on: a private network or a lab only. --trading without CURVE needs it"),
    Option("order_retention_s", int, 86400, "seconds an order's reply is kept for exactly-once retries (by time, never "
           "by count)", low=86400, high=90 * 86400),
    Option("journal_segment_mb", int, 32, "MiB of events after which the journal starts a new segment", low=1,
           high=4096),
    Option("journal_max_mb", int, 2048, "the journal directory's budget in MiB: past it the oldest tick segments go "
           "(the order log is never cut)", low=64, high=10 ** 7),
    Option("trade_symbols", str, "", "symbols allowed to trade (comma-separated; empty: the gateway's symbols)",
           pattern=re.compile(r"|%s" % SYMBOLS.pattern), what="empty or comma-separated symbols"),
    Option("max_volume", float, 10.0, "largest volume of one order (lots)", low=0.01, high=1e6),
    Option("max_positions", int, 50, "open positions at most; order_send is refused beyond", low=1, high=1000000),
    Option("max_orders_per_s", int, 10, "order_send/order_close per second at most", low=1, high=100000),
    Option("curve_secret_key", str, None, "server secret key file (zmq.auth format); enables CURVE", optional=True),
    Option("curve_allowed_dir", str, None, "directory of allowed client public key files", optional=True),
    Option("log_level", str, "INFO", "log level", choices=LEVELS),
)


def problems(cfg):
    """What is wrong with a valid config as a whole (pure): one message, or None."""
    from mt5mesh.gateway.terminal import parse_offset  # pylint: disable=import-outside-toplevel
    try:
        parse_offset(cfg.get("terminal_utc_offset"))
    except ValueError as e:
        return str(e)
    if cfg.get("trading") and not cfg.get("curve_secret_key") and not cfg.get("allow_insecure_trading"):
        return ("trading: --trading without CURVE (curve_secret_key) would let any peer that reaches the REP port "
                "trade; configure CURVE, or pass --allow-insecure-trading on a private network")
    return None


def backend_kind(cfg):
    """What feeds the gateway, from its config: 'ea' (an Expert Advisor pushes to PULL; the
    deprecated --source pull says the same) or the --terminal backend. The one place this is
    decided: main picks the backend by it, the broker reports it."""
    return "ea" if cfg.get("source") == "pull" else cfg.get("terminal", "synthetic")
