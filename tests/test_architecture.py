"""The layout the README's Architecture section describes: stages whose imports only point down the
stack, plug-ins reached only through the registry, a fast CLI, and a package list that matches the folders."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "execbench"

# bottom to top; a module may import its own stage or a lower one (execbench.lem is the LEM library, at
# the strategy stage, except its alignment experiment, which runs the pipeline)
STAGES = ["errors", "params", "cache", "threads", "allocator", "numba_loading", "data", "orders", "contracts", "strategy", "lem", "learning", "engine", "results",
          "analysis",
          "pipeline", "lem.alignment", "reporting", "sweep", "explore", "cli", "dashboard", "bytecode"]
LEVEL = {"errors": 0, "params": 0, "cache": 0, "threads": 0, "allocator": 0, "numba_loading": 0, "data": 1, "orders": 2, "contracts": 3, "strategy": 4, "lem": 4, "learning": 4,
         "strategies": 4, "engine": 5, "results": 6, "analysis": 7, "pipeline": 8, "lem.alignment": 8.5,
         "reporting": 9, "sweep": 9.5, "explore": 9.7, "cli": 10, "dashboard": 10,
         "bytecode": 10}  # ``make setup``'s step that byte-compiles the environment


def stage_of(module: str) -> str:
    """``execbench.lem.alignment`` → ``lem.alignment``; ``execbench.data.loading`` → ``data``."""
    parts = module.split(".")[1:]
    if parts[:2] == ["lem", "alignment"]:
        return "lem.alignment"
    return parts[0] if parts else ""


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every ``execbench.*`` module imported anywhere in the file (top level or inside functions);
    ``if TYPE_CHECKING:`` blocks are left out (type hints only)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name.startswith("execbench.")]


def library_files() -> list[Path]:
    return sorted(LIBRARY.rglob("*.py"))


def test_every_import_points_down_the_stack():
    wrong = []
    for path in library_files():
        here = stage_of(module_name(path))
        if here == "":  # execbench/__init__.py: the lazy public API over every stage
            continue
        for line, name in imports_of(path):
            target = stage_of(name)
            if target == "strategies":
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports the plug-in {name} (use the registry)")
            elif LEVEL[target] > LEVEL[here]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({here}) imports {name} ({target}), up the stack")
    assert not wrong, "\n".join(wrong)


def test_plugins_import_only_the_library():
    """The built-in strategies import execbench's stages (never the CLI, reporting or each other except
    their own helpers), exactly as a user's plug-in would."""
    for path in sorted((ROOT / "strategies").glob("*.py")):
        for line, name in imports_of(path):
            target = stage_of(name)
            assert target in ("strategies", "errors", "params") or LEVEL[target] <= LEVEL["strategy"], \
                f"{path.name}:{line} imports {name}"


def test_the_package_list_matches_the_folders():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    folders = {module_name(p) for p in LIBRARY.rglob("__init__.py")}
    assert folders <= listed, f"packages missing from pyproject.toml: {sorted(folders - listed)}"
    assert config["package-dir"] == {"execbench.strategies": "strategies", "execbench.bundled": "data"}
    assert not any(p.split(".")[0] != "execbench" for p in listed), "nothing installs outside the execbench namespace"


def test_cli_parser_constants_match_the_library():
    from execbench.cli import parser
    from execbench.contracts import BENCHMARKS, TARGETS
    from execbench.orders import DEFAULT_ORDER_SIZE
    from execbench.pipeline.evaluation import AUDIT_ORDERS

    assert (parser.BENCHMARKS, parser.TARGETS, parser.DEFAULT_ORDER_SIZE, parser.AUDIT_ORDERS) == \
        (BENCHMARKS, TARGETS, DEFAULT_ORDER_SIZE, AUDIT_ORDERS)


@pytest.mark.parametrize("argv, heavy", [
    (["--help"], ("pandas", "numba", "numpy", "keras", "matplotlib", "rich")),
    (["strategies"], ("pandas", "numba", "keras", "matplotlib", "scipy")),
])
def test_light_commands_do_not_import_the_heavy_stacks(argv, heavy):
    """What makes ``execbench --help`` and ``execbench strategies`` fast (their time is measured in
    benchmarks/bench_cli.py, not asserted here)."""
    code = ("import sys, io, contextlib\n"
            "from execbench.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    try: main({argv!r})\n"
            "    except SystemExit: pass\n"
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"execbench {' '.join(argv)} imported {loaded}"


def test_nothing_installs_a_top_level_strategies_module(tmp_path):
    """From an unrelated folder the built-ins are ``execbench.strategies`` and the data is ``execbench.bundled``."""
    code = ("import importlib.util, execbench.strategies, execbench.bundled\n"
            "from execbench.data.bundled import data_dir\n"
            "print(importlib.util.find_spec('strategies') is None, importlib.util.find_spec('data') is None,\n"
            "      (data_dir() / 'binance' / 'BTCUSDT_15m.parquet').is_file())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.split() == ["True", "True", "True"]


@pytest.mark.slow
def test_set_up_writes_the_bytecode_of_every_module_even_where_python_is_told_not_to(tmp_path):
    """``make setup``'s ``python -m execbench.bytecode`` leaves the ``.pyc`` files of the package, the built-in
    strategies and the environment behind with PYTHONDONTWRITEBYTECODE set, those of what libraries import
    only on first use included (Numba's registries at the first compiled call, pyarrow's parquet reader),
    checked by timestamp even with SOURCE_DATE_EPOCH set."""
    import os

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(tmp_path),
           "SOURCE_DATE_EPOCH": "1"}  # would make compileall write hash-checked files
    done = subprocess.run([sys.executable, "-m", "execbench.bytecode"], env=env, capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "did not compile" not in done.stdout, done.stdout + done.stderr
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.pyc")}
    for module in ("execbench/pipeline/evaluation", "execbench/lem/stepwise", "strategies/dvwap",
                   "pandas/__init__", "keras/__init__", "numba/np/arraymath", "pyarrow/parquet/core",
                   "rich/progress"):
        assert any(f"{module}.cpython" in path for path in written), module
    assert not any("/tests/" in path for path in written)  # libraries' test suites are left out
    pandas_pyc = next(tmp_path.rglob("site-packages/pandas/__init__.cpython*.pyc")).read_bytes()
    assert int.from_bytes(pandas_pyc[4:8], "little") == 0  # checked by timestamp, as Python writes them
