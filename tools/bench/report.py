"""The benchmark results: their shape, the side-by-side table and the README's markdown table.

``results.json`` is a list with one object per scenario: ``{"name": ..., <figures>, "baseline":
{<the same figures>}}`` (``baseline`` only where the seed's recipe has an equivalent), plus
optional ``notes`` and nested groups (``functions`` of ``coldstart``). Every figure's key ends with
its unit, so a reader never has to guess; :func:`problems` checks that, and the names of the
required scenarios.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "GOALS",
    "REQUIRED",
    "UNITS",
    "markdown",
    "problems",
    "table",
]

REQUIRED = (
    "burst",
    "latency",
    "incremental",
    "full",
    "fanout",
    "renewal",
    "coldstart",
    "firestore_transport",
    "fleet",
    "quota",
)

#: Endings a figure key may have: its unit (or, for counts, what is counted).
UNITS = (
    "_calls",
    "_ops",
    "_s",
    "_ms",
    "_per_s",
    "_per_event",
    "_per_enrolment",
    "_per_run",
    "_mb",
    "_rpm",
    "edits",
    "events",
    "calendars",
    "channels",
    "ours",
    "renewed",
    "ticks",
    "requests",
    "published",
    "users",
    "_per_user_day",
    "_rate",
    "changes",
    "_reads",
    "due",
)
_TEXT_KEYS = frozenset({"name", "notes", "answers"})

#: The goals of issue #6, by (scenario, figure); shown next to the figures, never enforced.
GOALS: Mapping[tuple[str, str], str] = {
    ("burst", "list_calls"): "<= 10",
    ("burst", "conference_ops_per_event"): "<= 2",
    ("latency", "p50_ms"): "< 300",
    ("latency", "p95_ms"): "< 1000",
    ("incremental", "firestore_writes_per_event"): "<= 1 + constant",
    ("incremental", "peak_rss_mb"): "< 256",
    ("quota", "calendar_calls_per_user_day"): "<= 24",
    ("quota", "median_recovery_s"): "<= 900",
    ("quota", "max_recovery_s"): "<= 14400",
    ("fanout", "firestore_round_trips_per_run"): "<= 4",
    ("fleet", "tick_s"): "<= tick_interval_s",
    ("fleet", "tick_firestore_reads"): "<= 3 x due + 50",
}

#: Figures shown in the tables, per scenario, in order (the JSON has more).
SHOWN: Mapping[str, tuple[str, ...]] = {
    "burst": ("list_calls", "conference_ops", "conference_ops_per_event", "converge_s"),
    "latency": ("p50_ms", "p95_ms", "p99_ms", "list_calls"),
    "incremental": (
        "wall_s",
        "events_per_s",
        "list_calls",
        "conference_ops",
        "firestore_reads_per_event",
        "firestore_writes_per_event",
        "owner_lookup_calls",
        "peak_rss_mb",
    ),
    "full": (
        "wall_s",
        "calendar_calls",
        "conference_ops",
        "firestore_reads_per_event",
        "firestore_writes_per_event",
        "owner_lookup_calls",
        "peak_rss_mb",
    ),
    "fanout": (
        "converge_s",
        "list_calls",
        "conference_ops",
        "firestore_round_trips_per_run",
        "sync_cpu_ms_per_run",
        "firestore_cpu_ms_per_run",
    ),
    "renewal": ("wall_s", "calendar_calls", "max_subject_rpm"),
    "coldstart": (
        "import_s",
        "boot_s",
        "first_request_s",
        "framework_import_s",
        "own_cold_s",
    ),
    "fleet": ("calendars", "due", "tick_s", "tick_firestore_reads", "tick_interval_s"),
    "quota": (
        "users",
        "changes_per_user_day",
        "calendar_calls_per_user_day",
        "median_recovery_s",
        "max_recovery_s",
    ),
}


def problems(rows: Sequence[Mapping[str, Any]], required: Sequence[str] = REQUIRED) -> list[str]:
    """What is wrong with ``rows`` (empty when nothing): missing scenarios, unit-less keys."""
    found: list[str] = []
    names = [row.get("name") for row in rows]
    found += [f"scenario {name!r} is missing" for name in required if name not in names]

    def check(where: str, figures: Mapping[str, Any]) -> None:
        for key, value in figures.items():
            if key in _TEXT_KEYS and not isinstance(value, Mapping):
                continue
            if key == "answers":  # HTTP status -> count
                continue
            if key == "baseline" and isinstance(value, Mapping):
                check(f"{where}.baseline", value)
            elif key == "functions" and isinstance(value, Mapping):
                for function, group in value.items():
                    check(f"{where}.{function}", group)
            elif isinstance(value, Mapping) and key.endswith(UNITS):  # a breakdown by name
                if not all(isinstance(v, int | float) for v in value.values()):
                    found.append(f"{where}: {key!r} holds something else than numbers")
            elif not key.endswith(UNITS):
                found.append(f"{where}: figure {key!r} does not end with a unit")
            elif not isinstance(value, int | float) or isinstance(value, bool):
                found.append(f"{where}: figure {key!r} is not a number")

    for row in rows:
        check(str(row.get("name")), row)
    return found


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _lines(rows: Sequence[Mapping[str, Any]], *, every: bool) -> Iterator[tuple[str, ...]]:
    """(scenario, figure, confsync, baseline, goal) for each figure shown."""
    for row in rows:
        name = str(row["name"])
        baseline: Mapping[str, Any] = row.get("baseline") or {}
        keys = [k for k, v in row.items() if k not in _TEXT_KEYS and not isinstance(v, Mapping)]
        if not every and name in SHOWN:
            keys = [k for k in SHOWN[name] if k in row]
        for key in keys:
            theirs = _fmt(baseline.get(key)) if "baseline" in row else "n/a"
            yield name, key, _fmt(row[key]), theirs, GOALS.get((name, key), "")
        for function, figures in (row.get("functions") or {}).items():
            for key in SHOWN.get(name, ()):
                if key in figures:
                    yield name, f"{function} {key}", _fmt(figures[key]), "n/a", ""


_HEADER = ("scenario", "figure", "confsync", "baseline", "goal")


def table(rows: Sequence[Mapping[str, Any]], *, every: bool = True) -> str:
    """A plain-text side-by-side table for the terminal, with each scenario's notes after it."""
    lines = list(_lines(rows, every=every))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(_HEADER)]
    out = ["  ".join(h.ljust(w) for h, w in zip(_HEADER, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    previous = None
    for line in lines:
        shown = list(line)
        if line[0] == previous:
            shown[0] = ""
        previous = line[0]
        cells = [
            c.ljust(w) if i < 2 or i == 4 else c.rjust(w)
            for i, (c, w) in enumerate(zip(shown, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    notes = [f"{row['name']}: {row['notes']}" for row in rows if row.get("notes")]
    return "\n".join(out + (["", *notes] if notes else []))


def markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The README's "Performance" table (the figures that matter; the JSON has every one)."""
    out = [
        "| " + " | ".join(_HEADER) + " |",
        "|---|---|---:|---:|---|",
    ]
    previous = None
    for line in _lines(rows, every=False):
        scenario = f"`{line[0]}`" if line[0] != previous else ""
        previous = line[0]
        out.append(f"| {scenario} | `{line[1]}` | {line[2]} | {line[3]} | {line[4]} |")
    return "\n".join(out)
