"""Stage 10, the command line: parse, call the library, print.  ``parser.py`` defines the commands and
their options (argparse only, so ``execbench --help`` imports nothing heavy); ``commands.py`` runs
them, importing the library stages a command needs when it runs."""

from execbench.cli.main import main

__all__ = ["main"]
