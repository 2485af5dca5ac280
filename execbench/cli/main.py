"""Entry point of the ``execbench`` console script."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable

from execbench.allocator import reuse_freed_memory
from execbench.cli.parser import build_parser
from execbench.errors import ExecbenchError
from execbench.numba_loading import load_own_kernels_directly


def main(argv: list[str] | None = None, *, before_command: Callable[[], object] | None = None) -> int:
    """Parse ``argv``, run the command, and print an ``ExecbenchError`` as one ``error:`` line (exit 2).
    ``before_command`` runs once the arguments are parsed (``--help`` and bad arguments never reach it)."""
    args = build_parser().parse_args(argv)
    if before_command is not None:
        before_command()
    from execbench.cli import commands, console  # rich and the commands: after --help, which argparse answers

    def show_warning(message, category, filename, lineno, file=None, line=None):
        console.err.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)

    warnings.showwarning = show_warning
    try:
        return getattr(commands, args.run)(args)
    except ExecbenchError as exc:
        if args.debug:  # the traceback behind the one-line message (a user's strategy code, say)
            import traceback

            traceback.print_exception(exc.__cause__ or exc)
        console.err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.err.print("[yellow]interrupted:[/] stopped by Ctrl-C; no output folder was left half-written",
                          highlight=False, soft_wrap=True)
        return 130


def entry() -> int:
    """The ``execbench`` console script (and ``python -m execbench.cli``): ``main`` in a process of its own,
    with ``malloc`` keeping freed large blocks for the next chunk (``execbench.allocator``) and execbench's
    cached kernels loaded without Numba's registry refresh (``execbench.numba_loading``); a library user's
    process keeps its own settings."""
    reuse_freed_memory()
    return main(before_command=load_own_kernels_directly)  # after parsing: --help does not import Numba


if __name__ == "__main__":
    sys.exit(entry())
