"""Typed, validated service configuration: one schema per service, three layers.

A schema is a tuple of ``Option``s. ``load()`` builds the command line from it (so ``--help``
shows the real defaults), merges defaults < ``--config`` YAML < flags, and ``validate()`` (pure)
checks every value once at start: a bad one is one line naming the key, the value and what is
allowed, and the service exits 2 before it touches anything. The result is a frozen ``Config``.
"""
import argparse
import math
import re
from dataclasses import dataclass
from typing import Any, Optional

import yaml

HOST_PORT = re.compile(r"\[?[A-Za-z0-9.:*_-]+\]?:\d{1,5}")
ZMQ_URL = re.compile(r"(tcp://\[?[A-Za-z0-9.:*_-]+\]?:\d{1,5}|ipc://\S+|inproc://\S+)")
URL = re.compile(r"(redis|rediss|unix)://\S+")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(Exception):
    """One or more invalid settings; the message names each key, value and what is allowed."""


@dataclass(frozen=True)
class Option:
    name: str
    type_: type          # int, float, str or bool
    default: object
    help: str
    low: Optional[float] = None    # inclusive bounds for numbers
    high: Optional[float] = None
    choices: Optional[tuple[Any, ...]] = None
    pattern: Optional[re.Pattern[str]] = None  # compiled regex a string must fully match
    what: str = ""       # the pattern in words, for the error
    optional: bool = False  # None allowed (unset)
    secret: bool = False    # never echoed in an error

    def allowed(self):
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.type_ in (int, float):
            word = "an integer" if self.type_ is int else "a number"
            return "%s from %s to %s" % (word, self.low, self.high) if self.high is not None else \
                "%s >= %s" % (word, self.low) if self.low is not None else word
        if self.pattern is not None:
            return self.what or "a string matching %s" % self.pattern.pattern
        return "a string" if self.type_ is str else "true or false"


def _coerce(opt, value):
    """The value as opt.type_, or raise ValueError. No silent truncation: 1.5 is not an int."""
    if opt.type_ is bool:
        if isinstance(value, bool):
            return value
        raise ValueError
    if opt.type_ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError
        return value
    if opt.type_ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError
        return float(value)
    if not isinstance(value, str) or "\n" in value or "\x00" in value:
        raise ValueError
    return value


def check(opt, value):
    """The checked value, or raise ConfigError naming the key, the value and what is allowed."""
    if value is None and opt.optional:
        return None
    shown = "***" if opt.secret else repr(value)[:80]
    try:
        value = _coerce(opt, value)
    except ValueError:
        raise ConfigError("%s: %s is not %s" % (opt.name, shown, opt.allowed()))
    bad = ((opt.choices is not None and value not in opt.choices)
           or (opt.low is not None and value < opt.low) or (opt.high is not None and value > opt.high)
           or (opt.pattern is not None and not opt.pattern.fullmatch(value)))
    if bad:
        raise ConfigError("%s: %s is not %s" % (opt.name, shown, opt.allowed()))
    return value


class Config:
    """Frozen settings: attribute or item access (``cfg.rate``, ``cfg["rate"]``)."""

    def __init__(self, values):
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name)

    def __getitem__(self, name):
        return self._values[name]

    def get(self, name, default=None):
        return self._values.get(name, default)

    def __setattr__(self, name, value):
        raise AttributeError("Config is frozen")

    def as_dict(self):
        return dict(self._values)


def validate(schema, values):
    """Pure: a Config from raw values (defaults filled in), or ConfigError listing every problem."""
    known = {o.name: o for o in schema}
    errors = ["unknown key %r (known: %s)" % (k, ", ".join(sorted(known))) for k in sorted(set(values) - set(known))]
    out = {}
    for opt in schema:
        try:
            out[opt.name] = check(opt, values.get(opt.name, opt.default))
        except ConfigError as e:
            errors.append(str(e))
    if errors:
        raise ConfigError("; ".join(errors))
    return Config(out)


def _flag_type(opt):
    if opt.type_ is bool:
        return None
    return opt.type_


def build_parser(description, schema, extra=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", help="YAML file; its keys are the long option names with _ for -")
    for opt in schema:
        flag = "--" + opt.name.replace("_", "-")
        shown = "unset" if opt.default is None else "(secret)" if opt.secret else opt.default
        text = "%s [%s]" % (opt.help, opt.allowed())
        if opt.type_ is bool:
            parser.add_argument(flag, action="store_const", const=True, default=None, help="%s (default: %s)" % (text, shown))
        else:
            parser.add_argument(flag, type=_flag_type(opt), default=None, metavar=opt.name.upper(),
                                help="%s (default: %s)" % (text, shown))
    if extra:
        extra(parser)
    return parser


def load(description, schema, argv=None, extra=None, cross=None):
    """(Config, argparse namespace). Defaults < --config YAML < flags; exits 2 on a bad value,
    or when ``cross(config)`` (settings that are wrong together) returns a message."""
    parser = build_parser(description, schema, extra)
    args = parser.parse_args(argv)
    values: dict[str, Any] = {}
    if args.config:
        try:
            with open(args.config) as f:
                loaded = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as e:
            parser.error("cannot read --config %s: %s" % (args.config, e))
        if not isinstance(loaded, dict):
            parser.error("--config %s must hold a mapping" % args.config)
        values.update(loaded)
    names = {o.name for o in schema}
    values.update({k: v for k, v in vars(args).items() if k in names and v is not None})
    try:
        cfg = validate(schema, values)
    except ConfigError as e:
        parser.exit(2, "%s: invalid configuration: %s\n" % (parser.prog, e))
    problem = cross(cfg) if cross is not None else None
    if problem:
        parser.exit(2, "%s: invalid configuration: %s\n" % (parser.prog, problem))
    return cfg, args
