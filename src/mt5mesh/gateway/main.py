"""mt5mesh-gateway: the ZeroMQ broker in front of the MetaTrader 5 terminal."""
import zmq

from mt5mesh.gateway.broker import Broker
from mt5mesh.gateway.sources import SyntheticSource
from mt5mesh.service import ServiceError, parse_args, run, setup_logging, stop_event_on_signals
from mt5mesh.wire import protocol

DEFAULTS = {
    "rep": "tcp://*:%d" % protocol.DEFAULT_REP_PORT,
    "pub": "tcp://*:%d" % protocol.DEFAULT_PUB_PORT,
    "pull": "tcp://*:%d" % protocol.DEFAULT_PULL_PORT,
    "source": "synthetic",
    "symbols": "EURUSD,GBPUSD,USDJPY,XAUUSD",
    "rate": 100.0,
    "seed": 42,
    "heartbeat": 1.0,
    "ring_size": 200000,
    "pub_hwm": 50000,
    "curve_secret_key": None,
    "curve_allowed_dir": None,
}


def add_arguments(p):
    p.add_argument("--rep", help="REQ/REP bind URL (default %(default)s)")
    p.add_argument("--pub", help="PUB bind URL")
    p.add_argument("--pull", help="PULL bind URL for --source pull")
    p.add_argument("--source", choices=["synthetic", "pull"])
    p.add_argument("--symbols", help="comma-separated symbols for --source synthetic")
    p.add_argument("--rate", type=float, help="synthetic ticks per second")
    p.add_argument("--seed", type=int, help="synthetic random-walk seed")
    p.add_argument("--heartbeat", type=float, help="heartbeat interval, seconds")
    p.add_argument("--ring-size", type=int, help="events kept for replay")
    p.add_argument("--pub-hwm", type=int, help="PUB send high-water mark per subscriber")
    p.add_argument("--curve-secret-key", help="server secret key file (zmq.auth format); enables CURVE")
    p.add_argument("--curve-allowed-dir", help="directory of allowed client public key files")


def main(argv=None):
    cfg = parse_args(__doc__, DEFAULTS, add_arguments, argv)
    log = setup_logging("mt5mesh-gateway", cfg["log_level"])

    def go():
        if float(cfg["heartbeat"]) <= 0 or int(cfg["ring_size"]) < 1:
            raise ServiceError("heartbeat must be > 0 and ring_size >= 1")
        ctx = zmq.Context.instance()
        curve = auth = None
        if cfg["curve_secret_key"]:
            from mt5mesh.security import start_curve
            auth, public, secret = start_curve(ctx, cfg["curve_secret_key"], cfg["curve_allowed_dir"] or "", log)
            curve = (public, secret)
        source = None
        if cfg["source"] == "synthetic":
            symbols = [s.strip() for s in str(cfg["symbols"]).split(",") if s.strip()]
            bad = [s for s in symbols if not protocol.valid_symbol(s)]
            if bad or not symbols:
                raise ServiceError("symbols must be 1-32 characters from A-Z a-z 0-9 . _ # -, got %r"
                                   % (bad or cfg["symbols"]))
            source = SyntheticSource(symbols, float(cfg["rate"]), int(cfg["seed"]))
        broker = Broker(cfg, ctx, source)
        stop = stop_event_on_signals()
        broker.open(curve)
        try:
            broker.serve(stop)
        finally:
            broker.close()
            if auth is not None:
                auth.stop()
            log.info("stopped: published %d ticks in epoch %d", broker.seq, broker.epoch)

    return run(go, log)


if __name__ == "__main__":
    main()
