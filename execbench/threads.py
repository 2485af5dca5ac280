"""Running a GIL-free row kernel over blocks of orders on a thread pool (shared by the kernel families: the
engine's replay and impact, the bootstrap, and the strategies' per-order policies)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np

MIN_ROWS_PER_THREAD = 2048  # below this, threads cost more than they save


def run_rows(rows_kernel, n: int, inputs: tuple, outputs: tuple, min_rows: int = MIN_ROWS_PER_THREAD) -> tuple:
    """Run a GIL-free ``rows_kernel(*inputs, start, stop, *outputs)`` over rows 0..n on
    ``numba.config.NUMBA_NUM_THREADS`` threads (one thread unless each gets ``min_rows``); returns
    ``outputs``."""
    threads = max(1, min(nb.config.NUMBA_NUM_THREADS, n // max(1, int(min_rows))))
    if threads == 1:
        rows_kernel(*inputs, 0, n, *outputs)
        return outputs
    bounds = np.linspace(0, n, threads * 4 + 1).astype(np.int64)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        jobs = [pool.submit(rows_kernel, *inputs, int(a), int(b), *outputs)
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        for job in jobs:
            job.result()
    return outputs
