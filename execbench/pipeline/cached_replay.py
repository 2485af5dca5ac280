"""Replays that are pure functions of their inputs, kept in the user cache (``execbench.cache``).

The option replay of an evaluation (``optstop`` fitted on the training bars, replayed on the test orders
for the flexible scenarios) depends only on the bars, the orders, the scenarios, the impact model and the
code; every ``run`` and ``compare`` on the same market replays it again (about 1.2 s on BTCUSDT's 29k
orders).  ``cached_replay`` keeps its per-order fields under ``user_cache_dir("replays")``, one folder of
``.npy`` files per key.  The key hashes every input byte (``windows_digest``, ``frame_digest``), the
source of every module of the package and of the strategy's own folder (``code_fingerprint``) and the
versions of Python, NumPy, Numba, pandas and SciPy, so editing the code or the data never serves a stale
entry.

A hit is read back into a ``ResultStore`` one scenario of one field at a time while the results fit its
memory budget; past it, the result's ``Columns`` read the entry's files themselves.  Either way the
result is the one the replay would give, bit for bit, in no more memory.  The folder is kept under
``CACHE_BYTES`` (the least recently used entries go first); a result larger than ``ENTRY_MAX_BYTES`` is
not kept.  ``EXECBENCH_CACHE_DIR=off`` turns it off.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from execbench.cache import user_cache_dir
from execbench.contracts import ScenarioGrid
from execbench.engine.replay.columns import Columns, file_columns, part, read_range
from execbench.engine.replay.store import COUNT_FIELDS, FLOAT_FIELDS, ResultStore, StoreSize
from execbench.orders import OrderWindows
from execbench.results import ReplayResult

CACHE_BYTES = 2**30  # the whole folder (about ten option replays of BTCUSDT 15m)
ENTRY_MAX_BYTES = CACHE_BYTES // 4
STALE_SECONDS = 3600  # a half-written entry older than this belongs to a process that died
_FORMAT = 1  # bumped when the layout of an entry changes


def code_fingerprint(*classes: type) -> str:
    """A hash of the source of every module of ``execbench`` and of the packages that define ``classes``
    (a strategy's own folder: the built-ins and their helpers), with the versions of Python, NumPy, Numba,
    pandas and SciPy (the files are read once per process)."""
    import execbench

    roots = {Path(execbench.__file__).parent}
    for cls in classes:  # a module of a package: its folder; a lone file (``FILE.py:Class``): that file
        source = Path(inspect.getfile(cls))
        roots.add(source.parent if "." in cls.__module__ else source)
    return _fingerprint(tuple(sorted(roots)))


@functools.cache
def _fingerprint(roots: tuple[Path, ...]) -> str:
    versions = [sys.version, *(version(name) for name in ("numpy", "numba", "pandas", "scipy")), _FORMAT]
    digest = hashlib.sha256(json.dumps(versions).encode())
    files = {p for root in roots for p in (root.rglob("*.py") if root.is_dir() else [root])}
    for path in sorted(files):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def _update(digest, *arrays: np.ndarray) -> None:
    for values in arrays:
        values = np.ascontiguousarray(values)
        digest.update(f"{values.dtype.str}{values.shape}".encode())
        digest.update(memoryview(values.reshape(-1).view(np.uint8)))


def windows_digest(windows: OrderWindows) -> str:
    """A hash of everything that defines ``windows``: horizon, frequency, calendar, order size, every series'
    times, prices and volumes, and each order's asset and origin."""
    digest = hashlib.blake2b(json.dumps([windows.horizon, windows.freq, windows.calendar, windows.order_size,
                                         [s.asset for s in windows.series]]).encode())
    for series in windows.series:
        _update(digest, series.times, series.prices, series.volumes)
    _update(digest, windows.asset_id, windows.origin)
    return digest.hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    """A hash of a bars frame: its index (each level and the codes of a MultiIndex), columns (names, dtypes,
    values) and ``attrs``."""
    digest = hashlib.blake2b(json.dumps([list(map(str, frame.columns)),
                                         {k: str(v) for k, v in sorted(frame.attrs.items())}]).encode())
    index = frame.index
    if isinstance(index, pd.MultiIndex):
        _update(digest, *[_plain(level) for level in index.levels], *[np.asarray(c) for c in index.codes])
    else:
        _update(digest, _plain(index))
    _update(digest, *[_plain(frame[name]) for name in frame.columns])
    return digest.hexdigest()


def _plain(values: pd.Index | pd.Series) -> np.ndarray:
    """``values`` as a NumPy array of fixed-size items (times as int64 nanoseconds, objects as strings)."""
    if isinstance(values, pd.DatetimeIndex):
        return np.concatenate([values.asi8, np.frombuffer(str(values.tz).encode(), dtype=np.uint8).astype(np.int64)])
    array = np.asarray(values)
    return array.astype(str) if array.dtype == object else array


def replay_key(strategy: object, *parts) -> str:
    """The cache key of a replay of ``strategy``: its class and parameters, ``parts`` (JSON-able: digests,
    labels, parameters) and the fingerprint of the code (``code_fingerprint``)."""
    cls = type(strategy)
    return hashlib.sha256(json.dumps([code_fingerprint(cls), f"{cls.__module__}.{cls.__qualname__}",
                                      strategy.params(), *parts], default=str).encode()).hexdigest()[:40]


def cached_replay(key: str, replay: Callable[[], ReplayResult | None], grid: ScenarioGrid,
                  windows: OrderWindows, *, impact: bool) -> tuple[ReplayResult | None, bool]:
    """``replay()``'s result, from the user cache under ``key`` when it is there (the fields of ``grid`` on
    ``windows``; ``impact`` says whether the result has ``achieved_no_impact``).  Returns the result and
    whether it came from the cache."""
    folder = user_cache_dir("replays")
    if folder is not None:
        result = _read(folder / key, grid, windows, impact)
        if result is not None:
            return result, True
    result = replay()
    if folder is not None and result is not None:
        _write(folder, key, result)
    return result, False


_FIELDS = FLOAT_FIELDS + COUNT_FIELDS + ("achieved_no_impact",)


def _fields(result: ReplayResult) -> dict[str, np.ndarray | Columns]:
    return {name: getattr(result, name) for name in _FIELDS if getattr(result, name) is not None}


def _read(entry: Path, grid: ScenarioGrid, windows: OrderWindows, impact: bool) -> ReplayResult | None:
    """The result kept in ``entry``; ``None`` if absent, unreadable or not of this shape.  Results that fit
    the memory budget are read into a ``ResultStore`` one scenario of one field at a time; past it, the result's
    ``Columns`` read the entry's files themselves (scenario-major, as a store's on disk)."""
    size = StoreSize(len(windows), len(grid), grid.horizon, impact=impact)
    names = FLOAT_FIELDS + COUNT_FIELDS + (("achieved_no_impact",) if impact else ())
    try:
        meta = json.loads((entry / "meta.json").read_text())
        if meta.get("labels") != list(grid.labels) or meta.get("n_orders") != len(windows) \
                or sorted(meta.get("fields", [])) != sorted(names):
            return None
        files = {name: _open_columns(entry / f"{name}.npy", (size.n_orders, size.n_scenarios)) for name in names}
        orders, reference = windows.orders_frame(), windows.reference_prices()
        if size.on_disk():
            fields = {name: file_columns(file, (size.n_orders, size.n_scenarios), dtype,
                                         np.int32 if name in COUNT_FIELDS else None, offset)
                      for name, (file, dtype, offset) in files.items()}
            result = ReplayResult(grid=grid, orders=orders, reference=reference, **fields)
        else:  # one scenario of one field at a time, straight into the store's arrays
            store = ResultStore(grid, size, orders=orders, reference=reference)
            store.write_scenarios(lambda name, s: read_range(files[name][0], files[name][1], s * size.n_orders,
                                                             size.n_orders, files[name][2]))
            for file, _, _ in files.values():
                file.close()
            result = store.result()
        os.utime(entry)  # recently used
        return result
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _open_columns(path: Path, shape: tuple[int, int]) -> tuple[object, np.dtype, int]:
    """``path`` (an (n, S) Fortran-ordered ``.npy``) open for reading, its dtype and where its values start."""
    file = open(path, "rb")  # noqa: SIM115 (the columns read from it hold it open)
    version = np.lib.format.read_magic(file)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    stored_shape, fortran, dtype = read_header[version](file)
    if tuple(stored_shape) != shape or not fortran:
        file.close()
        raise ValueError(f"{path}: shape {stored_shape}, expected {shape} in Fortran order")
    return file, dtype, file.tell()


def _write(folder: Path, key: str, result: ReplayResult) -> None:
    """Keep ``result``'s fields under ``folder / key``, each an (n, S) Fortran-ordered ``.npy`` (one scenario
    after another), atomically (a finished folder is renamed), then trim the cache to ``CACHE_BYTES``; a
    cache that cannot be written is skipped."""
    fields = _fields(result)
    shape = (result.n_orders, len(result.grid))
    count_dtype = StoreSize(*shape, result.horizon).count_dtype
    dtypes = {name: np.dtype(count_dtype if name in COUNT_FIELDS else np.float64) for name in fields}
    if sum(shape[0] * shape[1] * dtype.itemsize for dtype in dtypes.values()) > ENTRY_MAX_BYTES:
        return
    partial = folder / f".{key}.{os.getpid()}.{threading.get_ident()}.partial"  # sweeps write from threads
    try:
        partial.mkdir(parents=True, exist_ok=True)
        for name, values in fields.items():
            with open(partial / f"{name}.npy", "wb") as file:
                np.lib.format.write_array_header_1_0(file, {"descr": np.lib.format.dtype_to_descr(dtypes[name]),
                                                            "fortran_order": True, "shape": shape})
                for s in range(shape[1]):
                    file.write(np.ascontiguousarray(part(values, s, 0, shape[0]), dtype=dtypes[name]).data)
        (partial / "meta.json").write_text(json.dumps({"labels": list(result.grid.labels), "n_orders": shape[0],
                                                       "fields": list(fields)}))
        os.replace(partial, folder / key)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        return
    _trim(folder)


def _trim(folder: Path) -> None:
    """Remove the least recently used entries until the folder holds at most ``CACHE_BYTES``, and entries
    left half-written (by a process that died) over ``STALE_SECONDS`` ago."""
    try:
        entries = [(e.stat().st_mtime, sum(f.stat().st_size for f in e.iterdir()), e)
                   for e in folder.iterdir() if e.is_dir()]
    except OSError:
        return
    stale = time.time() - STALE_SECONDS
    for mtime, _, entry in entries:
        if entry.name.startswith(".") and mtime < stale:
            shutil.rmtree(entry, ignore_errors=True)
    entries = [e for e in entries if not e[2].name.startswith(".")]
    total = sum(size for _, size, _ in entries)
    for _, size, entry in sorted(entries, key=lambda e: e[0]):
        if total <= CACHE_BYTES:
            break
        shutil.rmtree(entry, ignore_errors=True)
        total -= size
