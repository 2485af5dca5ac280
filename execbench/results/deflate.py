"""Deflating one large zip member on every core: what ``savez_fast`` uses for members over ``PARALLEL_BYTES``.

A member is cut into ``BLOCK_BYTES`` blocks, each deflated on a thread (zlib releases the GIL) by a
compressor of its own and ended with a sync flush, so that the blocks' outputs, joined in order and
closed by an empty final block, are one valid raw deflate stream: what ``pigz`` writes, without its
dictionary priming (blocks of 4 MB lose a fraction of a percent of compression for it).  The file
is a standard zip: ``zipfile``, ``np.load`` and ``unzip`` read it as any other.

``zipfile`` has no public way to hand it compressed bytes, so ``deflate_member`` replaces the
compressor of the member writer that ``ZipFile.open(name, "w")`` returns — the object it calls
``compress(data)`` on for every write and ``flush()`` on close, and whose output it writes, counts and
records in the member's header (the CRC and sizes stay ``zipfile``'s own).  ``can_deflate_in_parallel``
checks that the writer has that compressor; where it does not, the member is written the usual way.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

BLOCK_BYTES = 4 << 20
PARALLEL_BYTES = 3 * BLOCK_BYTES  # smaller members are deflated on the writing thread, as zipfile does
IN_FLIGHT_BYTES = 32 << 20  # most data queued or being deflated at once, whatever the number of threads
RAW_DEFLATE = -15  # zlib's window bits for a raw stream (no zlib header), what zip members hold


def _deflate_block(data: memoryview, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, RAW_DEFLATE)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


def final_block(level: int) -> bytes:
    """The empty last block that closes a stream of sync-flushed blocks."""
    return zlib.compressobj(level, zlib.DEFLATED, RAW_DEFLATE).flush()


class ParallelDeflate:
    """A stand-in for the ``zlib.compressobj`` of a zip member writer (module docstring): ``compress``
    queues the data's blocks on ``pool`` and returns the outputs of the leading blocks already done, in
    order; at most ``2 × workers`` blocks, and ``IN_FLIGHT_BYTES``, are queued at any time (a write of
    many blocks waits for the oldest as it goes), so memory stays a few blocks whatever the member's
    size; ``flush`` returns the rest and the final block.  Once a block has failed, the compressor
    refuses to go on: ``flush`` raises that error again, so that ``zipfile`` leaves the member out
    instead of recording it with a block missing."""

    def __init__(self, pool: ThreadPoolExecutor, level: int, workers: int, block_bytes: int | None = None):
        self._pool, self._level = pool, level
        self._block = int(block_bytes or BLOCK_BYTES)
        self._limit = max(1, min(2 * max(1, workers), IN_FLIGHT_BYTES // self._block))
        self._pending: deque[Future] = deque()
        self._buffer = bytearray()  # data short of a whole block, carried to the next write
        self._failed: BaseException | None = None

    def _submit(self, data: memoryview, out: list[bytes]) -> None:
        self._pending.append(self._pool.submit(_deflate_block, data, self._level))
        while len(self._pending) > self._limit:
            out.append(self._pending.popleft().result())

    def _ready(self, out: list[bytes], wait: bool) -> bytes:
        while self._pending and (wait or self._pending[0].done()):
            out.append(self._pending.popleft().result())
        return b"".join(out)

    def _give_up(self, error: BaseException) -> None:
        self._failed = error
        for job in self._pending:
            job.cancel()
        self._pending.clear()

    def _guarded(self, work: Callable[..., bytes], *args) -> bytes:
        """``work(*args)``, refused once a block has failed, and the compressor given up if it fails."""
        if self._failed is not None:
            raise self._failed
        try:
            return work(*args)
        except BaseException as error:
            self._give_up(error)
            raise

    def compress(self, data) -> bytes:
        return self._guarded(self._compress, data)

    def _compress(self, data) -> bytes:
        # ``zipfile`` hands over the caller's bytes: immutable, so a block may be a slice of them (kept alive
        # until it is deflated); any other buffer could change after this call, so its blocks are copied
        immutable = isinstance(data, bytes)
        view, out = memoryview(data).cast("B"), []
        if self._buffer:
            take = min(len(view), self._block - len(self._buffer))
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) == self._block:
                self._submit(memoryview(bytes(self._buffer)), out)
                self._buffer.clear()
        whole = len(view) - len(view) % self._block
        for start in range(0, whole, self._block):
            block = view[start:start + self._block]
            self._submit(block if immutable else memoryview(bytes(block)), out)
        self._buffer += view[whole:]
        return self._ready(out, wait=False)

    def flush(self) -> bytes:
        return self._guarded(self._flush)

    def _flush(self) -> bytes:
        out: list[bytes] = []
        if self._buffer:
            self._submit(memoryview(bytes(self._buffer)), out)
            self._buffer.clear()
        return self._ready(out, wait=True) + final_block(self._level)


def can_deflate_in_parallel(member) -> bool:
    """Whether ``member`` (from ``ZipFile.open(name, "w")``) deflates through the replaceable compressor
    that ``deflate_member`` expects."""
    return isinstance(getattr(member, "_compressor", None), type(zlib.compressobj()))


def deflate_member(member, pool: ThreadPoolExecutor, level: int, workers: int) -> None:
    """Make ``member`` deflate its data on ``pool`` (call before its first write; see
    ``can_deflate_in_parallel``)."""
    member._compressor = ParallelDeflate(pool, level, workers)
