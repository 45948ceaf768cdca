"""The benchmark's results: their schema check, the terminal table, the README table, the knobs."""

from __future__ import annotations

from typing import Any

import pytest

from bench import report
from bench.coldstart import import_breakdown
from bench.scale import scaled


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "name": "burst",
            "list_calls": 7,
            "conference_ops": 60,
            "conference_ops_per_event": 1.2,
            "converge_s": 0.8,
            "baseline": {
                "list_calls": 480,
                "conference_ops": 9000,
                "conference_ops_per_event": 180.0,
                "converge_s": 12.5,
            },
        },
        {"name": "latency", "p50_ms": 60.0, "p95_ms": 120.0, "p99_ms": 200.0, "baseline": {}},
        {"name": "incremental", "wall_s": 9.1, "peak_rss_mb": 120.0, "baseline": {}},
        {"name": "full", "wall_s": 12.0, "calendar_calls": 6, "baseline": {}},
        {
            "name": "fanout",
            "converge_s": 2.0,
            "list_calls": 200,
            "firestore_round_trips_per_run": 5.0,
            "baseline": {},
        },
        {
            "name": "renewal",
            "wall_s": 30.0,
            "calendar_calls": 10000,
            "max_subject_rpm": 300,
            "notes": "no baseline: the seed needs no renewal",
        },
        {
            "name": "quota",
            "users": 10_000,
            "changes_per_user_day": 10.0,
            "lost_notification_rate": 0.01,
            "calendar_calls_per_user_day": 22.4,
            "median_recovery_s": 360.0,
            "max_recovery_s": 10_900.0,
            "baseline": {"calendar_calls_per_user_day": 104.0},
        },
        {
            "name": "coldstart",
            "import_s": 1.4,
            "first_request_s": 0.3,
            "functions": {
                "intake": {"import_s": 1.4, "import_breakdown_s": {"confsync.bootstrap": 1.0}}
            },
        },
        {
            "name": "firestore_transport",
            "get_emulator_cpu_ms": 2.2,
            "baseline": {"get_emulator_cpu_ms": 0.7},
        },
        {
            "name": "fleet",
            "calendars": 20000,
            "due": 6500,
            "tick_s": 40.0,
            "tick_firestore_reads": 13500,
            "tick_interval_s": 300,
        },
    ]


def test_complete_results_have_no_problems() -> None:
    assert report.problems(_rows()) == []


def test_problems_name_missing_scenarios_unitless_keys_and_non_numbers() -> None:
    rows = _rows()[1:]
    rows[0]["speed"] = 3
    rows[1]["baseline"] = {"wall_s": "fast"}
    found = report.problems(rows)
    assert "scenario 'burst' is missing" in found
    assert "latency: figure 'speed' does not end with a unit" in found
    assert "incremental.baseline: figure 'wall_s' is not a number" in found
    assert len(found) == 3


def test_markdown_puts_confsync_next_to_the_baseline_and_the_goal() -> None:
    lines = report.markdown(_rows()).splitlines()
    assert lines[0] == "| scenario | figure | confsync | baseline | goal |"
    assert "| `burst` | `list_calls` | 7 | 480 | <= 10 |" in lines
    assert "|  | `conference_ops` | 60 | 9,000 |  |" in lines
    assert "| `renewal` | `wall_s` | 30.0 | n/a |  |" in lines
    assert "|  | `intake import_s` | 1.4 | n/a |  |" in lines
    assert "|  | `tick_firestore_reads` | 13,500 | n/a | <= 3 x due + 50 |" in lines


def test_table_lists_every_figure_and_the_notes() -> None:
    text = report.table(_rows())
    assert "renewal: no baseline: the seed needs no renewal" in text
    converge = [line.split() for line in text.splitlines() if "converge_s" in line]
    assert converge[0] == ["converge_s", "0.8", "12.5"]  # burst's, under burst's first line
    assert converge[1] == ["fanout", "converge_s", "2", "-"]  # fanout's baseline has no figure


def test_import_breakdown_adds_up_what_main_imports_and_finds_firestore() -> None:
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       500 |        500 | site",
            "import time:       100 |        100 |     google.cloud.firestore_v1.types",
            "import time:       200 |     300000 |   google.cloud.firestore",
            "import time:       300 |     800000 | confsync.bootstrap",
            "import time:       100 |     200000 | flask",
            "import time:        10 |       1000 | confsync.lazy",
        ]
    )
    top, firestore = import_breakdown(stderr)
    assert top == {"confsync.bootstrap": 0.8, "flask": 0.2, "confsync.lazy": 0.001}
    assert firestore == 0.3


def test_scale_shrinks_workloads_but_not_below_the_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_SCALE", "0.1")
    assert (scaled(500), scaled(50, 5), scaled(20, 5)) == (50, 5, 5)
    monkeypatch.setenv("BENCH_SCALE", "2")
    with pytest.raises(ValueError, match="BENCH_SCALE"):
        scaled(1)
