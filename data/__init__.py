"""The bundled market data (this folder), installed as the package ``execbench.bundled``.

``execbench.data.bundled.data_dir()`` finds it through ``importlib.resources``; ``build_bundle.py``
rebuilds it from the raw bars in ``../shared/data`` (a maintainer's step, never run by the product).
"""
