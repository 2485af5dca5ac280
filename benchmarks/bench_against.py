"""One ``execbench`` command, timed at a git revision and at the current tree alternately, in fresh
processes (wall time and peak RSS), with the CSV tables of both runs compared byte for byte.

    .venv/bin/python benchmarks/bench_against.py REV [--repeats 3] [--cold] -- run --strategy twap --asset BTCUSDT

The revision is checked out into a temporary git worktree and run with this venv: the editable install's
import mapping is pointed at that tree for the child process (dependencies are the venv's, so a revision
that needs other pins cannot be compared this way).  Each tree runs once to warm its caches (Numba's
cache lives beside each tree's sources; the user cache is shared, keyed by each tree's code), then the
two alternate (in alternating order).  ``--cold`` gives every run empty Numba, JAX and user caches
instead.  ``--out DIR --overwrite`` is added to the command, so it must be one that takes them (``run``,
``compare``); each tree writes its own folder, and the tables compared are the top-level CSVs.  Relative
paths in the command resolve from the caller's working directory.

    .venv/bin/python benchmarks/bench_against.py REV --script benchmarks/bench_audit.py [-- ARGS]

runs a benchmark script of the current tree on each tree's package instead, and shows the last line each
run printed to stdout (the script's own measurement); the script must use only what both trees have.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import sys
root = sys.argv[1]
sys.path[:] = [p for p in sys.path if p not in ("", ".")]  # not the caller's folder (a checkout's execbench)
finders = [m for name, m in sys.modules.items() if name.startswith("__editable___execbench_")]
if not finders:
    sys.exit("bench_against.py needs execbench installed editable (make setup)")
for name, path in list(finders[0].MAPPING.items()):  # execbench, its bundled data and its strategies
    finders[0].MAPPING[name] = path.replace(sys.argv[2], root)
import execbench, execbench.strategies
assert execbench.__file__.startswith(root) and execbench.strategies.__path__[0].startswith(root)
import importlib
if sys.argv[3].startswith("script="):  # a benchmark script of the current tree, on this tree's package
    import runpy
    script = sys.argv[3].removeprefix("script=")
    sys.argv = [script, *sys.argv[4:]]
    runpy.run_path(script, run_name="__main__")
    sys.exit(0)
cli = importlib.import_module("execbench.cli.main")
sys.argv = ["execbench", *sys.argv[4:]]
sys.exit(cli.entry() if hasattr(cli, "entry") else cli.main())  # as the revision's console script runs it
"""


def run_once(tree: Path, command: list[str], out: Path, cold: bool, script: str | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (GB) and the last line printed of ``execbench COMMAND --out OUT`` (or of
    ``script`` with arguments ``COMMAND``) with the code of ``tree``; exits on failure."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as caches, tempfile.TemporaryFile("w+") as log, \
            tempfile.TemporaryFile("w+") as out_log:
        if cold:
            env.update(XDG_CACHE_HOME=f"{caches}/xdg", NUMBA_CACHE_DIR=f"{caches}/numba",
                       EXECBENCH_CACHE_DIR=f"{caches}/execbench")
        what = [f"script={script}", *command] if script else ["cli", *command, "--out", str(out), "--overwrite"]
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(tree), str(ROOT), *what], env=env,
                                 stdout=out_log if script else log, stderr=log, text=True)  # the caller's cwd
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        out_log.seek(0)
        printed, errors = out_log.read(), log.read()
        if child.returncode:
            sys.exit(f"{tree}: {' '.join(command)} failed:\n{(printed + errors)[-4000:]}")
    lines = [line for line in printed.splitlines() if line.strip()]  # a script's stdout only
    return seconds, usage.ru_maxrss / 2**20, lines[-1] if lines else ""  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="empty Numba, JAX and user caches for every run")
    parser.add_argument("--script", help="a benchmark script of the current tree to run instead of a command, with "
                                         "the arguments after --; each run's last printed line is shown")
    argv = sys.argv[1:]
    head = argv[:argv.index("--")] if "--" in argv else argv
    if {"-h", "--help"} & set(head):
        parser.parse_args(["--help"])
    split = argv.index("--") if "--" in argv else len(argv)
    args, command = parser.parse_args(argv[:split]), argv[split + 1:]
    if not command and not args.script:
        parser.error("give the execbench command after --")
    script = str(Path(args.script).resolve()) if args.script else None
    if args.repeats < 1:
        parser.error("--repeats: expected at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(before), args.revision],
                       check=True)
        # the worktree's bytecode, as ``make setup`` writes the checkout's (Python writes none where
        # PYTHONDONTWRITEBYTECODE is set, and the revision would compile its modules in every run)
        sources = [str(before / name) for name in ("execbench", "strategies") if (before / name).is_dir()]
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", *sources], check=True)
        try:
            trees = {args.revision: before, "current": ROOT}
            outs = {label: Path(tmp) / f"out-{k}" for k, label in enumerate(trees)}
            if not args.cold:
                for label, tree in trees.items():
                    run_once(tree, command, outs[label], cold=False, script=script)
            times: dict[str, list[float]] = {label: [] for label in trees}
            peaks: dict[str, list[float]] = {label: [] for label in trees}
            printed: dict[str, list[str]] = {label: [] for label in trees}
            for k in range(args.repeats):  # the order alternates too: neither tree always runs first
                for label, tree in list(trees.items())[::1 if k % 2 == 0 else -1]:
                    seconds, peak, last = run_once(tree, command, outs[label], args.cold, script=script)
                    times[label].append(seconds)
                    peaks[label].append(peak)
                    printed[label].append(last)
            what = f"{args.script} {' '.join(command)}".strip() if script else f"execbench {' '.join(command)}"
            print(f"{what}: wall seconds, {'cold' if args.cold else 'warm'}, alternating; peak RSS")
            for label, values in times.items():
                print(f"  {label:<12} {' '.join(f'{v:6.2f}' for v in values)}   best {min(values):6.2f}   "
                      f"peak RSS {min(peaks[label]):.2f}–{max(peaks[label]):.2f} GB")
                for line in printed[label] if script else []:
                    print(f"    {line}")
            if script:
                return
            tables = sorted({p.name for out in outs.values() for p in out.glob("*.csv")})
            differ = [name for name in tables if not all((out / name).exists() for out in outs.values())
                      or not filecmp.cmp(outs["current"] / name, outs[args.revision] / name, shallow=False)]
            print(f"  {len(tables) - len(differ)} of {len(tables)} CSV tables byte-identical"
                  + (f"; differ or missing on one side: {', '.join(differ)}" if differ else ""))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False)


if __name__ == "__main__":
    main()
