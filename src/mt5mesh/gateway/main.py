"""mt5mesh-gateway: the ZeroMQ broker in front of the MetaTrader 5 terminal."""
import zmq

from mt5mesh.config import load
from mt5mesh.gateway.broker import Broker
from mt5mesh.gateway.schema import SCHEMA
from mt5mesh.gateway.sources import SyntheticSource
from mt5mesh.gateway.terminal import TerminalError, TerminalSource, open_backend
from mt5mesh.service import ServiceError, run, setup_logging, stop_event_on_signals


def _nothing():
    """Closing a backend that holds no connection."""


def main(argv=None):
    cfg, _args = load(__doc__, SCHEMA, argv)
    log = setup_logging("mt5mesh-gateway", cfg["log_level"])

    def go():
        ctx = zmq.Context.instance()
        curve = auth = None
        if cfg["curve_secret_key"]:
            from mt5mesh.security import start_curve
            auth, public, secret = start_curve(ctx, cfg["curve_secret_key"], cfg["curve_allowed_dir"] or "", log)
            curve = (public, secret)
        kind = "ea" if cfg.source == "pull" else cfg.terminal
        source, close_terminal = None, _nothing
        if kind == "synthetic":
            # The schema checked every symbol against the protocol's pattern (topics, COPY rows).
            source = SyntheticSource(cfg.symbols.split(","), cfg.rate, cfg.seed)
        elif kind != "ea":
            try:
                mt5, close_terminal = open_backend(cfg)
                source = TerminalSource(kind, mt5, cfg.symbols.split(","), cfg.terminal_poll)
            except TerminalError as e:
                raise ServiceError(str(e))
            log.info("terminal %s: connected, symbols %s", kind, ", ".join(source.selected))
        broker = Broker(cfg, ctx, source, kind)
        stop = stop_event_on_signals()
        broker.open(curve)
        try:
            broker.serve(stop)
        finally:
            broker.close()
            if auth is not None:
                auth.stop()
            close_terminal()
            log.info("stopped: published %d ticks in epoch %d", broker.seq, broker.epoch)

    return run(go, log)


if __name__ == "__main__":
    main()
