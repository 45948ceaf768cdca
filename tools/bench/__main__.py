"""``python -m bench`` (``make bench``): run the benchmarks, print a table, write results.json.

Default: the scenarios of issue #6 (``burst``, ``latency``, ``fanout``, ``incremental``,
``full``, ``renewal``, ``coldstart``), ``fleet`` (one tick over 20,000 calendars) and ``quota``
(a simulated day on a fake clock), confsync next to the baseline (the seed's recipe,
:mod:`bench.baseline`) where it has one. Each group brings up the stack it needs on free ports
and stops it afterwards.

    python -m bench                      # the default scenarios
    python -m bench --only burst latency # just these
    python -m bench --all                # also intake, calendar_emulator, flood, enroll, budget
    python -m bench --only flood --output .run/bench/flood.json  # `make bench-flood`
    python -m bench --only enroll --output .run/bench/enroll.json  # `make bench-enroll`
    python -m bench --markdown           # print results.json as the README's Performance table
    BENCH_SCALE=0.1 python -m bench      # every workload at a tenth of its size

Figures only, never pass/fail: goals are printed next to them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import report
from bench.scale import scale

OUTPUT = Path(".run/bench/results.json")
OPTIONAL = ("intake", "calendar_emulator", "flood", "enroll", "budget")
ORDER = (*report.REQUIRED, *OPTIONAL)

Rows = list[dict[str, Any]]


def _push(names: set[str]) -> Rows:
    from bench import push  # noqa: PLC0415 - each group imports only what it runs

    return push.run(names, say=lambda line: print(line, flush=True))


def _sync(names: set[str]) -> Rows:
    from bench import sync  # noqa: PLC0415

    return sync.run(names)


def _renewal(_names: set[str]) -> Rows:
    from bench import channels  # noqa: PLC0415

    return channels.run()


def _fleet(_names: set[str]) -> Rows:
    from bench import fleet  # noqa: PLC0415

    return fleet.run()


def _coldstart(_names: set[str]) -> Rows:
    from bench import coldstart  # noqa: PLC0415

    return coldstart.run()


def _quota(_names: set[str]) -> Rows:
    from bench import quota  # noqa: PLC0415

    return quota.run()


def _intake(_names: set[str]) -> Rows:
    from bench import intake  # noqa: PLC0415

    return intake.run()


def _calendar_emulator(_names: set[str]) -> Rows:
    from bench import calendar_emulator  # noqa: PLC0415

    return calendar_emulator.run()


def _enroll(_names: set[str]) -> Rows:
    from bench import enroll  # noqa: PLC0415

    return enroll.run()


def _flood(_names: set[str]) -> Rows:
    from bench import flood  # noqa: PLC0415

    return flood.run()


def _budget(_names: set[str]) -> Rows:
    from bench import budget  # noqa: PLC0415

    return budget.run()


def _transport(_names: set[str]) -> Rows:
    from bench import transport  # noqa: PLC0415

    return transport.run()


#: Groups of scenarios that share a stack: (scenarios, runner).
GROUPS: tuple[tuple[tuple[str, ...], Callable[[set[str]], Rows]], ...] = (
    (("latency", "burst", "fanout"), _push),
    (("incremental", "full"), _sync),
    (("renewal",), _renewal),
    (("fleet",), _fleet),
    (("coldstart",), _coldstart),
    (("firestore_transport",), _transport),
    (("quota",), _quota),
    (("intake",), _intake),
    (("calendar_emulator",), _calendar_emulator),
    (("flood",), _flood),
    (("enroll",), _enroll),
    (("budget",), _budget),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--only", nargs="+", choices=ORDER, metavar="SCENARIO", help="run these")
    chosen.add_argument("--all", action="store_true", help="also " + ", ".join(OPTIONAL))
    chosen.add_argument(
        "--markdown", action="store_true", help=f"print {OUTPUT} as a markdown table, run nothing"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="(default: %(default)s)")
    return parser


def _ordered(rows: Rows) -> Rows:
    return sorted(rows, key=lambda row: ORDER.index(row["name"]) if row["name"] in ORDER else 99)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; the exit status (0, or 1 when results.json is missing for --markdown)."""
    args = _parser().parse_args(argv)
    if args.markdown:
        if not args.output.is_file():
            print(f"no {args.output}: run `make bench` first", file=sys.stderr)
            return 1
        print(report.markdown(json.loads(args.output.read_text())))
        return 0
    wanted = set(args.only or (ORDER if args.all else report.REQUIRED))
    started = time.monotonic()
    print(f"bench: {', '.join(n for n in ORDER if n in wanted)} (scale {scale():g})", flush=True)
    rows: Rows = []
    for names, runner in GROUPS:
        selected = wanted & set(names)
        if selected:
            began = time.monotonic()
            print(f"bench: {', '.join(n for n in names if n in selected)} ...", flush=True)
            rows += runner(selected)
            print(f"bench: ... done in {time.monotonic() - began:.0f} s", flush=True)
    rows = _ordered(rows)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rows, indent=2) + "\n")
    print()
    print(report.table(rows))
    for problem in report.problems(rows, required=[n for n in report.REQUIRED if n in wanted]):
        print(f"WARNING: {problem}", file=sys.stderr)
    print(f"\nwritten to {args.output} in {time.monotonic() - started:.0f} s (scale {scale():g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
