"""A process whose port was taken between choosing it and binding it is reported at once, with
"in use" in the error (what the stack starters retry on with new ports), not after the whole
readiness timeout: the Java emulators log the BindException and keep running."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devstack.gcloud_emulators import free_port
from devstack.process import NotReadyError, running, serving
from tests.support.devstack import web_server

# Writes what the Pub/Sub emulator wrote when its port was taken, then keeps running.
_TAKEN = (
    "import sys, time; "
    "print('Exception in thread \"main\" java.net.BindException: Address already in use', "
    "flush=True); time.sleep(60)"
)


def test_a_port_taken_at_start_fails_fast_and_says_in_use(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", _TAKEN, "marker-taken"]

    with (
        pytest.raises(NotReadyError, match="address already in use") as raised,
        serving(
            "pubsub",
            argv,
            tmp_path,
            marker="marker-taken",
            ready_url="http://127.0.0.1:9/",
            timeout=30,
        ),
    ):
        pass

    assert "in use" in str(raised.value)
    assert running(tmp_path) == {}


def test_an_earlier_run_s_bind_failure_in_the_same_log_is_not_this_run_s(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "web.log").write_text("OSError: [Errno 98] Address already in use\n")
    argv, ready_url = web_server(free_port())

    with serving("web", argv, tmp_path, marker="http.server", ready_url=ready_url) as process:
        assert process.alive()
        assert not process.port_taken()
