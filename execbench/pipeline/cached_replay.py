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

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from execbench.cache import PARTIAL_SUFFIX, code_fingerprint, trim, user_cache_dir
from execbench.contracts import ScenarioGrid
from execbench.engine.replay.columns import Columns, file_columns, part, read_npy_header, read_range
from execbench.engine.replay.store import COUNT_FIELDS, FLOAT_FIELDS, ResultStore, StoreSize
from execbench.orders import OrderWindows
from execbench.results import ReplayResult

CACHE_BYTES = 2**30  # the whole folder (about ten option replays of BTCUSDT 15m)
ENTRY_MAX_BYTES = CACHE_BYTES // 4
_FORMAT = 1  # in every key: bumped when the layout of an entry changes


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
    """A hash of a bars frame: its index (names, dtypes, each level and the codes of a MultiIndex), columns
    (names with their types, dtypes, values) and ``attrs``."""
    index = frame.index
    levels = list(index.levels) if isinstance(index, pd.MultiIndex) else [index]
    digest = hashlib.blake2b(json.dumps([[repr(c) for c in frame.columns], [str(t) for t in frame.dtypes],
                                         [repr(n) for n in index.names], [str(level.dtype) for level in levels],
                                         {k: repr(v) for k, v in sorted(frame.attrs.items())}]).encode())
    _update(digest, *[_plain(level) for level in levels])
    if isinstance(index, pd.MultiIndex):
        _update(digest, *[np.asarray(codes) for codes in index.codes])
    _update(digest, *[_plain(frame[name]) for name in frame.columns])
    return digest.hexdigest()


def _plain(values: pd.Index | pd.Series) -> np.ndarray:
    """``values`` as a NumPy array of fixed-size items: times as their integers (their unit and zone are in
    the dtype ``frame_digest`` hashes), objects as their ``repr``."""
    if isinstance(values, pd.DatetimeIndex):
        return values.asi8
    array = np.asarray(values)
    return np.array([repr(v) for v in array]) if array.dtype == object else array


def replay_key(strategy: object, *parts) -> str:
    """The cache key of a replay of ``strategy``: its class and parameters, ``parts`` (JSON-able: digests,
    labels, parameters), the fingerprint of the code, libraries and machine (``code_fingerprint``) and the
    entries' format."""
    cls = type(strategy)
    return hashlib.sha256(json.dumps([_FORMAT, code_fingerprint(cls), f"{cls.__module__}.{cls.__qualname__}",
                                      strategy.params(), *parts], default=str).encode()).hexdigest()[:40]


def cached_replay(key: Callable[[], str], replay: Callable[[], ReplayResult | None], grid: ScenarioGrid,
                  windows: OrderWindows, *, impact: bool) -> tuple[ReplayResult | None, bool]:
    """``replay()``'s result, from the user cache under ``key()`` (computed only when the cache is on) when
    it is there (the fields of ``grid`` on ``windows``; ``impact`` says whether the result has
    ``achieved_no_impact``).  Returns the result and whether it came from the cache."""
    folder = user_cache_dir("replays")
    if folder is None:
        return replay(), False
    name = key()
    result = _read(folder / name, grid, windows, impact)
    if result is not None:
        return result, True
    result = replay()
    if result is not None:
        _write(folder, name, result)
    return result, False


_FIELDS = FLOAT_FIELDS + COUNT_FIELDS + ("achieved_no_impact",)


def _fields(result: ReplayResult) -> dict[str, np.ndarray | Columns]:
    return {name: getattr(result, name) for name in _FIELDS if getattr(result, name) is not None}


def _read(entry: Path, grid: ScenarioGrid, windows: OrderWindows, impact: bool) -> ReplayResult | None:
    """The result kept in ``entry``; ``None`` if absent, unreadable, short or not of this shape (a damaged
    entry is removed, so that the replay's result takes its place).  Results that
    fit the memory budget are read into a ``ResultStore`` one scenario of one field at a time; past it, the
    result's ``Columns`` read the entry's files themselves (scenario-major, as a store's on disk)."""
    size = StoreSize(len(windows), len(grid), grid.horizon, impact=impact)
    names = FLOAT_FIELDS + COUNT_FIELDS + (("achieved_no_impact",) if impact else ())
    files: dict[str, tuple] = {}
    try:
        meta = json.loads((entry / "meta.json").read_text())
        if meta.get("labels") != list(grid.labels) or meta.get("n_orders") != len(windows) \
                or sorted(meta.get("fields", [])) != sorted(names):
            return None
        for name in names:
            files[name] = _open_columns(entry / f"{name}.npy", (size.n_orders, size.n_scenarios))
        orders, reference = windows.orders_frame(), windows.reference_prices()
        if size.on_disk():
            fields = {name: file_columns(file, (size.n_orders, size.n_scenarios), dtype,
                                         np.int32 if name in COUNT_FIELDS else None, offset)
                      for name, (file, dtype, offset) in files.items()}
            files = {}  # the columns hold them now
            result = ReplayResult(grid=grid, orders=orders, reference=reference, **fields)
        else:  # one scenario of one field at a time, straight into the store's arrays
            store = ResultStore(grid, size, orders=orders, reference=reference)
            store.write_scenarios(lambda name, s: read_range(files[name][0], files[name][1], s * size.n_orders,
                                                             size.n_orders, files[name][2]))
            result = store.result()
    except (ValueError, KeyError, TypeError):  # a damaged entry (written entries are whole): replaced
        shutil.rmtree(entry, ignore_errors=True)
        return None
    except OSError:  # absent, or removed meanwhile
        return None
    finally:
        for file, _, _ in files.values():
            file.close()
    try:
        os.utime(entry)  # recently used (a read-only cache is still read)
    except OSError:
        pass
    return result


def _open_columns(path: Path, shape: tuple[int, int]) -> tuple[object, np.dtype, int]:
    """``path`` (an (n, S) Fortran-ordered ``.npy``) open for reading, its dtype and where its values start;
    a file of another shape or size is refused (``ValueError``)."""
    file = open(path, "rb")  # noqa: SIM115 (the columns read from it hold it open)
    try:
        stored_shape, fortran, dtype = read_npy_header(file)
        offset = file.tell()
        expected = offset + shape[0] * shape[1] * dtype.itemsize
        if tuple(stored_shape) != shape or not fortran or os.fstat(file.fileno()).st_size != expected:
            raise ValueError(f"{path}: shape {stored_shape} and {os.fstat(file.fileno()).st_size} bytes, expected "
                             f"{shape} in Fortran order and {expected} bytes")
    except BaseException:
        file.close()
        raise
    return file, dtype, offset


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
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=PARTIAL_SUFFIX, dir=folder))  # one per writer
    except OSError:
        return
    try:
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
    trim(folder, CACHE_BYTES, keep=folder / key)
