"""The command line's allocator setting (``execbench.allocator``): freed large blocks are reused, not
page-faulted in again; a user's own ``malloc`` settings stand; the console script sets it, the library not."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from execbench.allocator import is_glibc, reuse_freed_memory

# resident memory (MB) after allocating, writing and freeing a 64 MB array, then after doing it seven times
# more, in a fresh process (/proc/self/statm's resident pages)
RESIDENT = """
import os, sys
import numpy as np
from execbench.allocator import reuse_freed_memory
if sys.argv[1] == "reuse":
    assert reuse_freed_memory()
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
before = resident()
for k in range(8):
    block = np.ones(8 * 2**20)  # 64 MB, written whole
    del block
    if k == 0:
        after_one = resident() - before
print(after_one, resident() - before)
"""


def resident_after_free(mode: str) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES" and not k.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", RESIDENT, mode], capture_output=True, text=True, env=env, check=True)
    one, eight = done.stdout.split()
    return float(one), float(eight)


@pytest.mark.skipif(not is_glibc() or not os.path.exists("/proc/self/statm"), reason="mallopt is glibc's")
def test_freed_large_blocks_stay_for_reuse_instead_of_going_back_to_the_system():
    default_one, default_eight = resident_after_free("default")
    reused_one, reused_eight = resident_after_free("reuse")
    assert default_one < 16 and default_eight < 16  # each array's memory unmapped when freed
    assert reused_one > 60  # kept in the heap ...
    assert reused_eight < reused_one + 16  # ... and taken again by the next array, not grown


def test_a_users_malloc_settings_stand(monkeypatch):
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1")
    assert reuse_freed_memory() is False
    monkeypatch.delenv("GLIBC_TUNABLES")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    assert reuse_freed_memory() is False


def test_the_console_script_sets_it_first_and_main_does_not(monkeypatch):
    cli_main = importlib.import_module("execbench.cli.main")  # the module (execbench.cli.main is the function)
    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "execbench"]
    assert script.load() is cli_main.entry
    assert "reuse_freed_memory" not in cli_main.main.__code__.co_names  # main (tests, notebooks) leaves it
    calls = []
    monkeypatch.setattr(cli_main, "reuse_freed_memory", lambda: calls.append("allocator"))
    monkeypatch.setattr(cli_main, "main", lambda argv=None, before_command=None: calls.append(before_command) or 0)
    assert cli_main.entry() == 0 and calls == ["allocator", cli_main.load_own_kernels_directly]


def test_only_mallocs_own_tunables_count_as_the_users(monkeypatch):
    from execbench.allocator import user_tuned

    for name in [n for n in os.environ if n == "GLIBC_TUNABLES" or n.startswith("MALLOC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0")
    assert not user_tuned()
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0:glibc.malloc.arena_max=2")
    assert user_tuned()
