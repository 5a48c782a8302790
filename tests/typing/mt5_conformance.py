"""Checked by mypy against metatrader5-stubs (tests/typing/run.sh, in make test): the paper
terminal takes the official MetaTrader5 names, argument order and keywords, and the calls the
gateway makes are valid for the official package. Every call below is made twice, on the stubbed
official module and on the paper terminal: a renamed keyword or a reordered (typed) argument in
either fails mypy. The stubs do not cover account_info, symbol_info, copy_ticks_*, order_check
or history_deals_get; those follow the official documentation (api.py)."""
import MetaTrader5 as mt5

from mt5mesh.gateway.terminal import api
from mt5mesh.gateway.terminal.paper import PaperTerminal

REQUEST: mt5.TradeRequest = {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                             "type": mt5.ORDER_TYPE_BUY, "deviation": 10, "magic": 1, "comment": "x", "position": 7}


def same_calls_on_both(p: PaperTerminal) -> None:
    mt5.initialize("C:/terminal64.exe", login=1, password="pw", server="Demo", timeout=1000, portable=False)
    p.initialize("C:/terminal64.exe", login=1, password="pw", server="Demo", timeout=1000, portable=False)
    mt5.shutdown()
    p.shutdown()
    code: int
    text: str
    code, text = mt5.last_error()
    code, text = p.last_error()
    ok: bool = mt5.symbol_select("EURUSD", True)
    ok = p.symbol_select("EURUSD", True)
    ok = mt5.symbol_select(symbol="EURUSD", enable=False)
    ok = p.symbol_select(symbol="EURUSD", enable=False)
    mt5.symbol_info_tick("EURUSD")
    p.symbol_info_tick("EURUSD")
    mt5.symbol_info_tick(symbol="EURUSD")
    p.symbol_info_tick(symbol="EURUSD")
    mt5.positions_get(symbol="EURUSD", group="*USD*", ticket=7)
    p.positions_get(symbol="EURUSD", group="*USD*", ticket=7)
    total: int = mt5.positions_total()
    total = p.positions_total()
    del total
    mt5.orders_get(symbol="EURUSD", group="*USD*", ticket=7)
    p.orders_get(symbol="EURUSD", group="*USD*", ticket=7)
    mt5.order_send(REQUEST)
    p.order_send(dict(REQUEST))
    mt5.order_send(request=REQUEST)
    p.order_send(request=dict(REQUEST))
    mt5.terminal_info()
    p.terminal_info()
    del ok, code, text


def records_have_the_official_fields(t: mt5.Tick, pos: mt5.TradePosition, res: mt5.OrderSendResult,
                                     info: mt5.TerminalInfo) -> None:
    # Our records built from the official ones, field by field in the official order.
    api.Tick(*t)
    api.TradePosition(*pos)
    api.TerminalInfo(*info)
    api.OrderSendResult(res.retcode, res.deal, res.order, res.volume, res.price, res.bid, res.ask, res.comment,
                        res.request_id, res.retcode_external, dict(res.request))


def constants_agree() -> None:
    assert (mt5.COPY_TICKS_ALL, mt5.TRADE_RETCODE_DONE, mt5.ORDER_TYPE_SELL, mt5.TRADE_ACTION_DEAL,
            mt5.TRADE_RETCODE_NO_MONEY, mt5.TRADE_RETCODE_INVALID_VOLUME, mt5.TRADE_RETCODE_MARKET_CLOSED) == (
        api.COPY_TICKS_ALL, api.TRADE_RETCODE_DONE, api.ORDER_TYPE_SELL, api.TRADE_ACTION_DEAL,
        api.TRADE_RETCODE_NO_MONEY, api.TRADE_RETCODE_INVALID_VOLUME, api.TRADE_RETCODE_MARKET_CLOSED)
