"""Built-in execbench strategies, installed as ``execbench.strategies``.  Each is a plug-in registered like a
user's would be, through the ``execbench.strategies`` entry-point group in ``pyproject.toml``; the
core reaches them only through that registry.  ``checkpoints/`` holds the shipped LEM checkpoint."""
