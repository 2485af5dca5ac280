"""Built-in execbench strategies.  Each is a plug-in registered like a user's would be, through the
``execbench.strategies`` entry-point group in ``pyproject.toml``."""
