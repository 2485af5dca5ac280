"""``python -m execbench.cli``: the same as the ``execbench`` command."""

import sys

from execbench.cli.main import entry

sys.exit(entry())
