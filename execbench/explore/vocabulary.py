"""The words ``execbench ask`` understands: names, synonyms and the metrics' meanings (no model, no
network: a fixed vocabulary plus fuzzy matching of names with ``difflib``)."""

from __future__ import annotations

# built-in strategy → phrases that name it (the registry name always counts too)
STRATEGY_WORDS = {
    "twap": ["twap", "time weighted", "time-weighted", "uniform schedule"],
    "vwap": ["static vwap", "vwap curve", "vwap strategy", "historical vwap"],
    "dvwap": ["dvwap", "dynamic vwap", "adaptive vwap"],
    "pov": ["pov", "percentage of volume", "percent of volume", "participation strategy"],
    "ac": ["almgren chriss", "almgren-chriss", "almgren", "ac"],
    "flex": ["flex", "flexible heuristic", "heuristic"],
    "optstop": ["optstop", "optimal stopping", "stopping policy"],
    "lem": ["lem", "large execution model", "lems", "execution model"],
    "ppo": ["ppo", "reinforcement learning", "rl agent", "proximal policy"],
    "flow": ["flow", "flow matching", "flow-matching", "flowoe"],
    "meta": ["meta", "meta-strategy", "meta strategy", "ensemble"],
}

ASSET_WORDS = {
    "BTCUSDT": ["btc", "bitcoin", "xbt"],
    "ETHUSDT": ["eth", "ether", "ethereum"],
    "BNBUSDT": ["bnb", "binance coin"],
    "XRPUSDT": ["xrp", "ripple"],
    "ADAUSDT": ["ada", "cardano"],
}

# metric → (column, direction, phrases); direction: "higher" / "lower" is better, "paper" = the paper's
# sign (a good buy is negative, a good sell positive), None = no better or worse (counts)
METRICS = {
    "perf_bps": ("perf_bps_mean", "higher", ["perf_bps", "perf bps", "outperformance", "performance", "perf",
                                             "edge", "alpha", "savings", "saving", "beat", "beats", "pnl"]),
    "mean": ("bps_Mean", "paper", ["mean slippage", "average slippage", "mean", "average", "avg", "slippage",
                                   "cost", "costs"]),
    "std": ("bps_Std", "lower", ["standard deviation", "std dev", "stdev", "std", "risk", "risky", "riskiest",
                                 "safest", "dispersion", "variance", "uncertainty", "volatility of slippage"]),
    "median": ("bps_Median", "paper", ["median"]),
    "p5": ("bps_P5", "paper", ["p5", "5th percentile", "5 percentile", "5%", "fifth percentile"]),
    "p95": ("bps_P95", "paper", ["p95", "95th percentile", "95 percentile", "95%", "tail"]),
    "q25": ("bps_Q25", "paper", ["q25", "25th percentile", "lower quartile", "first quartile"]),
    "q75": ("bps_Q75", "paper", ["q75", "75th percentile", "upper quartile", "third quartile"]),
    "hit_rate": ("hit_rate", "higher", ["hit rate", "hit-rate", "hitrate", "hit ratio", "win rate", "how often",
                                        "share of orders"]),
    "orders": ("bps_N", None, ["number of orders", "how many orders", "order count"]),
    "end_bar": ("mean_end_bar", None, ["mean end bar", "end bar", "finish bar", "duration", "how long"]),
    "participation": ("max_participation_p95", None, ["participation"]),
}
MATCH_WORDS = ["match case", "the match", "fixed horizon", "full horizon", "no flexibility", "match"]

DIRECTION_WORDS = {
    "best": ["best", "top", "winner", "wins", "win", "leading", "leads", "outperforms", "strongest", "better"],
    "worst": ["worst", "bottom", "loser", "weakest", "underperforms", "worse", "riskiest"],
    "max": ["highest", "largest", "most", "maximum", "max", "biggest", "greatest"],
    "min": ["lowest", "smallest", "least", "fewest", "minimal", "safest"],
}

SIDE_WORDS = {"buy": ["buy", "buys", "buying", "bought", "purchase", "purchases", "acquire", "acquisition", "long"],
              "sell": ["sell", "sells", "selling", "sold", "sale", "sales", "liquidate", "liquidation", "unwind"]}
TARGET_WORDS = {"quantity": ["quantity", "fixed quantity", "shares", "units", "volume target"],
                "notional": ["notional", "fixed notional", "cash", "dollar amount", "amount"]}
REGIME_WORDS = {"HH": ["hh"], "HL": ["hl"], "LH": ["lh"], "LL": ["ll"],
                "H": ["high volatility", "high vol", "volatile", "turbulent", "stressed"],
                "L": ["low volatility", "low vol", "calm", "quiet"]}

INTENT_WORDS = {
    "help": ["help", "what can you", "what can i ask", "examples", "how do i use"],
    "define": ["what does", "what is", "what's", "whats", "meaning of", "means", "mean?", "define", "definition",
               "explain", "stand for", "stands for"],
    "audit": ["audit", "leak", "leakage", "look-ahead", "lookahead", "look ahead", "cheat", "peek", "causal"],
    "provenance": ["provenance", "come from", "comes from", "came from", "which data", "what data", "data files",
                   "command", "reproduce", "version", "created", "when was", "how was", "git", "sha"],
    "compare": ["compare", "comparison", " vs ", " vs. ", "versus", "against", "difference between",
                "better than", "worse than", "head to head", "head-to-head"],
    "list": ["list", "which folders", "what folders", "which runs", "what runs", "what results", "available"],
}

GLOSSARY = {
    "perf_bps": "Performance in basis points, positive = better: (1 - achieved/benchmark) * 1e4 for a buy and "
                "(achieved/benchmark - 1) * 1e4 for a sell. Used everywhere except the paper-format tables.",
    "bps": "Slippage in the paper's sign, (achieved / benchmark - 1) * 1e4: a good buy is negative, a good sell "
           "positive (the columns bps_Mean, bps_Std, bps_Median, bps_P5, bps_P95, bps_Q25, bps_Q75).",
    "hit rate": "The share of orders whose perf_bps beats the benchmark (by more than the tie tolerance).",
    "minimum period": "m: the contract lets execution end at any bar from m to T; the benchmark is computed over the "
                      "realised window. m = T is no flexibility.",
    "match": "The match case: the strategy's own fixed-horizon schedule over all T bars (no flexibility), "
             "compared with the full-window benchmark.",
    "benchmark": "VWAP (volume-weighted) or TWAP (time-weighted) average of bar prices over the realised window.",
    "target": "quantity: a fixed number of units to trade; notional: a fixed amount of cash.",
    "std": "The standard deviation of slippage across orders (bps): the risk of the strategy in a scenario.",
    "p5": "The 5th percentile of slippage across orders (bps, paper sign).",
    "p95": "The 95th percentile of slippage across orders (bps, paper sign).",
    "mean end bar": "The average bar at which execution ended (the realised window's length).",
    "regime": "The causal volatility regime at the order's origin: first letter realised volatility above (H) or "
              "not above (L) its trailing median; second letter the same for volatility of volatility.",
    "audit": "The look-ahead audit: the strategy is replayed with every future bar perturbed; an allocation that "
             "changes before the perturbation proves a leak. 'passed' means no allocation changed.",
    "optstop": "The zero-information optimal-stopping policy: what the flexible window (the option) is worth alone.",
    "twap baseline": "TWAP against the full-horizon VWAP: the reference rows of the paper's tables.",
    "participation": "The order's share of the market volume in a bar (max over bars, 95th percentile over orders).",
    "n": "The number of orders with a defined benchmark in the scenario.",
}
# words never taken for a misspelt name (fuzzy matching skips them)
COMMON = set("""a an the of for on in at to by with and or is are was were be been it its this that these those
which what who whom whose how when where why did does do done show tell give me my i we our you your us all any
each every than then there here from over under into about after before last first next one two three four
strategy strategies asset assets side sides scenario scenarios period periods minimum min max year years quarter
month months day days low high best worst better worse most least lowest highest top bottom mean means median
risk table tables result results run runs folder folders number orders order value values buy sell buys sells
stats statistics statistic metric metrics between versus vs compare comparison against performed perform did
much many more less get got see look overall whole case cases bar bars price prices market volume volumes
benchmark benchmarks target targets quantity notional fixed flexible window windows beta hit rate rates win
""".split())
