"""`import MetaTrader5` for an rpyc classic server in the tests: the paper terminal behind the
official module's function names, so the gateway's mt5linux backend takes exactly the code path
a Wine terminal would get (rpyc.classic.connect, remote `import MetaTrader5 as mt5`, calls)."""
import os

from mt5mesh.gateway.terminal import api
from mt5mesh.gateway.terminal.paper import PaperTerminal

_terminal = PaperTerminal(os.environ.get("PAPER_SYMBOLS", "EURUSD,GBPUSD").split(","),
                          rate=float(os.environ.get("PAPER_RATE", "1000")))

initialize = _terminal.initialize
shutdown = _terminal.shutdown
last_error = _terminal.last_error
terminal_info = _terminal.terminal_info
account_info = _terminal.account_info
symbol_info = _terminal.symbol_info
symbol_select = _terminal.symbol_select
symbol_info_tick = _terminal.symbol_info_tick
copy_ticks_from = _terminal.copy_ticks_from
copy_ticks_range = _terminal.copy_ticks_range
order_check = _terminal.order_check
order_send = _terminal.order_send
positions_get = _terminal.positions_get
orders_get = _terminal.orders_get
history_deals_get = _terminal.history_deals_get

# The constants, as the real module has them.
globals().update((k, v) for k, v in vars(api).items() if k.isupper())
