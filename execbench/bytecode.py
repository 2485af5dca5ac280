"""Byte-compile the environment and the package: ``python -m execbench.bytecode`` (``make setup``).

``make setup`` installs with ``pip install --no-compile``: pip's byte-compiling of the whole environment took
most of the set-up, while Python writes each module's ``.pyc`` itself the first time a command imports it.
Where ``PYTHONDONTWRITEBYTECODE`` is set, as in many container images, Python never writes them, and every
command compiles pandas, Numba, SciPy, JAX and keras from source again: ``execbench run --strategy twap
--asset BTCUSDT --no-audit`` took 5.0–5.8 s instead of 3.1–3.8 s on the project's 2-core machine.

An earlier form of this step imported every module of the package once.  That missed what libraries import
lazily, on first use: Numba's typing and lowering registries (loaded at a process's first compiled call,
0.5 s of compiling from source), pyarrow's parquet reader, pandas' CSV writer, rich's progress bars — 121
modules in one ``execbench compare``.  So this compiles every module of the environment's ``site-packages``
(their test suites aside) and of the package and its built-in strategies, on all cores, with the
``compileall`` standard library; later processes read those ``.pyc`` files whatever the variable says.
Nothing here is imported by the library: it is a set-up step at the edge, like the command line.
"""

from __future__ import annotations

import compileall
import importlib.util
import py_compile
import re
import sys
import sysconfig
import time
from pathlib import Path


def folders() -> list[Path]:
    """What is compiled: the environment's ``site-packages`` (pure and platform) and the folders of
    ``execbench`` and of its built-in strategies (in the checkout, for an editable install)."""
    paths = [sysconfig.get_paths()[key] for key in ("purelib", "platlib")]
    for name in ("execbench", "execbench.strategies"):
        spec = importlib.util.find_spec(name)  # imports ``execbench`` (light), not the strategies
        paths.extend(spec.submodule_search_locations or [])
    unique = dict.fromkeys(Path(p).resolve() for p in paths)
    nested = {p for p in unique if any(q != p and q in p.parents for q in unique)}  # compiled with their parent
    return [p for p in unique if p not in nested and p.is_dir()]


def test_folders(folder: Path) -> re.Pattern:
    """Files in a ``test`` or ``tests`` folder below ``folder`` (libraries' own test suites, never imported by
    a command); ``compileall`` matches the pattern against whole paths, so a ``tests`` folder above
    ``folder`` (a checkout under ``~/tests/``) does not count."""
    return re.compile(re.escape(str(folder)) + r"[/\\](?:.*[/\\])?tests?[/\\]")


def compile_all(workers: int = 0) -> bool:
    """Write the ``.pyc`` of every module in ``folders()`` (``compileall`` writes them whatever
    ``PYTHONDONTWRITEBYTECODE`` says; ``workers``: processes, 0 = one per core); whether every file compiled.
    They are checked by the source's modification time, as Python's own are, also where
    ``SOURCE_DATE_EPOCH`` would make ``compileall`` write hash-checked ones (each import would then read and
    hash the source again)."""
    ok = True
    for folder in folders():
        ok &= bool(compileall.compile_dir(folder, quiet=1, workers=workers, rx=test_folders(folder),
                                          invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP))
    return ok


def main() -> int:
    start = time.perf_counter()
    ok = compile_all()
    where = ", ".join(str(p) for p in folders())
    print(f"execbench.bytecode: compiled {where} in {time.perf_counter() - start:.1f} s"
          + ("" if ok else " (the files listed above did not compile; Python compiles them when imported)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
