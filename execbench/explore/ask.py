"""Plain-English questions about saved results, answered deterministically.

``parse`` maps a question to a ``Query``: an intent (best, worst, max, min, compare, stats, define,
audit, provenance, list, help) and slots (strategies, asset, frequency, side, minimum period,
benchmark, target, metric, dates, regime), with synonyms and fuzzy matching of names (``difflib``).
``answer`` resolves it against the folders' statistics and returns an ``Answer``: a sentence, a
small table, the chart to draw, and the command and Python call that reproduce the numbers.  A
question it cannot resolve gets the help reply; no number is ever produced that a folder did not hold
or that its per-order results do not give.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from execbench.contracts import MATCH, hit_rate, perf_bps, scenario_label
from execbench.analysis.stats import summarize
from execbench.errors import DataError
from execbench.explore.catalog import FolderInfo
from execbench.explore.tables import per_order, results_index
from execbench.explore.vocabulary import (ASSET_WORDS, COMMON, DIRECTION_WORDS, GLOSSARY, INTENT_WORDS, METRICS,
                                          MATCH_WORDS, REGIME_WORDS, SIDE_WORDS, STRATEGY_WORDS, TARGET_WORDS)

DEFAULTS = {"benchmark": "vwap", "target": "quantity", "period": "1"}


def _choice(query: "Query") -> dict[str, str]:
    """The benchmark, target and minimum period the question said, or the defaults."""
    return {k: getattr(query, k) or v for k, v in DEFAULTS.items()}
SHOWN = ["bps_N", "bps_Mean", "bps_Std", "bps_P5", "bps_P95", "perf_bps_mean", "hit_rate"]


@dataclass(frozen=True)
class Query:
    """What a question asks: the intent and its slots (None = not said)."""

    intent: str
    strategies: tuple[str, ...] = ()
    asset: str | None = None
    freq: str | None = None
    side: str | None = None
    period: str | None = None  # "1".."T" or "match"
    benchmark: str | None = None
    target: str | None = None
    metric: str | None = None
    dates: tuple[str, str] | None = None  # [start, end) as ISO dates
    dates_text: str | None = None  # "last quarter": resolved against the folder's test period
    regime: str | None = None  # HH/HL/LH/LL, or H/L (high/low volatility: two regimes)
    term: str | None = None  # for define

    def __repr__(self) -> str:
        said = {k: v for k, v in self.__dict__.items() if v not in (None, ()) and k != "intent"}
        return f"Query({self.intent}: {', '.join(f'{k}={v}' for k, v in said.items())})"


@dataclass(frozen=True)
class Answer:
    """The reply: ``text`` (one or two sentences), ``table`` (may be empty), ``chart`` ((x, y, colour)
    columns of ``table`` to draw as bars, or None), ``command`` (the CLI command that creates the
    folder the numbers come from) and ``code`` (the Python call that reads them back)."""

    query: Query
    text: str
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    chart: tuple[str, str, str | None] | None = None
    command: str = ""
    code: str = ""
    folder: str = ""

    def __repr__(self) -> str:
        return f"Answer({self.query.intent}: {self.text[:80]!r}, {len(self.table)} rows)"

    @property
    def answered(self) -> bool:
        return self.query.intent != "help"


HELP = ("I answer questions about the saved runs, comparisons and sweeps, for example: "
        "'which strategy is best for sells at m=1?', 'lowest risk for buys on ETH', "
        "'compare lem with twap', 'show ppo's statistics for sells', 'P95 of flex for buys with a TWAP benchmark', "
        "'best hit rate in high volatility', 'what does perf_bps mean?', 'did the audit pass?', "
        "'where does this data come from?', 'which folders are there?'. Slots I understand: strategy, asset, "
        "frequency, side, minimum period (m=1 … match), benchmark (VWAP/TWAP), target (quantity/notional), metric "
        "(mean, std/risk, median, P5, P95, perf_bps, hit rate, orders, end bar), dates (a year, 'Q3 2025', "
        "'last quarter') and volatility regime (HH, HL, LH, LL, high/low volatility).")


# -- parsing ---------------------------------------------------------------------------------------------
def _normalise(question: str) -> str:
    text = question.lower().replace("’", "'").replace("–", "-")
    text = re.sub(r"[?!,;:()\"]", " ", text)
    return " " + re.sub(r"\s+", " ", text).strip() + " "


def _has(text: str, phrase: str) -> bool:
    phrase = phrase.strip()
    return re.search(rf"(?<![\w=]){re.escape(phrase)}(?![\w])", text) is not None


def _cut(text: str, phrase: str) -> str:
    return re.sub(rf"(?<![\w=]){re.escape(phrase.strip())}(?![\w])", " ", text)


def _first(text: str, table: dict[str, list[str]]) -> tuple[str | None, str]:
    """The key whose phrase occurs earliest in ``text`` (longest phrase first at a tie), and the text with
    every matched phrase removed."""
    found = []
    for key, phrases in table.items():
        for phrase in phrases:
            match = re.search(rf"(?<![\w=]){re.escape(phrase)}(?![\w])", text)
            if match:
                found.append((match.start(), -len(phrase), key, phrase))
    if not found:
        return None, text
    found.sort()
    for _, _, _, phrase in found:
        text = _cut(text, phrase)
    return found[0][2], text


def _period(text: str) -> tuple[str | None, str]:
    match_case, text = _first(text, {MATCH: MATCH_WORDS})
    if match_case:
        return MATCH, text
    pattern = (r"(?:\bm\s*=\s*|\bm(?=\d)|min(?:imum)?[ _-]*period(?:\s+of|\s*=)?\s*|\bminimum\s+of\s+)(\d+)"
               r"|\b(\d+)[ -]bars? minimum")
    match = re.search(pattern, text)
    if match:
        return (match.group(1) or match.group(2)), text[:match.start()] + " " + text[match.end():]
    return None, text


def _freq(text: str) -> tuple[str | None, str]:
    words = {"hourly": "1h", "daily": "1d", "4-hourly": "4h", "half-hourly": "30m"}
    for word, freq in words.items():
        if _has(text, word):
            return freq, _cut(text, word)
    match = re.search(r"\b(\d+)\s*(m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days)\b(?!\s*=)", text)
    if not match:
        return None, text
    number, unit = int(match.group(1)), match.group(2)[0]
    minutes = number * {"m": 1, "h": 60, "d": 1440}[unit]
    freq = f"{minutes // 1440}d" if minutes % 1440 == 0 else f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
    return freq, text[:match.start()] + " " + text[match.end():]


def _dates(text: str) -> tuple[tuple[str, str] | None, str | None, str]:
    relative = re.search(r"\blast (quarter|month|year)\b", text)
    if relative:
        return None, relative.group(0), text[:relative.start()] + " " + text[relative.end():]
    quarter = re.search(r"\bq([1-4])\s*(20\d\d)\b|\b(20\d\d)\s*q([1-4])\b", text)
    if quarter:
        q, year = (quarter.group(1), quarter.group(2)) if quarter.group(1) else (quarter.group(4), quarter.group(3))
        start = pd.Timestamp(int(year), 3 * int(q) - 2, 1)
        return (str(start.date()), str((start + pd.DateOffset(months=3)).date())), None, text.replace(quarter.group(0), " ")
    since = re.search(r"\bsince (20\d\d-\d\d(?:-\d\d)?)\b", text)
    if since:
        return (str(pd.Timestamp(since.group(1)).date()), "2100-01-01"), None, text.replace(since.group(0), " ")
    year = re.search(r"\b(20\d\d)\b", text)
    if year:
        y = int(year.group(1))
        return (f"{y}-01-01", f"{y + 1}-01-01"), None, text.replace(year.group(0), " ")
    return None, None, text


def _fuzzy(word: str, choices: dict[str, str], cutoff: float = 0.75) -> str | None:
    if len(word) < 3 or word in COMMON:
        return None
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return choices[close[0]] if close else None


def _strategy_phrases(known: list[str]) -> dict[str, list[str]]:
    phrases = {name: [name] for name in known}
    for name, words in STRATEGY_WORDS.items():
        if name in phrases:
            phrases[name] = sorted({*phrases[name], *words}, key=len, reverse=True)
    return phrases


def _asset_phrases(known: list[str]) -> dict[str, list[str]]:
    phrases = {}
    for asset in known:
        words = {asset.lower(), *ASSET_WORDS.get(asset, [])}
        if asset.lower().endswith("usdt"):
            words.add(asset.lower().removesuffix("usdt"))
        phrases[asset] = sorted(words, key=len, reverse=True)
    return phrases


def parse(question: str, strategies: list[str], assets: list[str]) -> Query:
    """The ``Query`` a question asks, given the strategy and asset names the folders hold."""
    text = _normalise(question)
    slots: dict = {}
    # benchmarks before strategies ("the twap benchmark" is not the twap strategy; "against twap" is, where
    # the folders hold it)
    bench = re.search(r"(?:(?:against|vs\.?|versus|relative to|with|on)\s+(?:the\s+|a\s+)?)?(vwap|twap)[- ]bench(?:mark)?s?\b"
                      r"|\bbench(?:mark)?(?: of| is| =)? (vwap|twap)\b"
                      r"|\b(?:against|vs\.?|versus|relative to) (?:the |a )?(vwap|twap)\b", text)
    if bench and not (bench.group(3) and bench.group(3) in strategies):
        slots["benchmark"] = next(g for g in bench.groups() if g)
        text = text[:bench.start()] + " " + text[bench.end():]
    asked = text  # the question without its benchmark phrase (a "vs" there asks no comparison)
    slots["period"], text = _period(text)
    slots["dates"], slots["dates_text"], text = _dates(text)
    slots["freq"], text = _freq(text)
    slots["regime"], text = _first(text, REGIME_WORDS)
    slots["side"], text = _first(text, SIDE_WORDS)
    slots["target"], text = _first(text, TARGET_WORDS)
    found = []
    for name, phrases in _strategy_phrases(strategies).items():
        for phrase in phrases:
            for match in re.finditer(rf"(?<![\w=]){re.escape(phrase)}(?![\w])", text):
                found.append((match.start(), name))
        for phrase in phrases:
            text = _cut(text, phrase)
    asset, text = _first(text, _asset_phrases(assets))
    intent_text = text  # what is left: intents, metrics and possibly misspelt names
    metric, text = _first(text, {k: v[2] for k, v in METRICS.items()})
    words = re.findall(r"[a-z][a-z0-9_-]+", text)
    strategy_choices = {p: n for n, ps in _strategy_phrases(strategies).items() for p in ps if len(p) >= 3}
    asset_choices = {p: a for a, ps in _asset_phrases(assets).items() for p in ps if len(p) >= 3}
    for position, word in enumerate(words):
        if (name := _fuzzy(word, strategy_choices)) is not None:
            found.append((1000 + position, name))
        elif asset is None and (hit := _fuzzy(word, asset_choices, 0.8)) is not None:
            asset = hit
    strategies_said = tuple(dict.fromkeys(name for _, name in sorted(found)))
    intent = _intent(asked, intent_text, strategies_said, metric)
    term = _term(_normalise(question)) if intent == "define" else None
    if intent == "define" and term is None:
        intent = "help"
    return Query(intent=intent, strategies=strategies_said, asset=asset, metric=metric, term=term, **slots)


def _intent(question: str, rest: str, strategies: tuple[str, ...], metric: str | None) -> str:
    said = lambda key: any(_has(question, p) if p.strip() == p else p in question for p in INTENT_WORDS[key])  # noqa: E731
    if said("help") and not strategies and metric is None:
        return "help"
    if said("audit"):
        return "audit"
    if said("provenance"):
        return "provenance"
    if said("define") and _term(question) is not None and not any(
            _has(rest, w) for words in DIRECTION_WORDS.values() for w in words):
        return "define"
    if len(strategies) >= 2 or (said("compare") and strategies):
        return "compare"
    direction, _ = _first(rest, DIRECTION_WORDS)
    if direction is not None and (len(strategies) <= 1 or _has(question, "which")):
        return direction
    if strategies or metric is not None:
        return "stats"
    if said("list"):
        return "list"
    if _has(question, "which strategy") or _has(question, "who"):
        return "best"
    return "help"


def _term(question: str) -> str | None:
    """The glossary entry a definition question is about."""
    aliases = {"perf_bps": ["perf_bps", "perf bps", "perf", "performance"], "hit rate": ["hit rate", "hit_rate"],
               "minimum period": ["minimum period", "min period", "min_period", "m="], "match": ["match"],
               "p5": ["p5"], "p95": ["p95"], "std": ["std", "standard deviation"], "n": ["bps_n", " n "],
               "mean end bar": ["end bar", "end_bar"], "regime": ["regime"], "audit": ["audit"],
               "optstop": ["optstop", "option"], "twap baseline": ["baseline"], "benchmark": ["benchmark"],
               "target": ["target", "notional"], "participation": ["participation"],
               "bps": ["bps_mean", "bps", "paper sign", "slippage"]}
    for term, words in aliases.items():
        if any(w in question for w in words):
            return term
    return None


# -- answering ---------------------------------------------------------------------------------------------
def _choose_folder(index: pd.DataFrame, infos: list[FolderInfo], query: Query) -> FolderInfo:
    """The folder that holds most of what the question names (newest at a tie)."""
    rows = index
    if query.asset:
        rows = rows[rows["asset"].str.split(",").map(lambda a: query.asset in a)]
    if query.freq:
        rows = rows[rows["freq"] == query.freq]
    if not len(rows):
        said = " ".join(x for x in (query.asset, query.freq) if x)
        raise DataError(f"no saved folder holds {said}")
    by_folder = {info.name: info for info in infos}
    scores = []
    for name, part in rows.groupby("folder", sort=False):
        held = set(part["strategy"])
        scores.append((sum(s in held for s in query.strategies), len(held), by_folder[name].created, name))
    return by_folder[max(scores)[3]]


def _resolve_dates(query: Query, info: FolderInfo) -> tuple[str, str] | None:
    if query.dates is not None or query.dates_text is None:
        return query.dates
    end = pd.Timestamp(info.last_origin).tz_localize(None) if info.last_origin else pd.Timestamp.now()
    unit = query.dates_text.split()[-1]
    start = end - {"quarter": pd.DateOffset(months=3), "month": pd.DateOffset(months=1),
                   "year": pd.DateOffset(years=1)}[unit]
    return str(start.date()), str((end + pd.Timedelta(days=1)).date())


def _order_rows(info: FolderInfo, query: Query, dates: tuple[str, str] | None) -> pd.DataFrame:
    """Scenario statistics recomputed from the per-order results over the orders in the dates/regime."""
    runs = per_order(info, what="a question about dates or volatility regimes")
    rows = []
    for name, run in runs.items():
        origin = run.orders["origin"].dt.tz_localize(None)
        mask = np.ones(run.n_orders, bool)
        if dates is not None:
            mask &= ((origin >= pd.Timestamp(dates[0])) & (origin < pd.Timestamp(dates[1]))).to_numpy()
        if query.regime is not None:
            if "regime" not in run.orders:
                raise DataError(f"{info.path}: this run did not record the volatility regime of its orders")
            mask &= run.orders["regime"].astype(str).str.startswith(query.regime).to_numpy()
        for spec in run.grid.specs:
            values = run.column("bps", spec.label)[mask]
            stats = summarize(values)
            sign = 1.0 if spec.side == "buy" else -1.0
            perf = perf_bps(values[:, None], np.array([sign]))[:, 0]
            rows.append({"strategy": name, "side": spec.side, "benchmark": spec.benchmark, "target": spec.target,
                         "period": MATCH if spec.match else str(spec.min_period),
                         **{f"bps_{k}": v for k, v in stats.items()},
                         "perf_bps_mean": float(np.nanmean(perf)) if stats["N"] else np.nan,
                         "hit_rate": hit_rate(perf), "mean_end_bar": float(np.mean(run.column("end_bar", spec.label)[mask]))
                         if mask.any() else np.nan, "max_participation_p95": np.nan,
                         "asset": ",".join(info.assets), "freq": info.freqs[0], "horizon": info.horizon,
                         "params": "", "seed": 0, "folder": info.name})
    frame = pd.DataFrame(rows)
    if not len(frame) or frame["bps_N"].max() == 0:
        what = " and ".join(x for x in (f"dates {dates[0]} to {dates[1]}" if dates else "",
                                         f"regime {query.regime}" if query.regime else "") if x)
        raise DataError(f"{info.path}: no orders in {what} (test period {info.first_origin[:10]} → "
                        f"{info.last_origin[:10]})")
    return frame


def _filter(rows: pd.DataFrame, query: Query, *, all_periods: bool = False) -> pd.DataFrame:
    choice = _choice(query)
    rows = rows[(rows["benchmark"] == choice["benchmark"]) & (rows["target"] == choice["target"])]
    if not all_periods or query.period:
        rows = rows[rows["period"] == choice["period"]]
    if query.side:
        rows = rows[rows["side"] == query.side]
    if query.asset:
        rows = rows[rows["asset"].str.split(",").map(lambda a: query.asset in a)]
    if query.freq:
        rows = rows[rows["freq"] == query.freq]
    return rows


def _label(rows: pd.DataFrame) -> pd.Series:
    """The strategy's name, with its parameters where the rows hold several parameter sets of it."""
    params = rows["params"].fillna("")
    several = params.groupby(rows["strategy"]).transform("nunique") > 1
    return rows["strategy"] + np.where(several, " (" + params + ")", "")


def _seed_means(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per strategy/parameters × asset × frequency × side (means over seeds)."""
    keys = ["strategy", "params", "asset", "freq", "horizon", "side", "period"]
    numeric = [c for c in rows.columns if c.startswith(("bps_", "perf_bps", "hit_rate", "mean_end", "max_part"))]
    rows = rows.assign(params=rows["params"].fillna(""), horizon=rows["horizon"].fillna(-1))
    return rows.groupby(keys, sort=False, dropna=False)[numeric].mean().reset_index()


def _describe(query: Query, info: FolderInfo, dates: tuple[str, str] | None) -> str:
    choice = _choice(query)
    parts = [f"{choice['benchmark'].upper()} benchmark", f"{choice['target']} target",
             "the match case" if choice["period"] == MATCH else f"minimum period {choice['period']}"]
    if dates:
        parts.append(f"orders from {dates[0]} to {dates[1]}")
    if query.regime:
        parts.append(f"regime {query.regime}{'*' if len(query.regime) == 1 else ''}")
    return f"{info.name}, " + ", ".join(parts)


def _code(info: FolderInfo, query: Query, columns: list[str], dates: tuple[str, str] | None) -> str:
    choice = _choice(query)
    conditions = [f"benchmark == '{choice['benchmark']}'", f"target == '{choice['target']}'",
                  f"period == '{choice['period']}'"]
    conditions += [f"side == '{query.side}'"] if query.side else []
    conditions += [f"freq == '{query.freq}'"] if query.freq else []
    if dates or query.regime:
        return (f"import execbench as eb\n"
                f"info = eb.explore.read_folder({str(info.path)!r})\n"
                f"eb.explore.ask_frame(info, dates={dates!r}, regime={query.regime!r})"
                f".query(\"{' and '.join(conditions)}\")[{columns!r}]")
    return (f"import execbench as eb\n"
            f"rows = eb.explore.results_index([eb.explore.read_folder({str(info.path)!r})])\n"
            f"rows.query(\"{' and '.join(conditions)}\")[{columns!r}]")


def ask_frame(info: FolderInfo, *, dates: tuple[str, str] | None = None, regime: str | None = None) -> pd.DataFrame:
    """The folder's scenario statistics over the orders within ``dates`` ([start, end) ISO dates) and of
    the volatility ``regime`` (``HH``… or ``H``/``L`` for two), from its per-order results; without
    either, its saved statistics."""
    if dates is None and regime is None:
        return results_index([info])
    return _order_rows(info, Query("stats", regime=regime), dates)


def answer(question: str, infos: list[FolderInfo], *, index: pd.DataFrame | None = None) -> Answer:
    """Answer ``question`` from the folders ``infos`` (``index``: their ``results_index``, if already read)."""
    index = results_index(infos) if index is None else index
    strategies = sorted(set(index["strategy"])) if len(index) else []
    assets = sorted({a for value in index["asset"].dropna() for a in str(value).split(",")}) if len(index) else []
    query = parse(question, strategies, assets)
    try:
        return _answer(query, infos, index)
    except DataError as exc:
        return Answer(query, f"I cannot answer that from the saved results: {exc}")


def _help(query: Query) -> Answer:
    return Answer(replace(query, intent="help"), HELP)


def _answer(query: Query, infos: list[FolderInfo], index: pd.DataFrame) -> Answer:
    if query.intent == "help":
        return _help(query)
    if query.intent == "define":
        return Answer(query, f"{query.term}: {GLOSSARY[query.term]}",
                      pd.DataFrame({"term": [query.term], "meaning": [GLOSSARY[query.term]]}),
                      code="from execbench.explore.vocabulary import GLOSSARY\n"
                           f"GLOSSARY[{query.term!r}]")
    if query.intent == "list":
        table = pd.DataFrame([i.summary() for i in infos]).drop(columns=["path"], errors="ignore")
        return Answer(query, f"{len(infos)} saved folders.", table,
                      code="import execbench as eb\n[i.summary() for i in eb.explore.discover(['reports'])]")
    if not len(index) and query.intent not in ("audit", "provenance"):
        raise DataError("no saved run, comparison or sweep statistics were found")
    info = _choose_folder(index, infos, query) if len(index) else infos[0]
    if query.intent == "audit":
        return _audit_answer(query, info)
    if query.intent == "provenance":
        return _provenance_answer(query, info)
    dates = _resolve_dates(query, info)
    rows = _order_rows(info, query, dates) if (dates or query.regime) else index[index["folder"] == info.name]
    missing = [s for s in query.strategies if s not in set(rows["strategy"])]
    if missing:
        raise DataError(f"{info.name} holds no {', '.join(missing)} (it holds {', '.join(sorted(set(rows['strategy'])))})")
    if query.intent == "compare":
        return _compare_answer(query, info, rows, dates)
    if query.intent == "stats" and query.strategies:
        return _stats_answer(query, info, rows, dates)
    return _rank_answer(query, info, rows, dates)


def _metric(query: Query) -> tuple[str, str, str | None]:
    name = query.metric or "perf_bps"
    column, direction, _ = METRICS[name]
    return name, column, direction


def _rank_answer(query: Query, info: FolderInfo, rows: pd.DataFrame, dates) -> Answer:
    name, column, direction = _metric(query)
    rows = _seed_means(_filter(rows, query))
    if query.strategies:
        rows = rows[rows["strategy"].isin(query.strategies)]
    if not len(rows):
        raise DataError(f"{_describe(query, info, dates)}: no rows match")
    intent = "best" if query.intent == "stats" else query.intent
    if intent in ("best", "worst") and direction is None:
        intent = {"best": "max", "worst": "min"}[intent]
    sign = rows["side"].map({"buy": -1.0, "sell": 1.0}) if direction == "paper" else (-1.0 if direction == "lower" else 1.0)
    score = rows[column] * sign if intent in ("best", "worst") else rows[column]
    ascending = intent in ("worst", "min")
    rows = rows.assign(_score=score).sort_values("_score", ascending=ascending, na_position="last")
    groups = [c for c in ("asset", "freq", "side") if rows[c].nunique() > 1 or c == "side"]
    winners = rows.groupby(groups, sort=False).head(1)
    table = rows.assign(strategy=_label(rows))[["strategy", *groups, column, *[c for c in SHOWN if c != column]]]
    word = {"best": "Best", "worst": "Worst", "max": "Highest", "min": "Lowest"}[intent]
    finds = "; ".join(f"{' '.join(str(w[g]) for g in groups)}: {w['strategy']} ({w[column]:.4g})"
                      for _, w in winners.iterrows())
    sense = {"paper": " (paper sign: a good buy is negative, a good sell positive)", "higher": " (higher is better)",
             "lower": " (lower is better)", None: ""}[direction]
    text = f"{word} on {name} = {column}{sense} — {finds}. From {_describe(query, info, dates)}."
    colour = next((g for g in groups if g != "side"), "side")  # bars of one strategy differ by this
    return Answer(query, text, table.reset_index(drop=True), ("strategy", column, colour),
                  info.command, _code(info, query, ["strategy", "side", column], dates), info.name)


def _stats_answer(query: Query, info: FolderInfo, rows: pd.DataFrame, dates) -> Answer:
    rows = _seed_means(_filter(rows, query, all_periods=True))
    rows = rows[rows["strategy"].isin(query.strategies)]
    if not len(rows):
        raise DataError(f"{_describe(query, info, dates)}: no rows for {', '.join(query.strategies)}")
    name, column, _ = _metric(query)
    columns = ["strategy", "side", "period", *([column] if query.metric else []),
               *[c for c in SHOWN if c != column or not query.metric]]
    table = rows.assign(strategy=_label(rows))[columns].reset_index(drop=True)
    shown = "every minimum period" if not query.period else f"period {query.period}"
    text = (f"{', '.join(query.strategies)}: {len(table)} scenarios ({shown}). "
            + (f"{name} = {column}: " + ", ".join(f"{r.side} m={r.period}: {getattr(r, column):.4g}"
                                                  for r in table.head(4).itertuples()) + ". " if query.metric else "")
            + f"From {_describe(replace(query, period=query.period or 'all'), info, dates)}.")
    chart = ("period", column if query.metric else "perf_bps_mean", "side")
    code = _code(info, replace(query, period=query.period or "1"), columns, dates)
    if not query.period:
        code = code.replace(" and period == '1'", "")
    return Answer(query, text, table, chart, info.command, code, info.name)


def _compare_answer(query: Query, info: FolderInfo, rows: pd.DataFrame, dates) -> Answer:
    names = list(query.strategies) if len(query.strategies) >= 2 else [query.strategies[0], "twap"]
    if names[1] not in set(rows["strategy"]):
        raise DataError(f"{info.name} holds no {names[1]} to compare {names[0]} with")
    filtered = _seed_means(_filter(rows, query))
    filtered = filtered[filtered["strategy"].isin(names)]
    filtered = filtered.sort_values("strategy", key=lambda s: s.map(names.index), kind="stable")
    table = filtered.assign(strategy=_label(filtered))[["strategy", "side", *SHOWN]].reset_index(drop=True)
    parts = []
    for side, part in table.groupby("side", sort=False):
        values = dict(zip(part["strategy"], part["perf_bps_mean"], strict=False))
        if len(values) == 2:
            (a, va), (b, vb) = values.items()
            parts.append(f"{side}: {a} {va:+.2f} vs {b} {vb:+.2f} perf_bps ({a} {'ahead' if va > vb else 'behind'} "
                         f"by {abs(va - vb):.2f})")
    text = "; ".join(parts) + f". From {_describe(query, info, dates)}."
    if info.per_order and info.kind in ("run", "comparison") and not dates and not query.regime:
        text += " " + _paired_sentence(info, names, query)
    return Answer(query, text, table, ("strategy", "perf_bps_mean", "side"), info.command,
                  _code(info, query, ["strategy", "side", *SHOWN], dates), info.name)


def _paired_sentence(info: FolderInfo, names: list[str], query: Query) -> str:
    from execbench.analysis.inference import paired_comparison
    from execbench.analysis.significance import date_blocks

    runs = per_order(info)
    choice = _choice(query)
    period = choice["period"] if choice["period"] == MATCH else int(choice["period"])
    out = []
    for side in ([query.side] if query.side else ["buy", "sell"]):
        label = scenario_label(side, choice["benchmark"], choice["target"], period)
        test = paired_comparison(runs[names[0]].column("perf_bps", label), runs[names[1]].column("perf_bps", label),
                                 date_blocks(runs[names[1]]))
        out.append(f"{side}: {names[0]} − {names[1]} = {test.mean.estimate:+.2f} bps, 95 % date-block CI "
                   f"[{test.mean.low:+.2f}, {test.mean.high:+.2f}], HAC p = {test.p_value:.2g}")
    return "Paired on the same orders — " + "; ".join(out) + "."


def _audit_answer(query: Query, info: FolderInfo) -> Answer:
    record = info.record.get("audit") or {}
    if info.kind == "run":
        record = {info.strategies[0]: record} if record else {}
    if info.kind == "sweep":
        table = pd.DataFrame([{"strategy": s, "audit": {True: "passed", False: "FAILED", None: "not run"}[v]}
                              for s, v in info.audit.items()])
    else:
        table = pd.DataFrame([{"strategy": name, "passed": (a or {}).get("passed"), "orders audited": (a or {}).get("orders"),
                               "steps": (a or {}).get("steps"), "first leak": (a or {}).get("first_leak"),
                               "P(miss a leak in 1 % of orders)": ((a or {}).get("miss_probability") or {}).get("0.01")}
                              for name, a in record.items() if not query.strategies or name in query.strategies])
    text = (f"Look-ahead audit in {info.name}: {info.audit_summary}"
            + (f" ({', '.join(query.strategies)} shown)" if query.strategies else "") + ".")
    strategy = (query.strategies or info.strategies or ("twap",))[0]
    command = f"execbench audit --strategy {strategy} --asset {(info.assets or ('BTCUSDT',))[0]}"
    return Answer(query, text, table, None, command,
                  f"import execbench as eb\neb.explore.read_folder({str(info.path)!r}).audit", info.name)


def _provenance_answer(query: Query, info: FolderInfo) -> Answer:
    record = info.record
    items = {"folder": str(info.path), "kind": info.kind, "command": info.command or "(not recorded)",
             "created (UTC)": info.created, "execbench": info.version, "assets": ", ".join(info.assets),
             "frequency": ", ".join(info.freqs), "strategies": ", ".join(info.strategies),
             "test period": f"{info.first_origin} → {info.last_origin}" if info.first_origin else ""}
    for key, value in (record.get("data") or record.get("data_sha256") or {}).items():
        items[f"data: {key}"] = ", ".join(map(str, value)) if isinstance(value, list) else value
    for key, value in (record.get("conventions") or {}).items():
        items[f"convention: {key}"] = value
    table = pd.DataFrame({"field": list(items), "value": [str(v) for v in items.values()]})
    text = f"{info.name} was written by execbench {info.version or '?'} on {info.created[:10]} with: {info.command or '(command not recorded)'}."
    return Answer(query, text, table, None, info.command,
                  f"import execbench as eb\neb.explore.read_folder({str(info.path)!r}).record", info.name)
