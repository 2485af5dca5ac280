"""(orders × scenarios) arrays that need not be in memory: ``Columns`` (read one scenario at a time) and
``StoredRows`` (read a block of orders at a time), and the scenario tables they are read from.

A ``Columns`` is a read-only (n, S) array given by a function that returns one scenario's values for a
range of orders.  Indexing a scenario (``values[:, s]``, ``values[rows, s]``) reads that column only.  An elementwise NumPy
ufunc of it (``achieved / benchmark - 1``, ``np.isfinite(bps)``, with scalars and arrays broadcast against
(n, S) as NumPy would) is another ``Columns``, computed column by column when read, with the
floating-point error settings in force where it was written.  Everything else (``np.asarray``, reductions,
other indexing, ndarray methods such as ``mean`` or ``all``) materialises the whole array: correct, but the
memory a column store exists to avoid.

Elementwise arithmetic gives the same value per element whichever way it is evaluated, so statistics
computed column by column are bit-identical to the same statistics over columns of an in-memory array.
"""

from __future__ import annotations

import errno
import itertools
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from execbench.errors import DataError

COLUMN_CACHE_BYTES = 64 * 2**20  # decoded columns a disk store keeps (least recently read out first)


class _PerOrder:
    """What ``Columns`` and ``StoredRows`` share: a read-only (n, ...) array of ``dtype`` read by ``block``
    (the orders ``start`` to ``stop``, whole), materialised by ``np.asarray`` and pickled as that array."""

    def __init__(self, shape: tuple[int, ...], dtype: Any, read: Callable):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self._read = read

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def block(self, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError

    def blocks(self, size: int) -> Iterator[np.ndarray]:
        """Consecutive blocks of at most ``size`` orders (``block``), in order."""
        for start in range(0, self.shape[0], size):
            yield self.block(start, start + size)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.block(0, self.shape[0])
        return out if dtype is None else out.astype(dtype, copy=False)

    def __reduce__(self):  # pickled (sent to another process) as the array it stands for
        return (np.asarray, (np.asarray(self),))


class Columns(_PerOrder):
    """A read-only (n, S) array held as columns (module docstring).

    Parameters
    ----------
    shape
        (n, S).
    dtype
        The dtype of every column.
    read
        ``read(s, start, stop)`` returns scenario ``s``'s values (0 ≤ s < S) for the orders ``start`` to
        ``stop`` as a 1-D array.
    """

    __array_priority__ = 1000  # binary operators with an ndarray come here (``__array_ufunc__``)

    def __repr__(self) -> str:
        return f"Columns({self.shape[0]:,} orders × {self.shape[1]} scenarios, {self.dtype}, read by column)"

    def column(self, s: int) -> np.ndarray:
        """The n values of scenario ``s`` (negative counts from the end)."""
        return self.part(s, 0, self.shape[0])

    def part(self, s: int, start: int, stop: int) -> np.ndarray:
        """Scenario ``s``'s values for the orders ``start`` to ``stop`` (clipped to 0..n, as a slice is)."""
        n, n_scen = self.shape
        if not -n_scen <= s < n_scen:
            raise IndexError(f"Columns: scenario {s} out of range for {n_scen} scenarios")
        start, stop, _ = slice(start, stop).indices(n)
        return self._read(int(s) % n_scen, start, max(start, stop))

    def block(self, start: int, stop: int) -> np.ndarray:
        """Every scenario of the orders ``start`` to ``stop``, a C-ordered (stop − start, S) array."""
        stop = min(stop, self.shape[0])
        out = np.empty((max(0, stop - start), self.shape[1]), dtype=self.dtype)
        for s in range(self.shape[1]):
            out[:, s] = self._read(s, start, stop)
        return out

    def columns(self, selection: Any = slice(None), rows: Any = slice(None)) -> np.ndarray:
        """The scenarios at ``selection`` (a slice, indices or a mask over S) as an (n, k) array, of the
        orders at ``rows`` only if given (read one column at a time)."""
        picked = np.arange(self.shape[1])[selection]
        first = self.column(int(picked[0]))[rows] if len(picked) else np.arange(self.shape[0])[rows]
        out = np.empty((len(first), len(picked)), dtype=self.dtype)  # C-ordered, as NumPy's own result
        for j, s in enumerate(picked):
            out[:, j] = first if j == 0 else self.column(int(s))[rows]
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        """``[rows, s]`` reads one scenario; ``[rows, slice]``, ``[:, indices or mask]`` and ``[rows]`` (a slice,
        indices or a mask over orders) read the scenarios they need one at a time; any other key indexes
        the materialised array (NumPy's semantics, e.g. paired index arrays)."""
        if isinstance(key, tuple) and len(key) == 1:
            key = key[0]
        if isinstance(key, tuple) and len(key) == 2 and _rows_key(key[0]):
            rows, cols = key
            if isinstance(cols, (int, np.integer)) and not isinstance(cols, (bool, np.bool_)):
                values = self.column(int(cols))
                return values if _whole(rows) else values[rows]
            if isinstance(cols, slice) or (_whole(rows) and _rows_key(cols)):
                return self.columns(cols, rows)
        elif not isinstance(key, tuple) and _rows_key(key) and not _whole(key):
            return self.columns(slice(None), key)
        return np.asarray(self)[key]

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(np.asarray(self))

    def __bool__(self) -> bool:
        return bool(np.asarray(self))  # NumPy's truth value: ambiguous (an error) for more than one element

    def __getattr__(self, name: str) -> Any:
        """Any other public ndarray attribute (``mean``, ``all``, ``T`` ...) of the materialised array."""
        if name.startswith("_") or not hasattr(np.ndarray, name):
            raise AttributeError(f"'Columns' object has no attribute {name!r}")
        return getattr(np.asarray(self), name)

    def astype(self, dtype: Any, **kwargs: Any) -> "Columns":
        """The same columns cast to ``dtype`` (still read by column; NumPy's other arguments are ignored:
        every read is a new array)."""
        return Columns(self.shape, dtype, lambda s, start, stop: self._read(s, start, stop).astype(dtype))

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or kwargs or ufunc.nout != 1:
            plain = [np.asarray(x) if isinstance(x, Columns) else x for x in inputs]
            return getattr(ufunc, method)(*plain, **kwargs)
        operands = [_operand(x, self.shape) for x in inputs]
        settings = np.geterr()

        def read(s: int, start: int, stop: int) -> np.ndarray:
            with np.errstate(**settings):
                return ufunc(*(operand(s, start, stop) for operand in operands))

        with np.errstate(all="ignore"):
            dtype = ufunc(*(_sample(x) for x in inputs)).dtype
        return Columns(self.shape, dtype, read)

    # the operators NumPy arrays have, as ufuncs (so that they stay column by column)
    def __add__(self, other): return np.add(self, other)
    def __radd__(self, other): return np.add(other, self)
    def __sub__(self, other): return np.subtract(self, other)
    def __rsub__(self, other): return np.subtract(other, self)
    def __mul__(self, other): return np.multiply(self, other)
    def __rmul__(self, other): return np.multiply(other, self)
    def __truediv__(self, other): return np.true_divide(self, other)
    def __rtruediv__(self, other): return np.true_divide(other, self)
    def __neg__(self): return np.negative(self)
    def __gt__(self, other): return np.greater(self, other)
    def __ge__(self, other): return np.greater_equal(self, other)
    def __lt__(self, other): return np.less(self, other)
    def __le__(self, other): return np.less_equal(self, other)
    def __eq__(self, other): return np.equal(self, other)  # type: ignore[override]
    def __ne__(self, other): return np.not_equal(self, other)  # type: ignore[override]
    __hash__ = None  # type: ignore[assignment]


def part(values: np.ndarray | Columns, s: int, start: int, stop: int) -> np.ndarray:
    """Scenario ``s``'s values for the orders ``start`` to ``stop``, of an array or ``Columns``."""
    return values.part(s, start, stop) if isinstance(values, Columns) else values[start:stop, s]


def _whole(key: Any) -> bool:
    return isinstance(key, slice) and key == slice(None)


def _rows_key(key: Any) -> bool:
    """A key that picks along one axis as itself: a slice, or a 1-D array of indices or a mask."""
    if isinstance(key, slice):
        return True
    if isinstance(key, (list, np.ndarray)):
        values = np.asarray(key)
        return values.ndim == 1 and (values.dtype == bool or np.issubdtype(values.dtype, np.integer) or values.size == 0)
    return False


def _sample(x: Any) -> Any:
    """A one-element stand-in of ``x`` with its dtype (Python scalars as they are: NumPy promotes them weakly)."""
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    return np.zeros(1, dtype=x.dtype) if isinstance(x, (Columns, np.ndarray)) else x


def _operand(x: Any, shape: tuple[int, int]) -> Callable[[int, int, int], Any]:
    """``x``'s part in scenario ``s``'s column for orders ``start`` to ``stop``, broadcast against (n, S) as
    NumPy broadcasts."""
    n, n_scen = shape
    if isinstance(x, Columns):
        if x.shape != shape:
            raise ValueError(f"Columns: operands of shapes {x.shape} and {shape} do not match")
        return x.part
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    if not isinstance(x, np.ndarray) or x.ndim == 0:
        return lambda s, start, stop: x
    if x.ndim > 2 or x.shape[-1] not in (1, n_scen) or (x.ndim == 2 and x.shape[0] not in (1, n)):
        raise ValueError(f"Columns: cannot broadcast an array of shape {x.shape} against {shape}")
    values = x.reshape(1, -1) if x.ndim == 1 else x
    pick = (lambda s: s) if values.shape[1] == n_scen else (lambda s: 0)
    if values.shape[0] == n:
        return lambda s, start, stop: values[start:stop, pick(s)]
    return lambda s, start, stop: values[0, pick(s):pick(s) + 1]


class StoredRows(_PerOrder):
    """A read-only (n, ...) array of per-order values (kept allocations) read a block of orders at a time
    (``block``, ``blocks``); ``read(start, stop)`` returns those orders."""

    def __repr__(self) -> str:
        return f"StoredRows({self.shape[0]:,} orders × {self.shape[1:]}, {self.dtype}, read by block of orders)"

    def block(self, start: int, stop: int) -> np.ndarray:
        """The orders ``start`` to ``stop`` (final order)."""
        return self._read(int(start), int(min(stop, self.shape[0])))

    def __getitem__(self, key: Any) -> np.ndarray:
        """``[:, ...]`` (every order, any selection within a row, e.g. ``[:, :, k]``) is read a block of orders
        at a time; any other key reads the whole array first."""
        if isinstance(key, tuple) and key and _whole(key[0]) and len(self):
            rest = (slice(None), *key[1:])
            return np.concatenate([block[rest] for block in self.blocks(STORED_BLOCK_ROWS)])
        return np.asarray(self)[key]


STORED_BLOCK_ROWS = 16384  # orders per block when ``StoredRows`` are read for a selection within each row


class _ColumnCache:
    """Decoded columns of a store, at most ``budget`` bytes, least recently read out first."""

    def __init__(self, budget: int = COLUMN_CACHE_BYTES):
        self.budget, self.held, self.items = budget, 0, OrderedDict()
        self.lock = threading.Lock()  # sweeps run cells as threads of one process

    def get(self, key: Any, make: Callable[[], np.ndarray]) -> np.ndarray:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        value.flags.writeable = False
        with self.lock:
            if value.nbytes <= self.budget and key not in self.items:
                self.items[key] = value
                self.held += value.nbytes
                while self.held > self.budget:
                    _, old = self.items.popitem(last=False)
                    self.held -= old.nbytes
        return value


_CACHE = _ColumnCache()  # one budget for the process: every disk table's columns share it
_TOKENS = itertools.count()  # a key per table (ids are reused after a table is freed)


def _pread_into(fd: int, buffer: np.ndarray, offset: int) -> None:
    view = memoryview(buffer.reshape(-1).view(np.uint8))
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], offset + done)
        if got <= 0:
            raise OSError(f"short read from a result store at byte {offset + done}")
        done += got


def _pwrite_all(fd: int, data: np.ndarray, offset: int) -> None:
    view = memoryview(np.ascontiguousarray(data).reshape(-1).view(np.uint8))
    done = 0
    while done < len(view):
        try:
            done += os.pwrite(fd, view[done:], offset + done)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            raise DataError(f"temporary results: no space left on the disk of {tempfile.gettempdir()}; point TMPDIR "
                            "at a larger disk, shorten the test period, or raise EXECBENCH_RESULTS_MEMORY_MB") from None


class ScenarioTable:
    """One (n, S) field of a result, filled chunk by chunk with the orders at ``rows`` (any order) and read
    back in the final order.  In memory, a C-ordered (n, S) array of ``read_dtype`` written in place (the
    layout a concatenation gives, so whole-array reductions add in the same order).  On disk, an unlinked
    temporary file of ``dtype``, scenario-major: the chunks are appended to each scenario's stretch, then
    (``array()``) rewritten in the final order, one column at a time, so that any orders of a scenario are
    one read; it is read back as ``Columns`` of ``read_dtype``, whole columns through the process's
    column cache."""

    def __init__(self, n: int, n_scen: int, dtype: Any, *, on_disk: bool, directory: str | None = None,
                 read_dtype: Any = None):
        self.n, self.n_scen, self.dtype = n, n_scen, np.dtype(dtype)
        self.read_dtype = np.dtype(read_dtype or dtype)
        self.on_disk, self.directory = on_disk, directory
        self._filled = 0
        if on_disk:
            self._file = _sized_file(n * n_scen * self.dtype.itemsize, directory)
        else:
            self.buffer = np.empty((n, n_scen), dtype=self.read_dtype)
        self._array: np.ndarray | Columns | None = None

    def write(self, rows: np.ndarray, values: np.ndarray) -> None:
        """The orders at final positions ``rows``: ``values`` (len(rows), S)."""
        if self._array is not None:
            raise ValueError("ScenarioTable: written after it was read back")
        if not self.on_disk:
            self.buffer[rows] = values
            return
        by_scenario = np.ascontiguousarray(values.T, dtype=self.dtype)
        size = self.dtype.itemsize
        for s in range(self.n_scen):
            _pwrite_all(self._file.fileno(), by_scenario[s], (s * self.n + self._filled) * size)
        self._filled += len(rows)

    def array(self, order: np.ndarray) -> np.ndarray | Columns:
        """The filled (n, S) array (``Columns`` on disk); ``order`` (``final_order`` of the rows written, in
        the order written) says where each final position's order was stored."""
        if self._array is None:
            self._array = self._read_back(order) if self.on_disk else self.buffer
        return self._array

    def _read_back(self, order: np.ndarray) -> Columns:
        n, size = self.n, self.dtype.itemsize
        if np.array_equal(order, np.arange(n)):  # written in final order (a streamed load): read in place
            return file_columns(self._file, (n, self.n_scen), self.dtype, self.read_dtype)
        final = _sized_file(n * self.n_scen * size, self.directory)
        stored = np.empty(n, dtype=self.dtype)
        for s in range(self.n_scen):
            _pread_into(self._file.fileno(), stored, s * n * size)
            _pwrite_all(final.fileno(), stored[order], s * n * size)
        self._file.close()
        self._file = final  # lives as long as the columns read from it (``read`` holds it)
        return file_columns(final, (n, self.n_scen), self.dtype, self.read_dtype)


class RowTable:
    """Per-order blocks (n, ...) filled chunk by chunk at ``rows`` and read back in final order: in memory,
    an array written in place; on disk, an unlinked temporary file each row is written straight to its
    final place in (one write per run of consecutive places: no second copy to reorder), read back as
    ``StoredRows``."""

    def __init__(self, n: int, row_shape: tuple[int, ...], dtype: Any, *, on_disk: bool, directory: str | None = None):
        self.n, self.row_shape, self.dtype, self.on_disk = n, tuple(row_shape), np.dtype(dtype), on_disk
        self.row_size = int(np.prod(self.row_shape))
        if on_disk:
            self._file = _sized_file(n * self.row_size * self.dtype.itemsize, directory)
        else:
            self.buffer = np.empty((n, *self.row_shape), dtype=self.dtype)

    def write(self, rows: np.ndarray, values: np.ndarray) -> None:
        if not self.on_disk:
            self.buffer[rows] = values
            return
        rows = np.asarray(rows)
        if not rows.size:
            return
        by_place = np.argsort(rows, kind="stable")
        places = rows[by_place]
        flat = np.ascontiguousarray(values, dtype=self.dtype).reshape(len(rows), self.row_size)[by_place]
        row_bytes = self.row_size * self.dtype.itemsize
        # a chunk's calls are independent batches spread over the period, but neighbouring batches hold
        # neighbouring orders: sorted by place, the rows form runs, each written at once
        breaks = np.flatnonzero(np.diff(places) != 1) + 1
        for first, stop in zip(np.r_[0, breaks], np.r_[breaks, len(places)], strict=True):
            _pwrite_all(self._file.fileno(), flat[first:stop], int(places[first]) * row_bytes)

    def array(self) -> np.ndarray | StoredRows:
        """The filled (n, ...) array (``StoredRows`` on disk: every row is already in its place)."""
        if not self.on_disk:
            return self.buffer
        file, row_size, dtype = self._file, self.row_size, self.dtype

        def read(start: int, stop: int) -> np.ndarray:
            count = max(0, stop - start)
            return read_range(file, dtype, start * row_size, count * row_size).reshape(count, *self.row_shape)

        return StoredRows((self.n, *self.row_shape), dtype, read)


def _sized_file(nbytes: int, directory: str | None):
    """An unlinked temporary file of ``nbytes`` (zeros, sparse until written), removed when closed."""
    file = tempfile.TemporaryFile(dir=directory)
    os.ftruncate(file.fileno(), max(1, nbytes))
    return file


def read_npy_header(stream) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from the header of the ``.npy`` data at ``stream`` (a file or a zip
    member), which is left at the first value."""
    version = np.lib.format.read_magic(stream)
    reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}[version]
    return reader(stream)


def file_columns(file, shape: tuple[int, int], dtype: Any, read_dtype: Any = None, offset: int = 0) -> Columns:
    """``Columns`` of shape (n, S) read from ``file`` (an open binary file; the columns hold it), where they
    lie scenario-major from byte ``offset`` as ``dtype``, read back as ``read_dtype``; whole columns go
    through the process's column cache."""
    n, n_scen = shape
    dtype, token = np.dtype(dtype), next(_TOKENS)
    read_dtype = np.dtype(read_dtype or dtype)

    def read(s: int, start: int, stop: int) -> np.ndarray:
        if start == 0 and stop == n:
            return _CACHE.get((token, s), lambda: read_range(file, dtype, s * n, n, offset).astype(
                read_dtype, copy=False))
        return read_range(file, dtype, s * n + start, max(0, stop - start), offset).astype(read_dtype)

    return Columns((n, n_scen), read_dtype, read)


def read_range(file, dtype: np.dtype, first: int, count: int, offset: int = 0) -> np.ndarray:
    """``count`` values of ``dtype`` from value ``first`` of ``file``, whose values start at byte ``offset``."""
    out = np.empty(count, dtype=dtype)
    if count:
        _pread_into(file.fileno(), out, offset + first * dtype.itemsize)
    return out


def final_order(parts: list[np.ndarray], n: int) -> np.ndarray:
    """For each final position, where its order was stored, given the final positions of the chunks in
    the order they were written (a disk table appends them); refuses positions not written exactly once."""
    written = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    if len(written) != n or not np.array_equal(np.sort(written), np.arange(n)):
        raise ValueError(f"result store: {len(written)} orders written for {n} positions, not each exactly once")
    order = np.empty(n, dtype=np.int64)
    order[written] = np.arange(n)
    return order
