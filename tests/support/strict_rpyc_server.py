"""Serve a StrictTerminal over rpyc's classic protocol on 127.0.0.1, as `python -m mt5linux`
serves the real MetaTrader5 module under Wine: a client does ``rpyc.classic.connect(host, port)``,
``conn.execute('import MetaTrader5 as mt5')`` and calls ``mt5.<function>(...)``.

    strict_rpyc_server.py PORT [--offset 7200] [--latency 0.05,0.1] [--netting] [--balance 10000]
                               [--placed-delay 0] [--list-ticks] [--rate 2] [--anchor T]

PORT 0 takes a free port. The server prints "port N" on stdout once it listens. The defaults are
the acceptance profile: EURUSD Instant FOK only, GBPUSD Market IOC only, USDJPY Market FOK or IOC,
a UTC+2 server clock, 50-100 ms per order_send, a 10000 USD deposit as a BALANCE deal. Options
can also come from the environment: STRICT_OFFSET, STRICT_LATENCY, STRICT_NETTING=1,
STRICT_BALANCE, STRICT_PLACED_DELAY. The terminal itself is ``MetaTrader5.terminal`` on the
server (a classic client can flip its switches: ``conn.modules.MetaTrader5.terminal.autotrading``).
"""
import argparse
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "src"))

from rpyc.core.service import SlaveService  # noqa: E402
from rpyc.utils.server import ThreadedServer  # noqa: E402

from mt5mesh.gateway.terminal import api, strict  # noqa: E402

FUNCTIONS = ("initialize", "shutdown", "last_error", "symbol_info", "symbol_select", "symbol_info_tick",
             "copy_ticks_from", "copy_ticks_range", "terminal_info", "account_info", "positions_get",
             "positions_total", "orders_get", "history_deals_get", "order_check", "order_send")


def module_for(terminal):
    """A `MetaTrader5` module: the terminal's functions and the official constants."""
    mod = types.ModuleType("MetaTrader5")
    for source in (api, strict):
        for name, value in vars(source).items():
            if name.isupper() and isinstance(value, int):
                setattr(mod, name, value)
    for name in FUNCTIONS:
        setattr(mod, name, getattr(terminal, name))
    mod.terminal = terminal
    mod.__version__ = "5.0.45"
    return mod


def parse(argv):
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("port", type=int)
    p.add_argument("--offset", type=int, default=int(env("STRICT_OFFSET", "7200")), help="server clock - UTC, seconds")
    p.add_argument("--latency", default=env("STRICT_LATENCY", "0.05,0.1"), help="order_send latency lo,hi seconds")
    p.add_argument("--netting", action="store_true", default=env("STRICT_NETTING") == "1")
    p.add_argument("--balance", type=float, default=float(env("STRICT_BALANCE", "10000")))
    p.add_argument("--placed-delay", type=float, default=float(env("STRICT_PLACED_DELAY", "0")))
    p.add_argument("--list-ticks", action="store_true", help="copy_ticks_* return Tick lists, not numpy arrays")
    p.add_argument("--rate", type=float, default=float(env("STRICT_RATE", "2")), help="ticks a second per symbol")
    p.add_argument("--anchor", type=float, default=None,
                   help="UTC seconds the tick history starts from: a restart with the same anchor has the same ticks")
    return p.parse_args(argv)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    lo, hi = (float(x) for x in args.latency.split(","))
    terminal = strict.StrictTerminal(
        server_offset=args.offset, latency=(lo, hi), balance=args.balance, placed_delay=args.placed_delay,
        margin_mode=(strict.ACCOUNT_MARGIN_MODE_RETAIL_NETTING if args.netting
                     else strict.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING),
        numpy_ticks=not args.list_ticks, rate=args.rate, anchor=args.anchor)  # the official module returns numpy arrays
    sys.modules["MetaTrader5"] = module_for(terminal)
    # As rpyc_classic serves (the server mt5linux runs): SlaveService, its default protocol config.
    server = ThreadedServer(SlaveService, hostname="127.0.0.1", port=args.port, reuse_addr=True)
    print("port %d" % server.port, flush=True)
    server.start()


if __name__ == "__main__":
    main()
