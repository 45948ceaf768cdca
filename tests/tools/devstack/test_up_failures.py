"""``up`` fails clearly, naming the part and its log, and leaves nothing running.

Uses small stand-in processes instead of the real stack, so it takes about a second.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from devstack.gcloud_emulators import free_port
from devstack.lifecycle import StackError, up
from devstack.process import running
from devstack.stack import Part, Ports, StackPlan, StackSettings
from tests.support.devstack import web_server


def _web(name: str, port: int) -> Part:
    argv, ready_url = web_server(port)
    return Part(name, "function", tuple(argv), f"{port}", ready_url)


def _plan(ports: Ports, *parts: Part) -> StackPlan:
    return StackPlan(
        settings=StackSettings(project="p-test", ports=ports),
        parts=parts,
        skipped=(),
        topics=(),
        push_subscriptions=(),
        dead_letter_subscription="unused",
        stack_env={"PUBSUB_EMULATOR_HOST": "127.0.0.1:9"},
    )


def test_a_part_that_dies_is_named_with_its_log_and_the_rest_is_stopped(tmp_path: Path) -> None:
    ports = Ports(intake=free_port(), sync=free_port())
    broken = Part(
        "sync",
        "function",
        (
            sys.executable,
            "-c",
            "import sys; print('invalid configuration: CONFERENCING_URL is required'); sys.exit(3)",
            "marker-broken-sync",
        ),
        "marker-broken-sync",
        f"http://127.0.0.1:{ports.sync}/",
    )
    plan = _plan(ports, _web("intake", ports.intake), broken)

    with pytest.raises(StackError) as raised:
        up(plan, tmp_path, timeout=20, say=lambda _line: None)

    message = str(raised.value)
    assert "sync exited during start-up" in message
    assert str(tmp_path / "logs" / "sync.log") in message
    assert "CONFERENCING_URL is required" in message  # the log's last lines
    assert running(tmp_path) == {}
    assert not (tmp_path / "stack.env").exists()


def test_a_port_taken_by_another_process_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        plan = _plan(Ports(sync=busy), _web("sync", busy))

        with pytest.raises(StackError, match=rf"sync: port {busy} is in use.*--sync-port"):
            up(plan, tmp_path, timeout=5, say=lambda _line: None)

    assert running(tmp_path) == {}
