"""mt5mesh runtime: the gateway broker (GTW) and the nexus sync daemon (INF)."""

__version__ = "0.1.0"
