"""What can feed a gateway, named once. The config schema's choices and help, the broker's
messages and the terminal openers are derived from this table; the role's argument spec and
preflight cannot import it, so tests/runtime/test_backends.py checks that they list the same names.
"""
from typing import NamedTuple


class Backend(NamedTuple):
    name: str
    terminal: bool  # the MetaTrader5 API is behind it: account and trading commands work
    what: str       # one line, for --help and the docs


REGISTRY = (
    Backend("synthetic", False, "a random walk, for benchmarks"),
    Backend("ea", False, "an Expert Advisor pushes ticks to PULL"),
    Backend("paper", True, "the paper terminal in this runtime"),
    Backend("metatrader5", True, "the official MetaTrader5 package (Windows)"),
    Backend("mt5linux", True, "a terminal under Wine, over rpyc's classic protocol"),
)
NAMES = tuple(b.name for b in REGISTRY)
TERMINALS = tuple(b.name for b in REGISTRY if b.terminal)


def help_text():
    return "what feeds the gateway: " + "; ".join("%s (%s)" % (b.name, b.what) for b in REGISTRY)


def terminals_in_words():
    """"paper, metatrader5 or mt5linux": the backends with a terminal, for messages."""
    return "%s or %s" % (", ".join(TERMINALS[:-1]), TERMINALS[-1])


def has_terminal(name):
    return name in TERMINALS
