"""CPU time of a local process and its children, from ``/proc`` (Linux), for the benchmarks.

A function served by functions-framework is a gunicorn arbiter and the worker it forked; both
carry the command line the stack started, so the processes are found by that command line (every
argument of the stack part's ``argv``, each matched whole) and their user and system times are
added up.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["cpu_seconds", "pids_running"]

_PROC = Path("/proc")
_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def pids_running(argv: Sequence[str]) -> list[int]:
    """Every running process (but this one) whose command line holds each argument of ``argv``."""
    wanted = {arg.encode() for arg in argv}
    found: list[int] = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if wanted <= set(cmdline.split(b"\0")):
            found.append(int(entry.name))
    return sorted(found)


def _process_ticks(pid: int) -> int:
    """utime + stime of ``pid`` in clock ticks (0 once it is gone)."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5): utime, stime


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes ``pids`` used so far."""
    return sum(_process_ticks(pid) for pid in pids) / _TICKS_PER_S
