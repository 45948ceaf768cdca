"""``serving``: a process that answers is yielded and stopped afterwards; one that never answers
is stopped too, and the error names its log."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devstack.gcloud_emulators import free_port
from devstack.process import NotReadyError, running, serving
from tests.support.devstack import web_server


def test_serving_yields_a_ready_process_and_stops_it(tmp_path: Path) -> None:
    argv, ready_url = web_server(free_port())

    with serving("web", argv, tmp_path, marker="http.server", ready_url=ready_url) as process:
        assert process.alive()
        assert running(tmp_path).keys() == {"web"}

    assert not process.alive()
    assert running(tmp_path) == {}


def test_serving_stops_a_process_that_never_answers(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(60)", "marker-silent"]

    with (
        pytest.raises(NotReadyError, match="not ready after"),
        serving(
            "silent",
            argv,
            tmp_path,
            marker="marker-silent",
            ready_url="http://127.0.0.1:9/",
            timeout=0.5,
        ),
    ):
        pass

    assert running(tmp_path) == {}
