"""mt5mesh-gateway: the ZeroMQ broker in front of the MetaTrader 5 terminal."""
import json
import os

import zmq

from mt5mesh.config import load
from mt5mesh.gateway import backends
from mt5mesh.gateway.broker import Broker
from mt5mesh.gateway.journal import Journal, JournalCorrupt, JournalError, cursors_from
from mt5mesh.gateway.orderlog import OrderLog, OrderLogDamaged
from mt5mesh.gateway.schema import SCHEMA, backend_kind, problems
from mt5mesh.gateway.sources import SyntheticSource
from mt5mesh.gateway.terminal import TerminalError, TerminalSource, nothing_to_close, offset_from, open_backend, \
    parse_offset
from mt5mesh.gateway.trading import Limits, Trader
from mt5mesh.service import ServiceError, notify_ready, run, setup_logging, stop_event_on_signals


def journal_dir(cfg, environ=None):
    """The journal directory, or None when it is turned off."""
    environ = os.environ if environ is None else environ
    if cfg["journal"] == "none":
        return None
    return cfg["journal"] or environ.get("STATE_DIRECTORY", "").split(":")[0] or "/var/lib/mt5mesh-gateway"


def open_journal(cfg, log):
    """(journal, loaded state or None, salvaged cursors or None) for a terminal backend;
    (None, None, None) when it is off."""
    path = journal_dir(cfg)
    if path is None:
        log.warning("journal off: a restart starts a new epoch, and order replies are kept in memory only")
        return None, None, None
    journal = Journal(path, cfg["ring_size"], segment_bytes=cfg["journal_segment_mb"] * 1024 * 1024,
                      budget_bytes=cfg["journal_max_mb"] * 1024 * 1024)
    salvaged = None
    try:
        journal.lock()
        try:
            loaded = journal.load()
        except JournalCorrupt as e:
            journal.set_aside(e)
            loaded, salvaged = None, e.cursors
    except (JournalError, OSError) as e:
        journal.close()
        raise ServiceError(str(e))
    if loaded is None:
        log.info("journal %s: new, starting a new epoch", path)
    else:
        log.info("journal %s: continuing epoch %d at seq %d (%d events)", path, loaded.epoch,
                 loaded.last_seq + 1, len(loaded.events))
    return journal, loaded, salvaged


def offset_from_journal(loaded):
    """The terminal clock's offset from UTC that the journal's newest tick shows (its ``ts`` is
    UTC, its ``time_msc`` the terminal's), as the tick source learns one; None without one (pure)."""
    if loaded is None:
        return None
    for _seq, payload in reversed(loaded.events):
        if b'"time_msc":' in payload and b'"trade":' not in payload:
            try:
                tick = json.loads(payload)
                return offset_from(tick["time_msc"], tick["ts"])
            except (ValueError, KeyError, TypeError):
                return None
    return None


def open_order_log(cfg, journal, loaded, log):
    """The order log beside the journal (in memory when the journal is off). Damage does not stop
    the gateway: it serves reads and refuses every order, and says why (status, /healthz)."""
    orders = OrderLog(journal.path if journal is not None else None, cfg["order_retention_s"])
    try:
        existed = orders.load()
    except OrderLogDamaged as e:
        log.error("order log in %s is damaged (%s): trading is stopped until it is repaired; move orders.snap and "
                  "orders.log aside to start a new one (their replies are then forgotten)", journal.path, e)
        return orders
    except OSError as e:
        raise ServiceError("order log in %s: cannot open: %s" % (journal.path, e.strerror or e))
    if orders.torn:
        log.warning("order log: cut a torn last record (%d bytes)", orders.torn)
    if not existed and loaded is not None and (loaded.replies or loaded.intents):
        # A journal from before the order log: carry its exactly-once record over, once.
        for key, reply in loaded.replies.items():
            fp, body = reply if isinstance(reply, list) and len(reply) == 2 else ("", reply)
            orders.state.replies[key] = [fp, body, orders.clock()]
        for key in loaded.intents:
            orders.state.intents[key] = orders.clock()
        orders.compact()
        log.info("order log: carried %d replies and %d intents over from the journal", len(loaded.replies),
                 len(loaded.intents))
    log.info("order log: %d replies kept (%d s), %d unknown-outcome intents", len(orders.state.replies),
             orders.retention_s, len(orders.state.intents))
    return orders


def main(argv=None):
    cfg, _args = load(__doc__, SCHEMA, argv, cross=problems)
    log = setup_logging("mt5mesh-gateway", cfg["log_level"])

    def go():
        ctx = zmq.Context.instance()
        curve = auth = None
        if cfg["curve_secret_key"]:
            from mt5mesh.security import start_curve
            auth, public, secret = start_curve(ctx, cfg["curve_secret_key"], cfg["curve_allowed_dir"] or "", log)
            curve = (public, secret)
        backend = backend_kind(cfg)
        source, close_terminal, mt5 = None, nothing_to_close, None
        journal = loaded = salvaged = None
        if backends.has_terminal(backend):
            journal, loaded, salvaged = open_journal(cfg, log)
        if backend == "synthetic":
            # The schema checked every symbol against the protocol's pattern (topics, COPY rows).
            source = SyntheticSource(cfg.symbols.split(","), cfg.rate, cfg.seed)
        elif backends.has_terminal(backend):
            try:
                mt5, close_terminal = open_backend(cfg, journal.path if journal else None)
                source = TerminalSource(backend, mt5, cfg.symbols.split(","), cfg.terminal_poll,
                                        cursors_from(loaded, cfg.symbols.split(",")) if loaded else salvaged or None,
                                        utc_offset=parse_offset(cfg.terminal_utc_offset),
                                        saved_offset=offset_from_journal(loaded))
            except TerminalError as e:
                if journal is not None:
                    journal.close()
                raise ServiceError(str(e))
            log.info("terminal %s: connected, symbols %s, clock UTC%+.2f h (%s)", backend, ", ".join(source.selected),
                     source.offset / 3600.0, source.offset_source)
        broker = Broker(cfg, ctx, source, journal, loaded)
        if mt5 is not None:
            limits = Limits((cfg.trade_symbols or cfg.symbols).split(","), cfg.max_volume, cfg.max_positions,
                            cfg.max_orders_per_s)
            orders = open_order_log(cfg, journal, loaded, log)
            broker.trader = Trader(mt5, broker.publish_trade, orders, cfg.trading, limits,
                                   allow_insecure=cfg.allow_insecure_trading)
            broker.trader.utc_offset = lambda: source.offset
            broker.trader.idle = broker.idle
            log.info("trading %s; limits %s", "ON" if cfg.trading else "off (read-only, and close_all for CURVE clients)",
                     limits.as_dict())
            if cfg.trading and not cfg.curve_secret_key:
                log.warning("--allow-insecure-trading: CURVE is off and ANY peer that reaches %s may send orders and "
                            "close_all; keep this gateway on a private network", cfg.rep)
        if cfg.health_listen != "none":
            from mt5mesh import httpd
            from mt5mesh.gateway.metrics import GatewayMetrics
            broker.metrics = GatewayMetrics()
            httpd.serve(cfg.health_listen, broker.metrics.health, broker.metrics, log)
        stop = stop_event_on_signals()
        broker.open(curve)
        broker.start_journal()
        notify_ready()
        try:
            broker.serve(stop)
        except TerminalError as e:
            raise ServiceError(str(e))  # exit 2: systemd restarts the gateway, the journal keeps its place
        finally:
            broker.close()
            if auth is not None:
                auth.stop()
            close_terminal()
            log.info("stopped: published %d ticks in epoch %d", broker.seq, broker.epoch)

    return run(go, log)


if __name__ == "__main__":
    main()
