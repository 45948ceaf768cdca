"""The emulators' command lines: the JVM options reach the JVM, not the emulator's own parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.gcloud_emulators import EMULATOR_NAMES, JVM_OPTIONS, emulator_argv
from devstack.sdk import SdkJars

JARS = SdkJars(sdk_root=Path("/sdk"), firestore=Path("/sdk/fs.jar"), pubsub=Path("/sdk/ps.jar"))


@pytest.mark.parametrize("name", EMULATOR_NAMES)
def test_the_jvm_options_come_before_the_program(name: str) -> None:
    argv = emulator_argv(name, JARS, "127.0.0.1", 8681)

    program = next(i for i, arg in enumerate(argv) if arg in ("-jar", "-cp"))
    assert argv[0] == "java"
    assert set(JVM_OPTIONS) <= set(argv[1:program])
    assert argv[-1] == "--port=8681"  # the marker that finds the process again
