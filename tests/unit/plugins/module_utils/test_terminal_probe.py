"""The verify's terminal and trading checks read what the gateway's status says about a broker's
terminal: its clock against UTC and its AutoTrading button (docs/terminals.md)."""
from ansible_collections.mt5crs.mesh.plugins.module_utils import gateway_probes

TERMINAL = {"name": "mt5linux", "connected": True, "account_known": True, "login": 5200001, "symbols": ["EURUSD"],
            "errors": 0, "autotrading": True, "utc_offset_s": 7200, "utc_offset_source": "learned"}


def status(monkeypatch, terminal, trading=None):
    reply = {"ok": True, "terminal": terminal, "trading": trading}
    monkeypatch.setattr(gateway_probes, "_gateway_status", lambda *a, **kw: (reply, None))


def test_the_terminal_check_names_the_learned_clock_and_autotrading(monkeypatch):
    status(monkeypatch, TERMINAL)
    got = gateway_probes.gateway_terminal(None, "127.0.0.1")
    want = "terminal mt5linux connected, account 5200001, symbols EURUSD; clock UTC+2.00 h (learned); AutoTrading on"
    assert got["ok"] and got["detail"] == want


def test_trading_on_with_autotrading_off_fails_naming_the_retcode_every_order_would_get(monkeypatch):
    status(monkeypatch, dict(TERMINAL, autotrading=False), {"enabled": True, "limits": {}})
    got = gateway_probes.gateway_trading(None, "127.0.0.1", expect_trading=True)
    assert not got["ok"] and "AutoTrading is off: every order gets 10027" in got["detail"]
    status(monkeypatch, dict(TERMINAL, autotrading=False), {"enabled": False, "limits": {}})
    assert gateway_probes.gateway_trading(None, "127.0.0.1", expect_trading=False)["ok"]
