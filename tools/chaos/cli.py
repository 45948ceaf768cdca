"""``python -m chaos``: run seeds of the chaos suite on a private local stack.

One stack (every part on a free port, in a temporary run directory, with short sweep, lease and
timeout settings) serves every seed of the run; each seed uses calendars of its own. Prints one
line per seed (clean / FAILED with the diff and a trace to replay it) and a summary; exits 1 when
any seed failed, 2 when the stack could not start. A sync function that does not come back after
a ``kill-sync`` (it exited during start-up) fails that seed and ends the run: the seeds left are
named, and the summary covers those that ran.

    python -m chaos --seeds 10          # seeds 1..10 (make chaos SEEDS=10)
    python -m chaos --seed 7 --trace    # replay one seed, printing every step
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import requests

from chaos.execute import HarnessError
from chaos.faults import CHAOS_SETTINGS
from chaos.report import seed_line, trace_lines
from chaos.run import SeedResult, run_seed
from chaos.stack import ChaosStack
from chaos.workload import generate
from devstack.demo import private_stack
from devstack.lifecycle import StackError
from devstack.process import NotReadyError
from devstack.sdk import MissingPrerequisiteError

__all__ = ["main"]

PROJECT = "confsync-chaos"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--seeds", type=int, default=5, help="run seeds 1..N (%(default)s)")
    which.add_argument("--seed", type=int, action="append", help="run this seed (repeatable)")
    parser.add_argument("--steps", type=int, default=40, help="user actions per seed (%(default)s)")
    parser.add_argument("--calendars", type=int, default=3, help="calendars per seed (%(default)s)")
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=120.0,
        help="seconds the quiet period may take to converge (%(default)s)",
    )
    parser.add_argument(
        "--no-moves",
        dest="moves",
        action="store_false",
        help="no move steps (events.move between a user's calendars and to other users)",
    )
    parser.add_argument("--trace", action="store_true", help="print every step of each seed")
    parser.add_argument(
        "--plan", action="store_true", help="print the seeds' steps without running anything"
    )
    return parser


def _say(line: str) -> None:
    print(line, flush=True)


def _run_all(seeds: Sequence[int], args: argparse.Namespace) -> list[SeedResult]:
    results: list[SeedResult] = []
    directory = Path(tempfile.mkdtemp(prefix="confsync-chaos-"))
    started = time.monotonic()
    with private_stack(
        directory, project=PROJECT, say=lambda _line: None, overrides=CHAOS_SETTINGS
    ) as client:
        _say(f"stack up in {time.monotonic() - started:.1f} s (run directory {directory})")
        stack = ChaosStack(client.env, directory)
        for number, seed in enumerate(seeds):
            broken = False
            try:
                result = run_seed(
                    stack,
                    seed,
                    steps=args.steps,
                    calendars=args.calendars,
                    quiet_timeout=args.quiet_timeout,
                    say=_say,
                    moves=args.moves,
                )
            except (HarnessError, requests.RequestException, NotReadyError) as err:
                result = SeedResult(
                    seed,
                    generate(seed, steps=args.steps, calendars=args.calendars, moves=args.moves),
                )
                result.error = str(err)
                broken = isinstance(err, NotReadyError)  # the sync did not come back after a kill
            results.append(result)
            _say(seed_line(result))
            if args.trace or not result.clean:
                for line in trace_lines(result, full=args.trace):
                    _say("    " + line)
            elif result.notes:
                for note in result.notes:
                    _say(f"    note: {note}")
            if broken:
                rest = ", ".join(str(s) for s in seeds[number + 1 :]) or "none"
                _say(f"the stack is broken (its sync does not start); seeds not run: {rest}")
                break
    if all(r.clean for r in results):
        shutil.rmtree(directory, ignore_errors=True)
    else:
        _say(f"logs kept in {directory / 'logs'}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; the exit status."""
    args = _parser().parse_args(argv)
    seeds = args.seed or list(range(1, args.seeds + 1))
    if args.plan:
        for seed in seeds:
            _say(f"seed {seed}:")
            for number, step in enumerate(
                generate(seed, steps=args.steps, calendars=args.calendars, moves=args.moves).steps,
                1,
            ):
                _say(f"  {number:>4} {step}")
        return 0
    started = time.monotonic()
    try:
        results = _run_all(seeds, args)
    except (StackError, MissingPrerequisiteError) as err:
        print(f"chaos: the stack did not start: {err}", file=sys.stderr, flush=True)
        return 2
    clean = [r for r in results if r.clean]
    per_seed = sum(r.wall_s for r in results) / max(len(results), 1)
    _say(
        f"summary: {len(clean)}/{len(results)} seeds clean; {per_seed:.1f} s per seed, "
        f"{time.monotonic() - started:.0f} s in all"
    )
    failed = [str(r.seed) for r in results if not r.clean]
    if failed:
        _say(f"failed seeds: {', '.join(failed)} (replay: python -m chaos --seed N --trace)")
        return 1
    return 0
