"""Start the dashboard: ``streamlit run`` on ``app.py``, bound to a host and a free port, over folders."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from execbench.errors import ParameterError

APP = Path(__file__).with_name("app.py")
FOLDERS_ENV = "EXECBENCH_DASHBOARD_FOLDERS"
# the server imports what the pages need before it listens (scipy and pandas mostly), so the first page a
# user opens does not pay for it; then it is `streamlit run` with the arguments that follow
PRELOAD = ("import sys, execbench.explore, execbench.explore.figures, execbench.analysis.significance, "
           "plotly.graph_objects, plotly.express\n"
           "from streamlit.web import cli\n"
           "sys.argv = ['streamlit', *sys.argv[1:]]\n"
           "sys.exit(cli.main())")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def dashboard_command(folders: list[str], host: str = "127.0.0.1", port: int = 0) -> tuple[list[str], dict, str]:
    """The ``streamlit run`` command, its environment and the URL, for ``folders`` (checked to exist)."""
    try:
        import streamlit  # noqa: F401
        import plotly  # noqa: F401
    except ImportError as exc:
        raise ParameterError(f"execbench dashboard needs the dashboard extra ({exc.name} is not installed): "
                             "pip install 'execbench[dashboard]'") from None
    for folder in folders:
        if not Path(folder).is_dir():
            raise ParameterError(f"execbench dashboard: {folder}: no such folder")
    port = port or free_port(host)
    command = [sys.executable, "-c", PRELOAD, "run", str(APP), "--server.address", host, "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--theme.base", "light",
               "--client.toolbarMode", "viewer"]
    env = {**os.environ, FOLDERS_ENV: os.pathsep.join(str(Path(f).resolve()) for f in folders)}
    return command, env, f"http://{host}:{port}"


def serve(folders: list[str], host: str = "127.0.0.1", port: int = 0) -> subprocess.Popen:
    """Start the server in the background; returns its process (the caller waits or terminates it)."""
    command, env, _ = dashboard_command(folders, host, port)
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
