"""The MetaTrader5 Python API surface the gateway uses: constants and result records with the
official names, fields and order (those in metatrader5-stubs are checked against them by mypy in
`make test`; the stubs do not cover account_info, symbol_info, copy_ticks_*, order_check or
history_deals_get, whose shapes follow the official documentation).
"""
from typing import Any, NamedTuple

COPY_TICKS_ALL = -1
COPY_TICKS_INFO = 1
COPY_TICKS_TRADE = 2
TICK_FLAG_BID = 0x02
TICK_FLAG_ASK = 0x04
ORDER_TYPE_BUY = 0
ORDER_TYPE_SELL = 1
POSITION_TYPE_BUY = 0
POSITION_TYPE_SELL = 1
DEAL_TYPE_BUY = 0
DEAL_TYPE_SELL = 1
DEAL_ENTRY_IN = 0
DEAL_ENTRY_OUT = 1
TRADE_ACTION_DEAL = 1
ORDER_FILLING_FOK = 0
ORDER_FILLING_IOC = 1
ORDER_FILLING_RETURN = 2
# symbol_info().filling_mode is a bitmask of these (SYMBOL_FILLING_*), not ORDER_FILLING_* values.
SYMBOL_FILLING_FOK = 1
SYMBOL_FILLING_IOC = 2
# symbol_info().trade_exemode (ENUM_SYMBOL_TRADE_EXECUTION).
SYMBOL_TRADE_EXECUTION_REQUEST = 0
SYMBOL_TRADE_EXECUTION_INSTANT = 1
SYMBOL_TRADE_EXECUTION_MARKET = 2
SYMBOL_TRADE_EXECUTION_EXCHANGE = 3
# ENUM_DEAL_TYPE and ENUM_DEAL_ENTRY, by value, as the gateway names them in replies and events.
DEAL_TYPE_NAMES = ("buy", "sell", "balance", "credit", "charge", "correction", "bonus", "commission",
                   "commission_daily", "commission_monthly", "commission_agent_daily", "commission_agent_monthly",
                   "interest", "buy_canceled", "sell_canceled", "dividend", "dividend_franked", "tax")
DEAL_ENTRY_NAMES = ("in", "out", "inout", "out_by")
ORDER_TIME_GTC = 0
SYMBOL_TRADE_MODE_DISABLED = 0
SYMBOL_TRADE_MODE_FULL = 4
ACCOUNT_TRADE_MODE_DEMO = 0
RES_S_OK = 1
RES_E_FAIL = -1
RES_E_INVALID_PARAMS = -2
RES_E_NOT_FOUND = -4
RES_E_INTERNAL_FAIL_INIT = -10003

# order_send / order_check return codes (TRADE_RETCODE_*), as MT5 numbers them.
TRADE_RETCODE_REQUOTE = 10004
TRADE_RETCODE_REJECT = 10006
TRADE_RETCODE_PLACED = 10008
TRADE_RETCODE_DONE = 10009
TRADE_RETCODE_DONE_PARTIAL = 10010
TRADE_RETCODE_ERROR = 10011
TRADE_RETCODE_TIMEOUT = 10012
TRADE_RETCODE_INVALID = 10013
TRADE_RETCODE_INVALID_VOLUME = 10014
TRADE_RETCODE_INVALID_PRICE = 10015
TRADE_RETCODE_INVALID_STOPS = 10016
TRADE_RETCODE_TRADE_DISABLED = 10017
TRADE_RETCODE_MARKET_CLOSED = 10018
TRADE_RETCODE_NO_MONEY = 10019
TRADE_RETCODE_PRICE_CHANGED = 10020
TRADE_RETCODE_PRICE_OFF = 10021
TRADE_RETCODE_CONNECTION = 10031
TRADE_RETCODE_POSITION_CLOSED = 10036
RETCODE_NAMES = {v: k for k, v in list(globals().items()) if k.startswith("TRADE_RETCODE_")}


class Tick(NamedTuple):
    time: int
    bid: float
    ask: float
    last: float
    volume: int
    time_msc: int
    flags: int
    volume_real: float


class TerminalInfo(NamedTuple):
    community_account: bool
    community_connection: bool
    connected: bool
    dlls_allowed: bool
    trade_allowed: bool
    tradeapi_disabled: bool
    email_enabled: bool
    ftp_enabled: bool
    notifications_enabled: bool
    mqid: bool
    build: int
    maxbars: int
    codepage: int
    ping_last: int
    community_balance: float
    retransmission: float
    company: str
    name: str
    language: str
    path: str
    data_path: str
    commondata_path: str


class AccountInfo(NamedTuple):
    login: int
    trade_mode: int
    leverage: int
    limit_orders: int
    margin_so_mode: int
    trade_allowed: bool
    trade_expert: bool
    margin_mode: int
    currency_digits: int
    fifo_close: bool
    balance: float
    credit: float
    profit: float
    equity: float
    margin: float
    margin_free: float
    margin_level: float
    margin_so_call: float
    margin_so_so: float
    margin_initial: float
    margin_maintenance: float
    assets: float
    liabilities: float
    commission_blocked: float
    name: str
    server: str
    currency: str
    company: str


class SymbolInfo(NamedTuple):
    name: str
    select: bool
    visible: bool
    digits: int
    point: float
    trade_contract_size: float
    trade_mode: int
    volume_min: float
    volume_max: float
    volume_step: float
    bid: float
    ask: float
    currency_base: str
    currency_profit: str
    description: str
    # Not in every terminal's record order, but always present: how orders on it are executed
    # and filled (a terminal that left them out would be a Market symbol taking FOK or IOC).
    trade_exemode: int = SYMBOL_TRADE_EXECUTION_MARKET
    filling_mode: int = SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC


class TradePosition(NamedTuple):
    ticket: int
    time: int
    time_msc: int
    time_update: int
    time_update_msc: int
    type: int
    magic: int
    identifier: int
    reason: int
    volume: float
    price_open: float
    sl: float
    tp: float
    price_current: float
    swap: float
    profit: float
    symbol: str
    comment: str
    external_id: str


class TradeDeal(NamedTuple):
    ticket: int
    order: int
    time: int
    time_msc: int
    type: int
    entry: int
    magic: int
    position_id: int
    reason: int
    volume: float
    price: float
    commission: float
    swap: float
    profit: float
    fee: float
    symbol: str
    comment: str
    external_id: str


class OrderSendResult(NamedTuple):
    retcode: int
    deal: int
    order: int
    volume: float
    price: float
    bid: float
    ask: float
    comment: str
    request_id: int
    retcode_external: int
    request: dict[str, Any]


class OrderCheckResult(NamedTuple):
    retcode: int
    balance: float
    equity: float
    profit: float
    margin: float
    margin_free: float
    margin_level: float
    comment: str
    request: dict[str, Any]
