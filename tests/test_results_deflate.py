"""Deflating a large results member on every core writes one standard zip member: ``zipfile`` (CRC
included), ``np.load`` and ``unzip`` read it back exactly, whatever the block size and write sizes."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execbench.engine.replay.columns import Columns
from execbench.results import deflate
from execbench.results.run_data import savez_fast


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3000), block=st.integers(1, 700), writes=st.lists(st.integers(0, 900), max_size=8),
       level=st.sampled_from([1, 6]))
def test_the_blocks_joined_inflate_to_the_data(data, block, writes, level):
    """Any block size, any split of the data into writes (empty ones too): the outputs joined in order are
    one raw deflate stream of the data, closed (nothing after its final block)."""
    with ThreadPoolExecutor(2) as pool:
        compressor = deflate.ParallelDeflate(pool, level, workers=2, block_bytes=block)
        out, start = [], 0
        for size in writes:
            out.append(compressor.compress(data[start:start + size]))
            start += size
        out.append(compressor.compress(data[start:]))
        out.append(compressor.flush())
    inflater = zlib.decompressobj(deflate.RAW_DEFLATE)
    assert inflater.decompress(b"".join(out)) == data
    assert inflater.eof and inflater.unused_data == b""


def test_a_large_slow_member_is_deflated_in_parallel_and_reads_back(tmp_path, monkeypatch):
    """With two threads, members over ``PARALLEL_BYTES`` (here lowered) that deflate by less than half go
    through ``ParallelDeflate``; the file passes ``zipfile``'s CRC check and ``unzip -t``, loads equal,
    and is about as small as zlib's own."""
    monkeypatch.setattr(deflate, "BLOCK_BYTES", 1 << 16)
    monkeypatch.setattr("execbench.results.run_data.PARALLEL_BYTES", 1 << 17)
    used = []
    real = deflate.ParallelDeflate.__init__

    def spy(self, pool, level, workers, block_bytes=None):
        used.append(workers)
        real(self, pool, level, workers, block_bytes)
        assert self._block == 1 << 16

    monkeypatch.setattr(deflate.ParallelDeflate, "__init__", spy)
    rng = np.random.default_rng(1)
    steps = np.repeat(rng.normal(size=(400, 1)), 300, axis=1).astype(np.float32)  # 480 kB that deflate to 2 %
    shares = np.round(rng.random((2000, 12, 4)), 4).astype(np.float32)  # 384 kB that deflate to 72 %
    noise = rng.random((2000, 60)).astype(np.float32)  # 480 kB that deflate by 6 %: stored
    flat = shares.reshape(len(shares), -1)
    lazy = Columns(flat.shape, np.float32, lambda s, start, stop: flat[start:stop, s])
    savez_fast(tmp_path / "one.npz", shares=shares)
    assert used == []  # one thread (the default, for a writer beside other work): zipfile's own deflate
    path = tmp_path / "r.npz"
    savez_fast(path, 2, steps=steps, shares=shares, noise=noise, lazy=lazy, small=np.round(shares[:10], 4))
    assert used == [2, 2]  # shares and lazy; not what deflates fast, is stored or is small
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        kinds = {info.filename: info.compress_type for info in archive.infolist()}
        size = archive.getinfo("shares.npy").compress_size
    assert kinds["noise.npy"] == zipfile.ZIP_STORED and kinds["shares.npy"] == zipfile.ZIP_DEFLATED
    assert size < 1.06 * len(zlib.compress(shares.tobytes(), 1))  # blocks of 64 kB here: each restarts its codes
    with np.load(path) as stored:
        for name, expected in (("steps", steps), ("shares", shares), ("noise", noise), ("lazy", flat),
                               ("small", np.round(shares[:10], 4))):
            np.testing.assert_array_equal(stored[name], expected)
    if shutil.which("unzip"):
        assert subprocess.run(["unzip", "-tq", str(path)], capture_output=True).returncode == 0


def test_a_writer_without_the_expected_compressor_is_written_the_usual_way(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x", "w") as member:
            assert deflate.can_deflate_in_parallel(member)
    with zipfile.ZipFile(tmp_path / "b.zip", "w", compression=zipfile.ZIP_STORED) as archive:
        with archive.open("x", "w") as member:
            assert not deflate.can_deflate_in_parallel(member)


def test_a_member_at_the_real_sizes_round_trips(tmp_path):
    """The production sizes: a 24 MB member written by ``np.lib.format.write_array`` in 16 MB chunks, cut
    into 4 MB blocks on two threads, reads back equal and passes the CRC check."""
    rng = np.random.default_rng(3)
    shares = np.round(rng.random((50_000, 12, 10)), 4).astype(np.float32)  # 24 MB that deflate to about 72 %
    assert shares.nbytes > deflate.PARALLEL_BYTES
    path = tmp_path / "big.npz"
    savez_fast(path, 2, shares=shares)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    with np.load(path) as stored:
        np.testing.assert_array_equal(stored["shares"], shares)


def test_a_block_that_fails_leaves_the_member_out(tmp_path, monkeypatch):
    """An error in one block reaches the writer, and the member is not recorded with a block missing: the
    compressor refuses to flush, so ``zipfile`` leaves it out of the archive."""
    calls = []
    real = deflate._deflate_block

    def failing(data, level):
        calls.append(len(data))
        if len(calls) == 2:
            raise MemoryError("block 2")
        return real(data, level)

    monkeypatch.setattr(deflate, "_deflate_block", failing)
    with ThreadPoolExecutor(2) as pool:
        compressor = deflate.ParallelDeflate(pool, 1, workers=2, block_bytes=100)
        with pytest.raises(MemoryError, match="block 2"):
            compressor.compress(bytes(1000))
            compressor.flush()
        with pytest.raises(MemoryError, match="block 2"):
            compressor.flush()
    monkeypatch.setattr(deflate, "BLOCK_BYTES", 1 << 16)
    monkeypatch.setattr("execbench.results.run_data.PARALLEL_BYTES", 1 << 17)
    calls.clear()
    shares = np.round(np.random.default_rng(4).random((4000, 48)), 4).astype(np.float32)
    path = tmp_path / "r.npz"
    with pytest.raises(MemoryError, match="block 2"):
        savez_fast(path, 2, first=np.arange(10), shares=shares)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["first.npy"]
        assert archive.testzip() is None
