"""keras on JAX, with JAX's persistent compilation cache."""

from __future__ import annotations

import os

from execbench.cache import user_cache_dir


def keras_backend():
    """keras on JAX (unless KERAS_BACKEND says otherwise), with JAX's persistent compilation cache
    under the user cache directory (``execbench.cache.user_cache_dir('jax')``); returns the keras module."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    if keras.backend.backend() == "jax":  # reuse compiled programs across runs
        import jax

        cache = user_cache_dir("jax")
        if cache is not None:
            jax.config.update("jax_compilation_cache_dir", str(cache))
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return keras
