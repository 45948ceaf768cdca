"""What the tests of the local stack share: its project id (tools/devstack and e2e), and a
small web server to start as a stack's process."""

from __future__ import annotations

import sys

__all__ = ["PROJECT", "web_server"]

PROJECT = "confsync-devstack-e2e"


def web_server(port: int) -> tuple[list[str], str]:
    """The argv of Python's own web server on ``port`` (its marker: ``http.server``) and the
    URL that answers once it is ready."""
    argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    return argv, f"http://127.0.0.1:{port}/"
