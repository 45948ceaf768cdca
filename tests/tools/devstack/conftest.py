"""Fixtures of the local-stack tests: free ports and a project id of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.sdk import MissingPrerequisiteError, find_jars
from devstack.stack import Ports

REPO_ROOT = Path(__file__).resolve().parents[3]
PROJECT = "confsync-devstack-e2e"


@pytest.fixture(name="stack_args")
def stack_args_fixture() -> list[str]:
    """`devstack up` flags: every part on a free port, a project of its own, no ticks."""
    try:
        find_jars()
    except MissingPrerequisiteError as err:
        pytest.skip(f"gcloud emulators not installed: {err}")
    ports = Ports.free()
    args = ["--project", PROJECT, "--tick-interval", "3600", "--repo-root", str(REPO_ROOT)]
    for part, port in ports.by_part().items():
        args += [f"--{part}-port", str(port)]
    return args
