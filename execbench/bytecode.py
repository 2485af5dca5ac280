"""Byte-compile what execbench's commands and tests import: ``python -m execbench.bytecode`` (``make setup``).

``make setup`` installs with ``pip install --no-compile``: pip's byte-compiling of the whole environment took
most of the set-up, while Python writes each module's ``.pyc`` itself the first time a command imports it.
Where ``PYTHONDONTWRITEBYTECODE`` is set, as in many container images, Python never writes them, and every
command compiles pandas, Numba, SciPy, JAX and keras from source again: ``execbench run --strategy twap
--asset BTCUSDT --no-audit`` took 5.0–5.8 s instead of 3.1–3.8 s on the project's 2-core machine.

This imports every module of the package and of the built-in strategies, and the tools the tests use, in
one process that writes bytecode.  Later processes read those ``.pyc`` files whatever the variable says.
Nothing here is imported by the library: it is a set-up step at the edge, like the command line.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

NOT_IMPORTED = ("__main__", "dashboard.app")  # run as scripts, not imported
TEST_TOOLS = ("pytest", "xdist", "hypothesis", "nbclient", "nbformat", "pypdf")


def import_everything() -> tuple[int, list[str]]:
    """Import every module of ``execbench`` (the built-in strategies included) and the installed test tools,
    with bytecode writing on; returns the number of modules loaded and those that failed (name: error)."""
    sys.dont_write_bytecode = False
    failed = []
    packages = [importlib.import_module(name) for name in ("execbench", "execbench.strategies")]  # the built-ins
    names = [info.name for package in packages
             for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
             if not info.name.endswith(NOT_IMPORTED)]
    for name in (*names, *TEST_TOOLS):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            if name not in TEST_TOOLS:  # a test tool may simply not be installed
                failed.append(f"{name}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a set-up step reports and goes on
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    return len(sys.modules), failed


def main() -> int:
    start = time.perf_counter()
    count, failed = import_everything()
    print(f"execbench.bytecode: {count} modules imported (their .pyc written) in {time.perf_counter() - start:.1f} s")
    for line in failed:
        print(f"execbench.bytecode: not imported: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
