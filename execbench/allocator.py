"""The C allocator's setting for a command's process: freed large blocks are kept for reuse.

A replay allocates and frees arrays of tens of megabytes per chunk (allocations, the kernel's outputs,
the strategy's batches).  glibc's ``malloc`` serves every block above 32 MB (and, until its threshold
adapts, above 128 kB) with a fresh ``mmap`` and returns it to the system on ``free``, so the next chunk's
array page-faults all of its memory in again.  ``reuse_freed_memory`` makes ``malloc`` take large blocks
from its heap and keep freed ones there (``M_MMAP_MAX`` 0, ``M_TRIM_THRESHOLD`` 2 GiB - 1), through
``mallopt``: ``execbench compare`` of the six classic strategies then spent 1.6–1.9 s of system time
instead of 2.6–3.3 s, on the project's 2-core machine.

The console script calls it once per process, before a command runs (processes the command forks, such
as the report's figure workers, inherit it); the library never does (a notebook or a service keeps its own
allocator settings).  The heap keeps what was freed for the next chunk, which asks for as much again, so
peak memory stays bounded by the results budget, but it is not returned to the system before the process
ends, and the heap can fragment: peak RSS measured 0.01–0.1 GB higher on the commands of issue 16 (the
README's fourteenth step).  Nothing happens where the C library is not glibc, or where the user has tuned
``malloc`` already (a ``glibc.malloc.`` entry in ``GLIBC_TUNABLES``, or a ``MALLOC_*`` variable).
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1  # glibc's <malloc.h>
M_MMAP_MAX = -4
TRIM_THRESHOLD = 2**31 - 1  # the largest value mallopt takes (an int)


def user_tuned() -> bool:
    """Whether the environment already sets ``malloc``'s parameters (which then stand): a ``glibc.malloc.``
    tunable in ``GLIBC_TUNABLES`` (others, such as ``glibc.pthread.rseq``, do not count) or a ``MALLOC_*``
    variable."""
    return ("glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")
            or any(name.startswith("MALLOC_") for name in os.environ))


def is_glibc() -> bool:
    """Whether this process runs on glibc (whose ``mallopt`` this module sets)."""
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr (Windows) or no such name (macOS, musl)
        return False


def reuse_freed_memory() -> bool:
    """Keep freed large blocks in ``malloc``'s heap for reuse (module docstring); whether the setting was
    made (``False`` off glibc or where the user tuned ``malloc``)."""
    if user_tuned() or not is_glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
