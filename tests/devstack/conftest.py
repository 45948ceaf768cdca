"""Fixtures of the local-stack tests: free ports and a project id of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.gcloud_emulators import free_port
from devstack.sdk import MissingPrerequisiteError, find_jars
from devstack.stack import Ports

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "confsync-devstack-e2e"


def free_stack_ports() -> Ports:
    chosen: list[int] = []
    while len(chosen) < len(Ports().by_part()):
        port = free_port()
        if port not in chosen:
            chosen.append(port)
    return Ports(**dict(zip(Ports().by_part(), chosen, strict=True)))


@pytest.fixture(name="stack_args")
def stack_args_fixture() -> list[str]:
    """`devstack up` flags: every part on a free port, a project of its own, no ticks."""
    try:
        find_jars()
    except MissingPrerequisiteError as err:
        pytest.skip(f"gcloud emulators not installed: {err}")
    ports = free_stack_ports()
    args = ["--project", PROJECT, "--tick-interval", "3600", "--repo-root", str(REPO_ROOT)]
    for part, port in ports.by_part().items():
        args += [f"--{part}-port", str(port)]
    return args
