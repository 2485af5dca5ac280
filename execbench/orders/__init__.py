"""Stage 2, orders: every bar an order origin (order windows), date splits, and the causal regime at
each origin."""

from execbench.orders.batches import DEFAULT_CHUNK, independent_batches, strategy_calls
from execbench.orders.regimes import volatility_regimes
from execbench.orders.split import DateSplit, default_split, make_split, to_utc, training_bars
from execbench.orders.windows import (
    DEFAULT_ORDER_SIZE,
    SIZE_LOOKBACK,
    MarketSeries,
    OrderWindows,
    build_order_windows,
)

__all__ = ["DEFAULT_CHUNK", "independent_batches", "strategy_calls", "DEFAULT_ORDER_SIZE", "SIZE_LOOKBACK", "DateSplit", "MarketSeries", "OrderWindows", "build_order_windows",
           "default_split", "make_split", "to_utc", "training_bars", "volatility_regimes"]
