"""The user cache directory for results that are pure functions of their inputs (solved stopping
rules, bootstrap resamples, JAX's compiled programs, the option replay of an evaluation):
``$EXECBENCH_CACHE_DIR`` or ``$XDG_CACHE_HOME/execbench`` (default ``~/.cache/execbench``).
``EXECBENCH_CACHE_DIR=off`` turns the on-disk caches off.

A cache entry's key includes ``code_fingerprint()``: the source of every module of the package (and of
the strategy that computes it), the versions of the libraries that compute it and the machine, so
editing that code, upgrading a library or sharing the folder with another kind of machine never serves a
stale entry.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path

CACHE_ENV = "EXECBENCH_CACHE_DIR"


def user_cache_dir(kind: str) -> Path | None:
    """The folder for cache ``kind`` (not created here), or ``None`` when caching is off."""
    configured = os.environ.get(CACHE_ENV, "")
    if configured.lower() in ("off", "0", "none"):
        return None
    if configured:
        return Path(configured) / kind
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = Path.home() / ".cache"
        except RuntimeError:  # no HOME and no home directory for this user: no cache
            return None
    return Path(base) / "execbench" / kind


@functools.cache
def use_jax_cache() -> None:
    """JAX's persistent compilation cache in ``user_cache_dir('jax')`` (unless caching is off), for every
    program however quick to compile: on this project's 2-core machine even one random draw of a weight
    initialiser took 0.6 s to compile, and the LEM's load about 200 small programs.  JAX keys an entry by
    the program, its compile options, the jax/jaxlib versions and the device, so no stale entry is served.

    Programs compiled before the first call are not cached, so every compile site calls it first.  A cache
    folder the caller already gave JAX (``jax_compilation_cache_dir``) is left as it is, with its settings.
    JAX fixes the folder when it first opens it: a later change of ``EXECBENCH_CACHE_DIR`` in the same
    process has no effect.  Calling it again does nothing (it runs once per process)."""
    cache = user_cache_dir("jax")
    if cache is not None:
        import jax

        if not jax.config.jax_compilation_cache_dir:
            jax.config.update("jax_compilation_cache_dir", str(cache))
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def code_fingerprint(*classes: type) -> str:
    """A hash of the source of every module of ``execbench`` and of the packages that define ``classes``
    (a strategy's own folder: the built-ins and their helpers; a lone ``FILE.py``: that file), with
    ``environment()``.  The files are read again whenever one's size or modification time changes (a
    notebook that reloads edited code gets a new fingerprint)."""
    import execbench

    roots = {Path(execbench.__file__).parent}
    for cls in classes:
        source = Path(inspect.getfile(cls))
        roots.add(source.parent if "." in cls.__module__ else source)
    files = sorted({p for root in roots for p in (root.rglob("*.py") if root.is_dir() else [root])})
    stamps = []
    for path in files:
        stat = path.stat()
        stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
    return _fingerprint(tuple(stamps))


@functools.lru_cache(maxsize=16)
def _fingerprint(stamps: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256(json.dumps(environment()).encode())
    for path, _, _ in stamps:
        digest.update(Path(path).name.encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:20]


@functools.cache
def environment() -> list:
    """What, besides the code, may change a computed number's last bits: the versions of Python, NumPy,
    Numba, pandas and SciPy, the machine and C library, NumPy's SIMD extensions and Numba's JIT switch."""
    import numpy as np

    try:
        simd = np.show_config(mode="dicts").get("SIMD Extensions")
    except Exception:  # noqa: BLE001 (an older or unusual NumPy: the versions still count)
        simd = None
    return [sys.version, *(version(name) for name in ("numpy", "numba", "pandas", "scipy")), platform.machine(),
            list(platform.libc_ver()), simd, os.environ.get("NUMBA_DISABLE_JIT", "0")]


def cache_key(*parts) -> str:
    """A cache entry's name: the hash of ``parts`` (JSON-serialisable) and of ``code_fingerprint()``."""
    return hashlib.sha256(json.dumps([*parts, code_fingerprint()]).encode()).hexdigest()


def read_arrays(kind: str, key: str) -> dict | None:
    """The arrays kept by ``write_arrays(kind, key, ...)`` (a dict of name to array), or ``None`` when
    caching is off or the entry is absent or unreadable (a damaged file: truncated, another format).  A hit
    marks the entry as just used (its modification time), for ``write_arrays``' trimming."""
    import numpy as np

    folder = user_cache_dir(kind)
    path = None if folder is None else folder / f"{key}.npz"
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path) as saved:
            arrays = {name: saved[name] for name in saved.files}
    except Exception:  # noqa: BLE001 - whatever a damaged entry raises (BadZipFile, TypeError ...): a miss
        return None
    try:
        os.utime(path)
    except OSError:  # a cache shared read-only: still read, never trimmed from here
        pass
    return arrays


PARTIAL_SUFFIX = ".partial"  # an entry being written (a file or a folder): reading and trimming skip it
STALE_SECONDS = 3600  # a partial entry older than this belongs to a writer that died


def write_arrays(kind: str, key: str, arrays: dict, *, keep_bytes: int) -> None:
    """Keep ``arrays`` (name to array) under ``key`` in cache ``kind``, atomically (each writer writes its own
    partial file and renames it, so a reader never sees half an entry), then ``trim`` the folder to
    ``keep_bytes`` (an entry's key holds the code's fingerprint, so every edit of the package leaves the old
    ones behind).  A cache that cannot be written or trimmed is skipped; nothing is written when caching is
    off."""
    import numpy as np

    folder = user_cache_dir(kind)
    if folder is None:
        return
    path = write_atomically(folder, f"{key}.npz", lambda file: np.savez(file, **arrays))
    if path is not None:
        trim(folder, keep_bytes, keep=path)


def write_atomically(folder: Path, name: str, write) -> Path | None:
    """Make ``folder / name`` from ``write(file)`` (a binary file open for writing) atomically: the writer
    writes its own partial file (``PARTIAL_SUFFIX``) and renames it, so a reader never sees half an entry.
    Returns the path, or ``None`` when the folder cannot be written (the partial file is removed)."""
    import tempfile

    partial = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=folder, prefix=f"{name}.", suffix=PARTIAL_SUFFIX)
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.replace(partial, folder / name)
    except OSError:
        if partial is not None:
            Path(partial).unlink(missing_ok=True)
        return None
    return folder / name


def trim(folder: Path, keep_bytes: int, *, keep: Path | None = None) -> None:
    """Remove a cache folder's entries (files, or folders of files), least recently used first (by
    modification time, which a read refreshes), until they take at most ``keep_bytes`` (``keep``, just
    written, stays), and partial entries (``PARTIAL_SUFFIX``) older than ``STALE_SECONDS``; an entry
    another process removed meanwhile, or that may not be removed (a shared folder), is skipped."""
    import shutil
    import time

    def remove(path: Path) -> None:
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    entries = []
    stale = time.time() - STALE_SECONDS
    try:
        paths = list(folder.iterdir())
    except OSError:
        return
    for path in paths:
        try:
            stat = path.stat()
            if path.name.endswith(PARTIAL_SUFFIX):
                if stat.st_mtime < stale:
                    remove(path)
                continue
            size = sum(f.stat().st_size for f in path.iterdir()) if path.is_dir() else stat.st_size
            entries.append((stat.st_mtime, size, path))
        except OSError:
            continue
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries, key=lambda e: (e[0], e[2].name)):
        if total <= keep_bytes:
            break
        if path == keep:
            continue
        try:
            remove(path)
        except FileNotFoundError:
            pass  # another process trimmed it: it no longer counts
        except OSError:
            continue
        total -= size
