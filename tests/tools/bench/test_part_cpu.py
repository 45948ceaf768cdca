"""The CPU figures of ``fanout``: each part's processes found by command line, per run in ms."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bench.part_cpu import PartCpu
from devstack.stack import Part

_BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"


def _part(name: str, argv: tuple[str, ...]) -> Part:
    return Part(name, "function", argv, "", None)


@pytest.mark.timeout(30)
def test_a_part_that_works_shows_its_cpu_and_an_idle_one_none() -> None:
    busy = (sys.executable, "-c", _BURN + "time.sleep(30)", "--part=sync")
    idle = (sys.executable, "-c", "import time; time.sleep(30)", "--part=firestore")
    processes = [subprocess.Popen(argv) for argv in (busy, idle)]
    try:
        time.sleep(0.1)
        cpu = PartCpu([_part("sync", busy), _part("firestore", idle), _part("other", busy)])
        before = cpu.snapshot()
        time.sleep(0.6)  # the busy one burns 0.3 s of CPU meanwhile
        figures = PartCpu.per_run_ms(before, cpu.snapshot(), runs=10)
    finally:
        for process in processes:
            process.kill()
            process.wait()

    assert set(figures) == {"sync_cpu_ms_per_run", "firestore_cpu_ms_per_run"}  # parts measured
    assert figures["sync_cpu_ms_per_run"] >= 15  # most of 300 ms over 10 runs
    assert figures["firestore_cpu_ms_per_run"] < 5


def test_per_run_divides_by_the_runs_and_skips_parts_not_found() -> None:
    figures = PartCpu.per_run_ms({"sync": 1.0, "pubsub": 2.0}, {"sync": 3.0}, runs=200)

    assert figures == {"sync_cpu_ms_per_run": 10.0}
