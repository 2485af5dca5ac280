"""keras on JAX, with JAX's persistent compilation cache."""

from __future__ import annotations

import os
from pathlib import Path


def keras_backend():
    """keras on JAX (unless KERAS_BACKEND says otherwise), with JAX's persistent compilation cache
    under the user cache directory (``$XDG_CACHE_HOME/execbench/jax``); returns the keras module."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    if keras.backend.backend() == "jax":  # reuse compiled programs across runs
        import jax

        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "execbench" / "jax"
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return keras
