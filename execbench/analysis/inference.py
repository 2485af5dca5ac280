"""Inference that respects overlapping order windows, shared dates and volatility clustering.

Orders start at every bar, so neighbouring orders share up to T−1 bars; in a universe, orders of
different assets share dates; and volatility clusters over days, so the dependence reaches further
than one window.  Every interval and test here therefore works on **dates**, all assets together:

* the orders are grouped by origin time (``DateBlocks``), and a statistic is resampled by a
  stationary (Politis–Romano) block bootstrap over those dates (``arch.bootstrap.StationaryBootstrap``'s
  draws and rule, run here: ``bootstrap_indices``, or straight as runs of dates: ``bootstrap_runs``),
  each resampled date bringing all its orders;
* the expected block length is chosen from the data, per series: ``arch.bootstrap.optimal_block_length``'s
  computation (``optimal_block_length`` here)
  (Politis–White) on the per-date mean series, with a floor of ``BLOCK_FACTOR`` × T dates (the overlap);
* beside the bootstrap SE, a Newey–West (HAC) SE of the mean of the per-date series, with that
  block length as its lag, and the HAC t-test of the mean: a test of the same quantity as the CI.

The old rank test (Wilcoxon on every T-th order) tested the median of the differences, not the mean
the CI is about, and treated the assets of one date as independent; it is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections import OrderedDict
from collections.abc import Callable
import math

import numpy as np

from execbench.cache import cache_key, read_arrays, write_arrays
from execbench.engine.resample import (IndexRuns, resampled_medians, resampled_run_sums, resampled_run_sums_columns,
                                      stationary_runs, stationary_sample)

BLOCK_FACTOR = 2  # the floor of the block length: this many horizons of dates
DEFAULT_REPS = 400
MIN_DATES = 10  # fewer dates with values: no CI and no test (the estimate alone)
DEFAULT_LEVEL = 0.95
ZERO_DIFFERENCE_BPS = 1e-6  # paired differences smaller than this are floating-point noise
OPTIMAL_LENGTH_POINTS = 4096  # longer per-date series are averaged in groups before choosing the block


def block_length(horizon: int) -> int:
    """The floor of the expected block length, in dates: ``BLOCK_FACTOR`` × T."""
    return max(1, BLOCK_FACTOR * horizon)


def bootstrap_indices(n: int, block: int, reps: int = DEFAULT_REPS, seed: int = 0) -> np.ndarray:
    """Resampled positions, (reps, n), of the stationary bootstrap with expected block ``block``.

    The draws and the rule are ``arch.bootstrap.StationaryBootstrap``'s (per resample, n uniform
    integer starts then n uniforms, from ``numpy.random.default_rng(seed)``), so the positions are
    arch's exactly (tested); importing arch costs about 4 s per process (``arch/__init__`` loads its
    univariate models), which is why the rule is run here (``engine.resample.stationary_sample``)."""
    rng = np.random.default_rng(seed)
    out = np.empty((reps, n), dtype=np.int64)
    for k in range(reps):
        starts = rng.integers(n, size=n, dtype=np.int64)
        out[k] = stationary_sample(starts, rng.random(n), 1.0 / block)
    return out


RUNS_CACHE_BYTES = 256 * 2**20  # what the cache of resamples may hold, at most (and one set, whatever its size)
RUNS_DISK_BYTES = 256 * 2**20  # what the user cache's resamples may take on disk (least recently used out first)
_RUNS_CACHE: OrderedDict[tuple[int, int, int, int], IndexRuns] = OrderedDict()


def bootstrap_runs(n: int, block: int, reps: int = DEFAULT_REPS, seed: int = 0) -> IndexRuns:
    """``bootstrap_indices(n, block, reps, seed)`` as runs of consecutive positions
    (``engine.resample.IndexRuns``, what ``index_runs`` of those indices gives, exactly, tested), built
    one resample at a time without the (reps, n) array of positions (``stationary_runs``).

    Cached per arguments, least recently used first out past ``RUNS_CACHE_BYTES`` (the arrays are
    read-only): every table over the same dates and block length shares one set of resamples, which is
    what a paired comparison needs anyway.  400 resamples of 29k dates are 5.8 MB in blocks of 32 and
    0.7 MB in blocks of 272, where the positions were 93 MB (blocks of 1, which no table of a horizon
    T > 0 uses, would be the positions' size again).  They are a pure function of the arguments (and of
    NumPy's generator), so they are also kept in the user cache (``execbench.cache``, whose key holds
    the package's source and the libraries' versions): drawing the ten sets of a six-strategy
    comparison took 0.7 s, reading them back a few milliseconds."""
    key = (int(n), int(block), int(reps), int(seed))
    if key in _RUNS_CACHE:
        _RUNS_CACHE.move_to_end(key)
        return _RUNS_CACHE[key]
    runs = _RUNS_CACHE[key] = _stored_runs(*key)
    while len(_RUNS_CACHE) > 1 and sum(a.nbytes for r in _RUNS_CACHE.values() for a in r) > RUNS_CACHE_BYTES:
        _RUNS_CACHE.popitem(last=False)
    return runs


def _stored_runs(n: int, block: int, reps: int, seed: int) -> IndexRuns:
    """``_draw_runs``, read from the user cache where an earlier process kept it (stored as int32 where
    the positions fit, read back as the int64 the draw gives)."""
    name = cache_key("bootstrap_runs", n, block, reps, seed)
    saved = read_arrays("bootstrap", name)
    if saved is not None and _whole_runs(saved, n, reps):
        runs = IndexRuns(*(saved[field].astype(np.int64) for field in IndexRuns._fields))
    else:
        runs = _draw_runs(n, block, reps, seed)
        narrow = max(n, int(runs.offsets[-1])) < 2**31
        write_arrays("bootstrap", name, {field: values.astype(np.int32) if narrow else values
                                         for field, values in zip(IndexRuns._fields, runs, strict=True)},
                     keep_bytes=RUNS_DISK_BYTES)
    for array in runs:
        array.flags.writeable = False
    return runs


def _whole_runs(saved: dict, n: int, reps: int) -> bool:
    """Whether arrays read from the cache are a set of ``reps`` resamples of ``n`` dates as runs: the three
    fields, integer, one dimension each, ``reps + 1`` offsets from 0 rising to the number of runs, and
    every run inside the dates."""
    if set(saved) != set(IndexRuns._fields):
        return False
    start, length, offsets = (saved[field] for field in IndexRuns._fields)
    if any(a.ndim != 1 or a.dtype.kind not in "iu" for a in (start, length, offsets)):
        return False
    if offsets.size != reps + 1 or offsets[0] != 0 or np.any(np.diff(offsets) < 0):
        return False
    if not start.size == length.size == offsets[-1]:
        return False
    return bool(start.size == 0 or (start.min() >= 0 and length.min() >= 1 and (start + length).max() <= n))


def _draw_runs(n: int, block: int, reps: int, seed: int) -> IndexRuns:
    rng = np.random.default_rng(seed)
    start, length = np.empty(max(n, 1), dtype=np.int64), np.empty(max(n, 1), dtype=np.int64)
    starts, lengths, offsets = [], [], np.zeros(reps + 1, dtype=np.int64)
    for k in range(reps):
        count = stationary_runs(rng.integers(n, size=n, dtype=np.int64), rng.random(n), 1.0 / block, start, length)
        starts.append(start[:count].copy())
        lengths.append(length[:count].copy())
        offsets[k + 1] = offsets[k] + count
    return IndexRuns(np.concatenate(starts) if reps else np.zeros(0, dtype=np.int64),
                     np.concatenate(lengths) if reps else np.zeros(0, dtype=np.int64), offsets)


def optimal_block_length(x: np.ndarray) -> float:
    """Politis & White (2004, corrected by Patton, Politis & White 2009) optimal expected block length
    of the stationary bootstrap for ``x``: the computation of ``arch.bootstrap.optimal_block_length``
    (arch 8.0, its ``stationary`` column), which tests hold equal to it."""
    x = np.asarray(x, dtype=np.float64)
    nobs = x.shape[0]
    eps = x - x.mean(0)
    b_max = np.ceil(min(3 * np.sqrt(nobs), nobs / 3))
    kn = max(5, int(np.log10(nobs)))
    m_max = int(np.ceil(np.sqrt(nobs))) + kn
    cv = 2 * np.sqrt(np.log10(nobs) / nobs)  # the first kn autocorrelations all inside ±cv fix m
    acv = np.zeros(m_max + 1)
    abs_acorr = np.zeros(m_max + 1)
    opt_m = None
    for i in range(m_max + 1):
        v1 = eps[i + 1:] @ eps[i + 1:]
        v2 = eps[: -(i + 1)] @ eps[: -(i + 1)]
        cross_prod = eps[i:] @ eps[: nobs - i]
        acv[i] = cross_prod / nobs
        abs_acorr[i] = np.abs(cross_prod) / np.sqrt(v1 * v2)
        if i >= kn and opt_m is None and np.all(abs_acorr[i - kn: i] < cv):
            opt_m = i - kn
    m = min(2 * max(opt_m, 1) if opt_m is not None else m_max, m_max)
    g = 0.0
    lr_acv = acv[0]
    for k in range(1, m + 1):
        lam = 1 if k / m <= 1 / 2 else 2 * (1 - k / m)
        g += 2 * lam * k * acv[k]
        lr_acv += 2 * lam * acv[k]
    return float(min(((2 * g**2) / (2 * lr_acv**2)) ** (1 / 3) * nobs ** (1 / 3), b_max))


def data_block_length(series: np.ndarray, floor: int) -> int:
    """Expected block length for ``series`` (one value per date, in time order): Politis–White's
    optimal length for the stationary bootstrap, at least ``floor``, rounded up to the grid
    floor · √2^k (so that the series of a table share a few sets of resamples), and at most a quarter
    of the dates."""
    floor = max(1, int(floor))
    x = np.asarray(series, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 8 or np.ptp(x) == 0:
        return floor
    group = max(1, x.size // OPTIMAL_LENGTH_POINTS)  # Politis–White on means of `group` dates: it is O(n·lags)
    means = x[: x.size // group * group].reshape(-1, group).mean(axis=1)
    optimal = min(group * optimal_block_length(means), x.size / 4)
    steps = max(0.0, np.ceil(2.0 * np.log2(max(optimal, 1.0) / floor) - 1e-9))
    return int(max(floor, min(round(floor * 2.0 ** (steps / 2.0)), max(floor, x.size // 4))))


def hac_se(series: np.ndarray, lag: int) -> float:
    """Newey–West (Bartlett-kernel) standard error of the mean of ``series`` with ``lag`` lags.

    The autocovariances come from one FFT of the zero-padded series (``autocovariances``): O(n log n)
    whatever the lag, where the lag-by-lag sums were O(n · lag) (block lengths reach a quarter of the
    dates)."""
    x = np.asarray(series, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 2:
        return np.nan
    lag = int(min(max(lag, 0), n - 1))
    gamma = autocovariances(x - x.mean(), lag)
    weights = 1.0 - np.arange(1, lag + 1) / (lag + 1)
    variance = gamma[0] + 2.0 * weights @ gamma[1:]
    return float(np.sqrt(max(variance, 0.0) / n))


def autocovariances(e: np.ndarray, lag: int) -> np.ndarray:
    """``[Σ e[k:]·e[:n−k] / n for k in 0..lag]`` of a centred series, by FFT (direct sums for short
    series or few lags, where they are as fast)."""
    n = e.size
    if lag < 16 or n * lag < 200_000:
        return np.array([e @ e] + [e[k:] @ e[:-k] for k in range(1, lag + 1)]) / n
    size = 1 << int(2 * n - 1).bit_length()
    spectrum = np.fft.rfft(e, size)
    return np.fft.irfft(spectrum * np.conj(spectrum), size)[: lag + 1] / n


@dataclass(frozen=True)
class DateBlocks:
    """Orders grouped by origin date, all assets together, for resampling by blocks of dates.

    ``order`` sorts the orders by date; date k holds ``order[starts[k]:starts[k] + counts[k]]``.
    """

    order: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    floor: int  # the least expected block length, in dates
    reps: int = DEFAULT_REPS
    seed: int = 0
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dates(cls, dates: np.ndarray, horizon: int, *, reps: int = DEFAULT_REPS, seed: int = 0) -> "DateBlocks":
        """Group orders by their origin times ``dates`` (any sortable values); the floor is 2·T dates."""
        dates = np.asarray(dates)
        order = np.argsort(dates, kind="stable")
        _, starts, counts = np.unique(dates[order], return_index=True, return_counts=True)
        return cls(order=order, starts=starts, counts=counts, floor=block_length(horizon), reps=reps, seed=seed)

    @property
    def n_dates(self) -> int:
        return self.starts.size

    def per_date(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per date: the sum of the finite values and their count."""
        x = np.asarray(values, dtype=np.float64)[self.order]
        finite = np.isfinite(x)
        sums = np.add.reduceat(np.where(finite, x, 0.0), self.starts) if x.size else np.zeros(0)
        counts = np.add.reduceat(finite.astype(np.float64), self.starts) if x.size else np.zeros(0)
        return sums, counts

    def indices(self, block: int) -> np.ndarray:
        """Resampled date positions (reps, dates) for an expected block length (cached per length)."""
        if block not in self._cache:
            self._cache[block] = bootstrap_indices(self.n_dates, block, self.reps, self.seed)
        return self._cache[block]

    def runs(self, block: int) -> IndexRuns:
        """``indices(block)`` as runs of consecutive dates (``bootstrap_runs``, cached per process), for
        sums that read the per-date values in order (``resampled_run_sums``) and medians."""
        return bootstrap_runs(self.n_dates, int(block), self.reps, self.seed)

    def resampled_counts(self, counts: np.ndarray, block: int) -> np.ndarray:
        """Orders in each resample, (reps,), from per-date ``counts``; cached per block length when
        no value is missing (``counts`` equal to the dates' own), as every series of a table then
        shares them."""
        if not np.array_equal(counts, self.counts):
            return resampled_run_sums(counts, self.runs(block))
        key = ("counts", block)
        if key not in self._cache:
            self._cache[key] = resampled_run_sums(counts, self.runs(block))
        return self._cache[key]

    def orders_of(self, dates: np.ndarray) -> np.ndarray:
        """Positions (into the date-sorted orders) of every order of the given dates, in that order."""
        counts = self.counts[dates]
        offsets = np.repeat(self.starts[dates] - np.cumsum(counts) + counts, counts)
        return offsets + np.arange(counts.sum())


@dataclass(frozen=True)
class Interval:
    """A point estimate and its percentile-bootstrap confidence interval."""

    estimate: float
    low: float
    high: float


def bootstrap_ci(values: np.ndarray, indices: np.ndarray, statistic: str = "mean",
                 level: float = DEFAULT_LEVEL) -> Interval:
    """Percentile CI of the mean or median of ``values`` (in the order the indices refer to).

    NaN entries (undefined benchmarks) are dropped from every resample.
    """
    x = np.asarray(values, dtype=np.float64)
    if statistic not in ("mean", "median"):
        raise ValueError(f"statistic: expected 'mean' or 'median', got {statistic!r}")
    finite = np.isfinite(x)
    if not finite.any():
        return Interval(np.nan, np.nan, np.nan)
    if finite.all():  # the NaN-aware reducers are several times slower
        reducer = np.mean if statistic == "mean" else np.median
    else:
        reducer = np.nanmean if statistic == "mean" else np.nanmedian
    resampled = reducer(x[indices], axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.nanquantile(resampled, [alpha, 1.0 - alpha])
    return Interval(float(reducer(x)), float(low), float(high))


def non_overlapping(order_keys: np.ndarray, horizon: int) -> np.ndarray:
    """Positions of orders whose windows do not overlap: every T-th order within each key (asset)."""
    keys = np.asarray(order_keys)
    positions = np.arange(keys.size)
    keep = np.zeros(keys.size, dtype=bool)
    for key in np.unique(keys):
        rows = positions[keys == key]
        keep[rows[::horizon]] = True
    return np.flatnonzero(keep)


@dataclass(frozen=True)
class MeanInference:
    """The mean of a series of order results with its uncertainty, by dates (module docstring).

    ``mean`` is the estimate with its percentile date-block-bootstrap CI; ``se_boot`` and ``se_hac``
    the bootstrap and Newey–West standard errors; ``p_value`` the two-sided HAC t-test of mean = 0;
    ``block`` the expected block length used (dates), which is also the HAC lag."""

    mean: Interval
    se_boot: float
    se_hac: float
    p_value: float
    block: int
    n_orders: int
    n_dates: int


def mean_inference(values: np.ndarray, blocks: DateBlocks, level: float = DEFAULT_LEVEL) -> MeanInference:
    """Inference on the mean of ``values`` (one per order, in the orders' own order; NaN dropped)."""
    return mean_inferences([values], blocks, level)[0]


SERIES_BATCH_BYTES = 64 * 2**20  # per-date values ``mean_inferences`` holds at once (series are read lazily)


def mean_inferences(series: list[np.ndarray | Callable[[], np.ndarray]], blocks: DateBlocks,
                    level: float = DEFAULT_LEVEL) -> list[MeanInference]:
    """``mean_inference`` of each of ``series``, the same numbers to the last bit: the series that
    get the same block length are resampled together (``resampled_run_sums_columns``), which is
    several times faster than one at a time.  A series may be a function that returns it: series are
    then read, reduced to their dates and resampled in batches of at most ``SERIES_BATCH_BYTES`` of
    per-date values, so a table over millions of orders never holds all its series at once (each
    result is the same whatever the batch)."""
    out: list[MeanInference] = []
    batch: list[tuple[np.ndarray, np.ndarray]] = []
    held = 0
    for item in series:
        sums, counts = blocks.per_date(item() if callable(item) else item)
        batch.append((sums, counts))
        held += sums.nbytes + counts.nbytes
        if held >= SERIES_BATCH_BYTES:
            out += _dated_inferences(batch, blocks, level)
            batch, held = [], 0
    return out + _dated_inferences(batch, blocks, level)


def _dated_inferences(dated_series: list[tuple[np.ndarray, np.ndarray]], blocks: DateBlocks,
                      level: float) -> list[MeanInference]:
    """``mean_inferences`` of series already reduced to their dates (``DateBlocks.per_date``)."""
    out: list[MeanInference | None] = [None] * len(dated_series)
    pending: dict[int, list[tuple]] = {}  # block -> [(position, per-date sums, per-date counts, estimate)]
    for i, (sums, counts) in enumerate(dated_series):
        total = counts.sum()
        if total == 0:
            nan = Interval(np.nan, np.nan, np.nan)
            out[i] = MeanInference(nan, np.nan, np.nan, np.nan, blocks.floor, 0, 0)
            continue
        estimate = float(sums.sum() / total)
        dated = counts > 0
        if dated.sum() < MIN_DATES:  # too few dates for a CI or a test: the estimate alone
            nan = Interval(estimate, np.nan, np.nan)
            out[i] = MeanInference(nan, np.nan, np.nan, np.nan, blocks.floor, int(total), int(dated.sum()))
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            block = data_block_length(sums[dated] / counts[dated], blocks.floor)
        pending.setdefault(block, []).append((i, sums, counts, estimate))
    for block, members in pending.items():
        runs = blocks.runs(block)
        resampled_sums = resampled_run_sums_columns(np.column_stack([m[1] for m in members]), runs)
        # counts other than the dates' own (missing values) are resampled together too
        differing = [k for k, m in enumerate(members) if not np.array_equal(m[2], blocks.counts)]
        drawn_counts = dict(zip(differing, resampled_run_sums_columns(
            np.column_stack([members[k][2] for k in differing]), runs).T, strict=True)) if differing else {}
        for k, (i, sums, counts, estimate) in enumerate(members):
            with np.errstate(invalid="ignore", divide="ignore"):
                drawn = drawn_counts[k] if k in drawn_counts else blocks.resampled_counts(counts, block)
                resampled = resampled_sums[:, k] / drawn
            out[i] = _mean_result(estimate, sums, counts, resampled, block, level)
    return out


def two_sided_normal_p(z: float) -> float:
    """The two-sided p-value of a standard-normal statistic ``z``: 2·Φ(−|z|) = erfc(|z|/√2) (``math.erfc``,
    accurate in the far tail; ``scipy.special`` would add 0.12–0.2 s of imports to every command)."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def _mean_result(estimate: float, sums: np.ndarray, counts: np.ndarray, resampled: np.ndarray, block: int,
                 level: float) -> MeanInference:
    """The CI, both SEs and the HAC test from the resampled means."""
    dated = counts > 0
    alpha = (1.0 - level) / 2.0
    low, high = np.nanquantile(resampled, [alpha, 1.0 - alpha])
    # the ratio estimator Σ sums / Σ counts, linearised per date (equal counts: the date means)
    scores = (sums[dated] - estimate * counts[dated]) / counts[dated].mean()
    se_hac = hac_se(scores, block)
    if not np.isfinite(se_hac):
        p_value = np.nan
    elif se_hac > 0:
        p_value = two_sided_normal_p(estimate / se_hac)
    else:  # the same value on every date
        p_value = 1.0 if estimate == 0 else 0.0
    return MeanInference(mean=Interval(estimate, float(low), float(high)), se_boot=float(np.nanstd(resampled, ddof=1)),
                         se_hac=se_hac, p_value=p_value, block=block, n_orders=int(counts.sum()),
                         n_dates=int(dated.sum()))


def median_interval(values: np.ndarray, blocks: DateBlocks, block: int, level: float = DEFAULT_LEVEL) -> Interval:
    """The median of ``values`` with a percentile CI, resampling dates (with all their orders) in blocks."""
    x = np.asarray(values, dtype=np.float64)[blocks.order]
    if not np.isfinite(x).any():
        return Interval(np.nan, np.nan, np.nan)
    date_of = np.repeat(np.arange(blocks.n_dates), blocks.counts)  # of each date-sorted order
    resampled = resampled_medians(x, date_of, blocks.n_dates, blocks.runs(block))
    alpha = (1.0 - level) / 2.0
    low, high = np.nanquantile(resampled, [alpha, 1.0 - alpha])
    return Interval(float(np.nanmedian(x)), float(low), float(high))


def paired_comparison(perf_a: np.ndarray, perf_b: np.ndarray, blocks: DateBlocks,
                      level: float = DEFAULT_LEVEL) -> MeanInference:
    """Strategy A minus strategy B on the same orders, in ``perf_bps`` (positive = A is better): the
    mean difference with its date-block CI, both SEs and the HAC test (``mean_inference``)."""
    return mean_inference(paired_difference(perf_a, perf_b), blocks, level)


def paired_difference(perf_a: np.ndarray, perf_b: np.ndarray) -> np.ndarray:
    """A minus B per order, differences below ``ZERO_DIFFERENCE_BPS`` (rounding noise) set to 0: what
    ``paired_comparison`` tests (``mean_inferences`` of several of them is several tests at once)."""
    diff = np.asarray(perf_a, dtype=np.float64) - np.asarray(perf_b, dtype=np.float64)
    return np.where(np.abs(diff) < ZERO_DIFFERENCE_BPS, 0.0, diff)


def holm(p_values: list[float] | np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (``statsmodels``; controls the family-wise error rate under
    any dependence between the tests)."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():  # the family is the tests that were made (NaN: no test)
        from statsmodels.stats.multitest import multipletests  # 2 s to import: only where a table has tests

        out[finite] = multipletests(p[finite], method="holm")[1]
    return out
