"""Deflating a large results member on every core writes one standard zip member: ``zipfile`` (CRC
included), ``np.load`` and ``unzip`` read it back exactly, whatever the block size and write sizes."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
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

    def spy(self, pool, level, workers, block_bytes=1 << 16):
        used.append(workers)
        real(self, pool, level, workers, block_bytes)

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
