"""The user cache directory for results that are pure functions of their inputs (solved stopping
rules, JAX's compiled programs, the option replay of an evaluation): ``$EXECBENCH_CACHE_DIR`` or
``$XDG_CACHE_HOME/execbench`` (default ``~/.cache/execbench``).  ``EXECBENCH_CACHE_DIR=off`` turns the on-disk caches off.

A cache entry's key includes a fingerprint of the source that computes it (``source_fingerprint``),
so editing that code never serves a stale entry.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from pathlib import Path

CACHE_ENV = "EXECBENCH_CACHE_DIR"


def user_cache_dir(kind: str) -> Path | None:
    """The folder for cache ``kind`` (not created here), or ``None`` when caching is off."""
    configured = os.environ.get(CACHE_ENV, "")
    if configured.lower() in ("off", "0", "none"):
        return None
    if configured:
        return Path(configured) / kind
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "execbench" / kind


@functools.cache
def source_fingerprint(*modules: str) -> str:
    """A short hash of the named modules' source files (imported modules only; read once per process)."""
    digest = hashlib.sha256()
    for name in modules:
        digest.update(Path(sys.modules[name].__file__).read_bytes())
    return digest.hexdigest()[:16]
