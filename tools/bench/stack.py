"""A private local stack for the push-driven benchmarks, running confsync or the baseline.

The same stack as ``make demo`` (every part on a free port, in a temporary run directory, no
scheduler tick during the run), planned by :func:`devstack.stack.plan_stack` and run by
:mod:`devstack.lifecycle`. For the baseline, the ``sync`` part is the same functions-framework
command with :mod:`bench.baseline` as its source: the push subscription on ``sync-requests``, the
intake and channels functions, the emulators and the workload stay exactly the same, so the two
runs differ only in what handles a SyncRequest. ``BENCH_KEEP_LOGS=1`` keeps the run directory (and
the functions' logs) after a clean run too.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Literal

from devstack.client import StackClient
from devstack.lifecycle import StackError, down, read_env_file, up
from devstack.sdk import find_jars
from devstack.stack import (
    DEFAULT_SOLUTION_NAMES,
    Part,
    Ports,
    StackPlan,
    StackSettings,
    load_or_create_token_keys,
    plan_stack,
)

__all__ = ["REPO_ROOT", "Variant", "bench_stack", "logged_stack", "planned_stack"]

Variant = Literal["confsync", "baseline"]
REPO_ROOT = Path(__file__).resolve().parents[2]
BASELINE_SOURCE = Path(__file__).resolve().with_name("baseline.py")
_PORT_ATTEMPTS = 3
_TIMEOUT_S = 30.0  # per request: listings of a 200-calendar fan-out take a while


def _as_baseline(part: Part) -> Part:
    """The sync part with the baseline as functions-framework's source."""
    argv = tuple(
        f"--source={BASELINE_SOURCE}" if arg.startswith("--source=") else arg for arg in part.argv
    )
    return replace(part, argv=argv)


def _plan(variant: Variant, project: str, run_dir: Path) -> StackPlan:
    settings = StackSettings(
        project=project,
        ports=Ports.free(),
        tick_interval=3600.0,  # no scheduler tick (renewal, sweep) in the middle of a measurement
        solution_names=DEFAULT_SOLUTION_NAMES,
    )
    plan = plan_stack(
        settings,
        repo_root=REPO_ROOT,
        jars=find_jars(),
        python=sys.executable,
        token_keys=load_or_create_token_keys(run_dir),
    )
    if variant == "confsync":
        return plan
    parts = tuple(_as_baseline(p) if p.name == "sync" else p for p in plan.parts)
    return replace(plan, parts=parts)


@contextmanager
def bench_stack(variant: Variant, *, project: str) -> Iterator[StackClient]:
    """The stack running ``variant``; everything it started is stopped on the way out."""
    with planned_stack(variant, project=project) as (client, _):
        yield client


@contextmanager
def planned_stack(variant: Variant, *, project: str) -> Iterator[tuple[StackClient, StackPlan]]:
    """:func:`bench_stack`, with the plan it runs (every part's command line and environment)."""
    with _stack(variant, project=project) as (client, plan, _run_dir):
        yield client, plan


@contextmanager
def logged_stack(
    variant: Variant, *, project: str
) -> Iterator[tuple[StackClient, StackPlan, Path]]:
    """:func:`planned_stack`, with the folder of its parts' logs (``<part>.log``)."""
    with _stack(variant, project=project) as (client, plan, run_dir):
        yield client, plan, run_dir / "logs"


@contextmanager
def _stack(variant: Variant, *, project: str) -> Iterator[tuple[StackClient, StackPlan, Path]]:
    run_dir = Path(tempfile.mkdtemp(prefix=f"confsync-bench-{variant}-"))
    clean = False
    try:
        for attempt in range(_PORT_ATTEMPTS):
            plan = _plan(variant, project, run_dir)
            try:
                result = up(plan, run_dir, say=lambda _line: None)
                break
            except StackError as err:  # a free port can be taken between probing and binding
                if "in use" not in str(err) or attempt == _PORT_ATTEMPTS - 1:
                    raise
        yield StackClient(read_env_file(result.env_path), timeout=_TIMEOUT_S), plan, run_dir
        clean = True
    finally:
        down(run_dir)
        if clean and not os.environ.get("BENCH_KEEP_LOGS"):
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            print(f"bench: logs of the {variant} stack kept in {run_dir / 'logs'}", file=sys.stderr)
