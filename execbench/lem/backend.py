"""keras on JAX, with JAX's persistent compilation cache."""

from __future__ import annotations

import importlib.abc
import os
import sys

from execbench.cache import use_jax_cache

# keras imports these at start, each in a ``try`` that falls back to None, for notebook display and image
# galleries that execbench never uses: matplotlib.pyplot and IPython took 0.5 s of keras' 1.8 s import.
# Those keras helpers (``keras.visualization.plot_image_gallery`` ...) then stay without them in this
# process unless matplotlib.pyplot was imported before keras; everything else imports both as usual.
KERAS_SKIPS = ("IPython", "matplotlib")


def _is_import_machinery(module: str) -> bool:
    return module == "importlib" or module.startswith(("importlib.", "_frozen_importlib"))


class _KerasSkips(importlib.abc.MetaPathFinder):
    """Refuses ``KERAS_SKIPS`` to imports made by keras' own modules (other threads' imports are untouched);
    in ``sys.meta_path`` only while keras itself is imported."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in KERAS_SKIPS:
            return None
        frame = sys._getframe(1)
        while frame is not None and _is_import_machinery(frame.f_globals.get("__name__", "")):
            frame = frame.f_back
        if frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "keras":
            raise ModuleNotFoundError(f"{name}: not imported for keras by execbench (unused)", name=name)
        return None


def _import_keras():
    if "keras" in sys.modules:  # imported, or being imported by another thread: ``import`` waits for it
        import keras

        return keras
    skips = _KerasSkips()
    sys.meta_path.insert(0, skips)
    try:
        import keras
    finally:
        sys.meta_path.remove(skips)
    return keras


def keras_backend():
    """keras on JAX (unless KERAS_BACKEND says otherwise), with JAX's persistent compilation cache
    under the user cache directory (``execbench.cache.use_jax_cache``); returns the keras module.
    keras is imported without its optional notebook and plotting imports (``KERAS_SKIPS``)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = _import_keras()

    if keras.backend.backend() == "jax":  # reuse compiled programs across runs
        use_jax_cache()
    return keras
