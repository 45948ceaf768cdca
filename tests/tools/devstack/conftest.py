"""Fixtures of the local-stack tests: free ports and a project id of their own."""

from __future__ import annotations

import pytest

from devstack.sdk import MissingPrerequisiteError, find_jars
from devstack.stack import Ports
from tests.support.devstack import PROJECT
from tests.support.paths import REPO_ROOT


@pytest.fixture(name="stack_args")
def stack_args_fixture() -> list[str]:
    """`devstack up` flags: every part on a free port, a project of its own, no ticks."""
    try:
        find_jars()
    except MissingPrerequisiteError as err:
        pytest.skip(f"gcloud emulators not installed: {err}")
    args = ["--project", PROJECT, "--tick-interval", "3600", "--repo-root", str(REPO_ROOT)]
    return args + Ports.free().cli_args()
