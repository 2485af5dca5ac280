"""Loading execbench's cached Numba kernels without first importing all of Numba's lowering library.

Before every load from its on-disk cache, Numba's ``Cache.load_overload`` calls
``target_context.refresh()``. The first call in a process imports and registers every typing and lowering
registry Numba has: ``numba.np.arraymath``, ``linalg``, the typed containers, the random generators and
more. On the project's 2-core machine that took 0.23–0.25 s of every command. Loading a cached kernel's
machine code needs none of it; it needs only the Numba runtime (NRT) to be initialised. The same deferral
was proposed to Numba in numba/numba#9806 (closed without being merged), which kept the refresh for
object-mode code.

``load_own_kernels_directly`` changes this only for kernels whose Python function is defined in
execbench's own modules, the built-in strategies included. Their cache loads initialise the runtime and
skip the refresh. All of them are ``@njit`` functions with no object-mode blocks (a test checks the
source). Every other function keeps Numba's behaviour: a user's plug-in kernel, and any compilation,
because Numba's compiler refreshes the context itself.

The console script calls it once per process, as it sets the allocator (``execbench.allocator``). The
library never does: a notebook's Numba is left as it is. It only acts on the Numba version it was
checked against (``CHECKED_NUMBA``, the version ``pyproject.toml`` pins), because it replaces one method of
Numba's cache.
"""

from __future__ import annotations

CHECKED_NUMBA = "0.68.1"
OWN_MODULES = ("execbench.",)  # the package; the built-in strategies import as execbench.strategies.*


def is_own(py_func: object) -> bool:
    """Whether ``py_func`` (a jitted function's Python function) is defined in execbench's own modules."""
    module = getattr(py_func, "__module__", None) or ""
    return module == "execbench" or module.startswith(OWN_MODULES)


def load_own_kernels_directly() -> bool:
    """Make Numba's cache loads of execbench's own kernels skip the context refresh (see the module
    docstring). Returns whether the change was made: ``False`` on any Numba but ``CHECKED_NUMBA``, or
    where its cache class is not what this was written against."""
    try:
        import numba
        from numba.core import caching
        from numba.core.runtime import rtsys
    except ImportError:
        return False
    cache = getattr(caching, "Cache", None)
    if numba.__version__ != CHECKED_NUMBA or cache is None or not hasattr(cache, "_load_overload"):
        return False
    if getattr(cache.load_overload, "execbench_direct", False):
        return True
    numba_load = cache.load_overload

    def load_overload(self, sig, target_context):
        if not is_own(getattr(self, "_py_func", None)):
            return numba_load(self, sig, target_context)
        rtsys.initialize(target_context)  # what a cached kernel's machine code needs: the runtime
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)

    load_overload.execbench_direct = True
    load_overload.__doc__ = numba_load.__doc__
    cache.load_overload = load_overload
    return True
