"""``python -m chaos`` itself: a stack whose sync does not come back ends the run with a report."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chaos import cli
from chaos.run import SeedResult
from chaos.workload import generate
from devstack.process import NotReadyError


@contextmanager
def _no_stack(*_args: Any, **_kwargs: Any) -> Iterator[SimpleNamespace]:
    yield SimpleNamespace(env={})


def test_a_sync_that_does_not_restart_fails_its_seed_and_names_the_seeds_not_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ran: list[int] = []

    def run_seed(_stack: object, seed: int, **_kwargs: Any) -> SeedResult:
        ran.append(seed)
        if seed == 2:
            raise NotReadyError("sync exited during start-up; see sync.log")
        result = SeedResult(seed, generate(seed, steps=3))
        result.converge_s = 1.0
        return result

    monkeypatch.setattr(cli, "private_stack", _no_stack)
    monkeypatch.setattr(cli, "run_seed", run_seed)
    monkeypatch.setattr(cli, "ChaosStack", lambda env, directory: object())
    monkeypatch.setattr("tempfile.mkdtemp", lambda prefix: str(tmp_path))

    status = cli.main(["--seeds", "4", "--steps", "3"])

    out = capsys.readouterr().out
    assert status == 1
    assert ran == [1, 2]
    assert "seed 1: clean" in out
    assert "seed 2: ERROR (harness) sync exited during start-up" in out
    assert "seeds not run: 3, 4" in out
    assert "summary: 1/2 seeds clean" in out
