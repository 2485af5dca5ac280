"""Replay-engine benchmark: the full scenario grid over many orders with random valid allocations.

Prints orders×scenarios per second for the Numba kernel (with glibc's default ``malloc``, where each call's
0.8 GB of fresh outputs are newly mapped pages, and again with ``malloc`` reusing freed memory as the console
script sets it), its loop-shaped NumPy twin, a straightforward
vectorised NumPy replay (``broadcast_numpy``: orders × bars × scenarios at once) and, when the upstream PyPI
``lems`` package is installed (``pip install -e .[upstream]``), its keras metric function on the JAX
backend computing the same slippages — all measured in this run, with the ratios.  Also the
kernel's first-call time with an empty Numba cache (compile) and with a warm cache.

    .venv/bin/python benchmarks/bench_engine.py [--orders 200000] [--horizon 12] [--against REV]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time
import types

import numba as nb
import numpy as np

from execbench.allocator import M_MMAP_MAX, M_TRIM_THRESHOLD, TRIM_THRESHOLD, is_glibc, user_tuned
from execbench.contracts import scenario_grid
from execbench.engine import ImpactModel, replay
from execbench.threads import run_rows

COMPILE_SNIPPET = """
import sys, time, numpy as np
if sys.argv[1] == "direct":  # as the console script loads execbench's cached kernels
    from execbench.numba_loading import load_own_kernels_directly
    load_own_kernels_directly()
from execbench.contracts import scenario_grid
from execbench.engine import ImpactModel, replay
g = scenario_grid(4)
a = np.full((8, 4, len(g)), 0.25)
t = time.perf_counter()
replay(np.full((8, 4), 100.0), np.ones((8, 4)), a, g)
print(time.perf_counter() - t)
"""


def first_call_seconds(cache_dir: str, loading: str = "numba") -> float:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET, loading], env=env, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def market(rng, n, horizon):
    prices = 100.0 * np.exp(np.cumsum(rng.normal(0, 2e-3, (n, horizon)), axis=1))
    volumes = rng.gamma(2.0, 1.0, (n, horizon))
    return prices, volumes


def random_allocations(rng, n, horizon, n_scen):
    alloc = rng.random((n, horizon, n_scen))
    # stop early at a random bar on every scenario so realised windows vary
    stop = rng.integers(1, horizon + 1, size=(n, 1, n_scen))
    alloc *= np.arange(horizon)[None, :, None] < stop
    alloc /= alloc.sum(axis=1, keepdims=True)
    return alloc


GLIBC_MMAP_MAX, GLIBC_TRIM_THRESHOLD = 65536, 128 * 1024  # glibc's defaults (its dynamic threshold aside)


def malloc_reuses(reuse: bool) -> None:
    """Set glibc's ``malloc`` as the console script sets it (``reuse``: freed large blocks stay in the heap,
    so the replay's fresh outputs land in memory already mapped) or back to glibc's defaults (every block
    above 32 MB is a fresh ``mmap``, page-faulted in on first write)."""
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    mallopt(M_MMAP_MAX, 0 if reuse else GLIBC_MMAP_MAX)
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD if reuse else GLIBC_TRIM_THRESHOLD)


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def upstream_seconds(prices, volumes, alloc, horizon, batch):
    """Time lems.metrics.buy_vwap_avg_imp (jit-compiled on JAX), which computes the slippage of every
    scenario of the grid, over all orders in batches; return (seconds, its value, our value)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import jax
    import keras
    from lems.metrics import buy_vwap_avg_imp

    if keras.backend.backend() != "jax":
        raise RuntimeError(f"keras backend is {keras.backend.backend()}, expected jax")
    n = prices.shape[0]
    shape = (horizon, horizon + 1, 4, 1)
    metric = jax.jit(buy_vwap_avg_imp)

    def y_true(rows):
        v = np.broadcast_to(volumes[rows][:, :, None, None, None], (len(range(*rows.indices(n))),) + shape).copy()
        v[:, :, :, 1::2, :] = 1.0  # TWAP benchmarks weight every bar equally
        p = np.broadcast_to(prices[rows][:, :, None, None, None], v.shape)
        return np.concatenate([v, p], axis=-1).astype(np.float32)

    batches = [slice(i, min(i + batch, n)) for i in range(0, n, batch)]
    inputs = [(y_true(b), alloc[b].reshape(-1, horizon, horizon + 1, 4, 2).astype(np.float32)) for b in batches]
    if inputs[-1][0].shape[0] != batch:  # keras pads to a fixed batch; keep one compiled shape
        inputs = inputs[:-1]
    metric(*inputs[0]).block_until_ready()  # compile
    t = time.perf_counter()
    values = [float(metric(yt, yp)) for yt, yp in inputs]
    seconds = time.perf_counter() - t
    done = batch * len(inputs)
    return seconds, done, float(np.mean(values))


def with_upstream_eps(prices, volumes, alloc, grid, horizon, eps=1e-7):
    """Mean buy-VWAP flexible improvement (%) computed our way but with upstream's ``eps`` added to
    every denominator (achieved price and benchmark), as upstream does."""
    values = []
    for m in range(1, horizon + 1):
        for target in ("quantity", "notional"):
            a = alloc[:, :, grid.index(f"buy-vwap-{target}-m{m}")]
            traded = a > 1e-9
            last = horizon - 1 - np.argmax(traded[:, ::-1], axis=1)
            in_window = np.arange(horizon)[None, :] <= np.maximum(m - 1, last)[:, None]
            if target == "quantity":
                price = (a * prices).sum(axis=1) / (a.sum(axis=1) + eps)
            else:
                price = a.sum(axis=1) / ((a / prices).sum(axis=1) + eps)
            bench = (volumes * prices * in_window).sum(axis=1) / ((volumes * in_window).sum(axis=1) + eps)
            values.append(-(price / bench - 1.0) * 100.0)
    return float(np.mean(values))


@nb.njit(parallel=True, cache=True)
def read_once(alloc):
    """Sum of the allocations on all threads: one pass over the (n, T, S) array, the memory-bandwidth
    bound of any replay that reads the allocations once (its NumPy twin is ``alloc.sum()``)."""
    n = alloc.shape[0]
    flat = alloc.reshape(n, -1)
    total = 0.0
    for i in nb.prange(n):
        row = 0.0
        for j in range(flat.shape[1]):
            row += flat[i, j]
        total += row
    return total


@nb.njit(nogil=True, cache=True)
def _read_write_rows(alloc, start, stop, f0, f1, f2, f3, i0, i1):
    _, horizon, n_scen = alloc.shape
    acc = np.empty(n_scen)
    for i in range(start, stop):
        acc[:] = 0.0
        for t in range(horizon):
            for s in range(n_scen):
                acc[s] += alloc[i, t, s]
        for s in range(n_scen):
            f0[i, s] = acc[s]
            f1[i, s] = acc[s]
            f2[i, s] = acc[s]
            f3[i, s] = acc[s]
            i0[i, s] = np.int32(acc[s])
            i1[i, s] = np.int32(acc[s])


def read_write_once(alloc):
    """Read the allocations once and write the replay's six (n, S) outputs once (four float64, two int32,
    allocated fresh on the same thread pool as the replay's): the traffic bound of any replay that returns
    them."""
    n, _, n_scen = alloc.shape
    outputs = (*(np.empty((n, n_scen)) for _ in range(4)), *(np.empty((n, n_scen), dtype=np.int32) for _ in range(2)))
    return run_rows(_read_write_rows, n, (alloc,), outputs)[0]


def broadcast_numpy(prices, volumes, alloc, grid):
    """A straightforward vectorised NumPy replay of the same slippages (bps, paper sign), broadcasting
    over orders × bars × scenarios at once: achieved prices from (n, T, S) products, the realised end bar
    from the last trade, the benchmark of that window from cumulative sums.  No constraint checks: the
    slippages only, as a user would write them."""
    arrays = grid.arrays()
    horizon = alloc.shape[1]
    notional = arrays["is_notional"][None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        by_price = np.einsum("nt,nts->ns", prices, alloc)
        by_inverse = np.einsum("nt,nts->ns", 1.0 / prices, alloc)
        total = alloc.sum(axis=1)
        achieved = np.where(notional, total / by_inverse, by_price / total)
        traded = alloc > 1e-12
        last = np.where(traded.any(axis=1), horizon - 1 - np.argmax(traded[:, ::-1, :], axis=1), -1)
        end = np.maximum(arrays["min_period"][None, :] - 1, last)
        twap = np.take_along_axis(np.cumsum(prices, axis=1), end, axis=1) / (end + 1)
        vwap = (np.take_along_axis(np.cumsum(prices * volumes, axis=1), end, axis=1)
                / np.take_along_axis(np.cumsum(volumes, axis=1), end, axis=1))
        bench = np.where(arrays["is_twap"][None, :], twap, vwap)
        return (achieved / bench - 1.0) * 1e4


def kernel_at(rev: str):
    """``replay_rows`` as it was at git revision ``rev``, compiled in this process (no on-disk cache)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source = subprocess.run(["git", "show", f"{rev}:execbench/engine/replay/kernel.py"], cwd=root,
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(f"replay_kernel_at_{rev}")
    exec(compile(source.replace("cache=True", "cache=False"), f"{rev}:kernel.py", "exec"), module.__dict__)
    return module.replay_rows


def against(rev, prices, volumes, alloc, grid, qty, notional, repeats):
    """Time the kernel at ``rev`` and the current one alternately (fresh outputs each call, as ``replay``
    allocates them), on one thread and on all; check their outputs are identical."""
    from execbench.engine.replay.codes import SUM_TOLERANCE
    from execbench.engine.replay.kernel import replay_rows

    n, _, n_scen = alloc.shape
    inputs = (prices, volumes, alloc, qty, notional, *grid.arrays().values(), SUM_TOLERANCE)

    def fresh():
        return (*(np.empty((n, n_scen)) for _ in range(4)), *(np.empty((n, n_scen), dtype=np.int32) for _ in range(2)),
                np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))

    kernels = {rev: kernel_at(rev), "current": replay_rows}
    outputs = [run_rows(kernel, n, inputs, fresh()) for kernel in kernels.values()]
    identical = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(*outputs))
    print(f"the kernel at {rev} against the current one, alternating, best of {repeats} "
          f"(outputs {'identical, bit for bit' if identical else 'DIFFERENT'}):")
    all_threads = nb.config.NUMBA_NUM_THREADS
    for threads in sorted({1, all_threads}):
        nb.config.NUMBA_NUM_THREADS = threads  # run_rows reads it at each call
        best = dict.fromkeys(kernels, np.inf)
        for _ in range(repeats):
            for name, kernel in kernels.items():
                out = fresh()
                t = time.perf_counter()
                run_rows(kernel, n, inputs, out)
                best[name] = min(best[name], time.perf_counter() - t)
                del out
        rates = {name: n * n_scen / seconds for name, seconds in best.items()}
        print(f"  {threads} thread(s): {rev} {rates[rev]:,.0f}/s, current {rates['current']:,.0f}/s "
              f"({rates['current'] / rates[rev]:.2f}x)")
    nb.config.NUMBA_NUM_THREADS = all_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--upstream-batch", type=int, default=10_000)
    parser.add_argument("--against", metavar="REV", help="also time the replay kernel as it was at git revision REV "
                        "against the current one, alternately in this process (e.g. --against 530212c)")
    args = parser.parse_args()
    n, horizon = args.orders, args.horizon
    grid = scenario_grid(horizon)
    n_scen = len(grid)
    print(f"replay benchmark: {n:,} orders × {n_scen} scenarios (T={horizon}), {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory() as cache:
        cold = first_call_seconds(cache)
        warm = first_call_seconds(cache)
        direct = first_call_seconds(cache, "direct")
    print(f"first call, empty Numba cache (compile): {cold:.2f} s; with the on-disk cache: {warm:.2f} s, "
          f"{direct:.2f} s loaded as the console script loads it (execbench.numba_loading)")

    rng = np.random.default_rng(0)
    prices, volumes = market(rng, n, horizon)
    alloc = random_allocations(rng, n, horizon, n_scen)
    work = n * n_scen

    replay(prices[:10], volumes[:10], alloc[:10], grid)  # load the cached kernels
    # both paths include the allocation check (sign, finiteness, sum to 1), fused into the kernel
    t_numba, fast = best_of(lambda: replay(prices, volumes, alloc, grid), args.repeats)
    t_numpy, slow = best_of(lambda: replay(prices, volumes, alloc, grid, backend="numpy"), 1)
    assert np.allclose(fast.bps, slow.bps, rtol=1e-10, atol=1e-9, equal_nan=True), "kernel and twin disagree"
    rows = [("numba kernel (replay)", t_numba), ("numpy twin (replay, backend=numpy)", t_numpy)]
    # the vectorised NumPy baseline, in chunks of orders so its (n × T × S) temporaries fit in memory
    step = 20_000
    t_broadcast, broad = best_of(lambda: np.concatenate([broadcast_numpy(prices[k:k + step], volumes[k:k + step],
                                                                         alloc[k:k + step], grid)
                                                         for k in range(0, n, step)]), 1)
    assert np.allclose(fast.bps, broad, rtol=1e-9, atol=1e-7, equal_nan=True), "kernel and broadcast NumPy disagree"
    rows.append(("numpy vectorised (broadcast, no checks)", t_broadcast))
    read_once(alloc[:10])
    t_read, total = best_of(lambda: read_once(alloc), args.repeats)
    assert np.isclose(total, alloc.sum(), rtol=1e-9), "read_once disagrees with alloc.sum()"
    rows.append((f"bound: read the allocations once ({alloc.nbytes / 2**30:.1f} GiB)", t_read))
    read_write_once(alloc[:10])
    t_read_write, sums = best_of(lambda: read_write_once(alloc), args.repeats)
    assert np.allclose(sums, alloc.sum(axis=1)), "read_write_once disagrees with alloc.sum(axis=1)"
    rows.append(("bound: read them and write the six outputs once", t_read_write))
    # with market impact: the no-impact kernel (constraints, end bars) plus the impact kernel
    window_volume = volumes.sum(axis=1)
    qty = 0.01 * window_volume
    impact = ImpactModel(eps=0.01, beta=0.5, gamma=0.01)
    t_impact, _ = best_of(lambda: replay(prices, volumes, alloc, grid, order_qty=qty, order_notional=qty * prices[:, 0],
                                         window_volume=window_volume, impact=impact), args.repeats)
    rows.append(("numba kernel with impact (replay)", t_impact))

    try:
        t_up, done, up_value = upstream_seconds(prices, volumes, alloc, horizon, args.upstream_batch)
        ours = -np.mean(fast.bps[: done, [grid.index(f"buy-vwap-{a}-m{m}") for m in range(1, horizon + 1)
                                         for a in ("quantity", "notional")]]) / 100.0
        rows.append(("upstream lems metric (jax, jit)", t_up * n / done))
        ours_eps = with_upstream_eps(prices[:done], volumes[:done], alloc[:done], grid, horizon)
        upstream_note = (
            f"same slippages? buy-VWAP flexible mean improvement over {done:,} orders: upstream {up_value:.6f} %, "
            f"execbench {ours:.6f} %, execbench with upstream's eps=1e-7 in the denominators {ours_eps:.6f} % "
            f"(upstream's eps biases notional-target prices by ~eps x price level)")
    except ImportError:
        upstream_note = "upstream lems not installed (pip install -e .[upstream]): skipped"
    # the same two measured as the console script runs (execbench.allocator): the replay's fresh outputs
    # (0.8 GB per call here) then land in memory freed by the previous call instead of fresh mmapped pages;
    # last, because setting mallopt back leaves glibc's adaptive mmap threshold off
    reused = is_glibc() and not user_tuned()
    if reused:
        malloc_reuses(True)
        t_reused, _ = best_of(lambda: replay(prices, volumes, alloc, grid), args.repeats)
        t_read_write_reused, _ = best_of(lambda: read_write_once(alloc), args.repeats)
        malloc_reuses(False)
        rows.append(("numba kernel (replay), malloc reusing", t_reused))
        rows.append(("bound: read and write once, malloc reusing", t_read_write_reused))

    print(f"{'path':<44}{'seconds':>9}{'orders×scen/s':>16}{'time / kernel':>15}")
    for name, seconds in rows:
        print(f"{name:<44}{seconds:>9.3f}{work / seconds:>16,.0f}{seconds / t_numba:>14.1f}×")
    print(f"the kernel runs at {t_read / t_numba:.0%} of the bound for reading the allocations once and at "
          f"{t_read_write / t_numba:.0%} of the bound for reading them and writing its outputs (target: ≥ 100 M/s)")
    if reused:
        print(f"with malloc reusing freed memory, as the console script sets it (execbench.allocator): "
              f"{work / t_reused:,.0f}/s, {t_reused / t_numba:.2f}x the time with glibc's default malloc, at "
              f"{t_read / t_reused:.0%} of the read bound and {t_read_write_reused / t_reused:.0%} of the "
              f"read-and-write bound measured the same way")
    else:
        print("malloc reusing freed memory: skipped (not glibc, or malloc tuned in the environment)")
    print(upstream_note)
    if args.against:
        against(args.against, prices, volumes, alloc, grid, qty, qty * prices[:, 0], max(args.repeats, 7))


if __name__ == "__main__":
    main()
