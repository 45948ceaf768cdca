"""Fixtures shared by every test tier: environment isolation and the gcloud emulator harness.

Every test runs under the log-leak probe (``tests/support/log_leaks.py``): it fails when a log
line the test caused carries an e-mail address, a sync or page token or a Calendar request URL.

The Firestore and Pub/Sub emulators are reused when they already run (``FIRESTORE_EMULATOR_HOST``
and ``PUBSUB_EMULATOR_HOST`` set, or ``make emulators`` recorded them in ``.run/emulators.env``);
otherwise the first test that needs them starts both on free ports and the session stops them at
the end. Tests use their own project id, and every test starts from an empty project.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devstack.gcloud_emulators import (
    EmulatorEndpoints,
    free_port,
    reset_firestore,
    reset_pubsub,
    start_gcloud_emulators,
    stop_gcloud_emulators,
)
from devstack.process import NotReadyError, is_answering
from tests.support.log_leaks import no_secrets_in_logs
from tests.support.paths import REPO_ROOT

__all__ = ["no_secrets_in_logs"]  # the autouse probe, a fixture of every test

TEST_PROJECT = "confsync-test"


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    """Undo any change a test makes to ``os.environ``."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _running_emulators() -> EmulatorEndpoints | None:
    """Endpoints of emulators that already answer, under the test project id."""
    env_file = REPO_ROOT / ".run" / "emulators.env"
    sources: list[dict[str, str]] = [dict(os.environ)]
    if env_file.is_file():
        lines = env_file.read_text().splitlines()
        sources.append(dict(line.split("=", 1) for line in lines if "=" in line))
    for source in sources:
        found = EmulatorEndpoints.from_env(source)
        if found and all(
            is_answering(f"http://{host}/") for host in (found.firestore_host, found.pubsub_host)
        ):
            return EmulatorEndpoints(
                project=TEST_PROJECT,
                firestore_host=found.firestore_host,
                pubsub_host=found.pubsub_host,
            )
    return None


@pytest.fixture(scope="session", name="gcloud_emulators")
def gcloud_emulators_fixture(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EmulatorEndpoints]:
    """Both emulators, reused or started for this session."""
    reused = _running_emulators()
    if reused is not None:
        yield reused
        return
    run_dir = tmp_path_factory.mktemp("gcloud-emulators")
    for attempt in range(3):  # a "free" port can be taken between probing and binding
        try:
            endpoints = start_gcloud_emulators(
                run_dir,
                project=TEST_PROJECT,
                firestore_port=free_port(),
                pubsub_port=free_port(),
            )
            break
        except NotReadyError:
            if attempt == 2:
                raise
    try:
        yield endpoints
    finally:
        stop_gcloud_emulators(run_dir)


@pytest.fixture(name="firestore_emulator")
def firestore_emulator_fixture(
    gcloud_emulators: EmulatorEndpoints, monkeypatch: pytest.MonkeyPatch
) -> EmulatorEndpoints:
    """An empty Firestore project; the client libraries point at the emulator."""
    reset_firestore(gcloud_emulators)
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", gcloud_emulators.firestore_host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", gcloud_emulators.project)
    return gcloud_emulators


@pytest.fixture(name="pubsub_emulator")
def pubsub_emulator_fixture(
    gcloud_emulators: EmulatorEndpoints, monkeypatch: pytest.MonkeyPatch
) -> EmulatorEndpoints:
    """A Pub/Sub project with no topic or subscription; the clients point at the emulator."""
    reset_pubsub(gcloud_emulators)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", gcloud_emulators.pubsub_host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", gcloud_emulators.project)
    return gcloud_emulators
