"""What both services share: config files with command-line overrides, stdout logging,
clean SIGTERM, and clear errors for ports already in use."""
import argparse
import errno
import logging
import signal
import sys
import threading

import yaml
import zmq


class ServiceError(Exception):
    """A startup problem reported as one clear line and a non-zero exit."""


def parse_args(description, defaults, add_arguments, argv=None):
    """Options come from defaults < --config FILE (YAML) < command-line flags."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", help="YAML file; its keys are the long option names with _ for -")
    parser.add_argument("--log-level", default=None)
    add_arguments(parser)
    parser.set_defaults(**{k: None for k in defaults})
    args = parser.parse_args(argv)
    merged = dict(defaults)
    if args.config:
        try:
            with open(args.config) as f:
                loaded = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as e:
            parser.error("cannot read --config %s: %s" % (args.config, e))
        if not isinstance(loaded, dict):
            parser.error("--config %s must hold a mapping" % args.config)
        unknown = sorted(set(loaded) - set(defaults) - {"log_level"})
        if unknown:
            parser.error("--config %s: unknown keys %s" % (args.config, ", ".join(unknown)))
        merged.update(loaded)
    for key, value in vars(args).items():
        if value is not None and key != "config":
            merged[key] = value
    merged.setdefault("log_level", "INFO")
    return merged


def setup_logging(name, level):
    logging.basicConfig(stream=sys.stdout, level=getattr(logging, str(level or "INFO").upper(), logging.INFO),
                        format="%(asctime)s " + name + " %(levelname)s %(message)s")
    return logging.getLogger(name)


def bind(sock, url, what):
    try:
        sock.bind(url)
    except zmq.ZMQError as e:
        if e.errno == errno.EADDRINUSE:
            raise ServiceError("%s: port already in use: %s" % (what, url))
        raise ServiceError("%s: cannot bind %s: %s" % (what, url, e))


def stop_event_on_signals():
    """An Event set by SIGTERM/SIGINT; the main loops poll it and exit 0."""
    stop = threading.Event()

    def handler(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def run(main_fn, log):
    try:
        main_fn()
    except ServiceError as e:
        log.error("%s", e)
        sys.exit(2)
    return 0
