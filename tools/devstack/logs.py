"""Follow the stack's log files and print one readable line per event.

The functions log Cloud Logging JSON (one object per line, see :mod:`confsync.cloud_logging`);
those become ``HH:MM:SS  part  SEVERITY  message [label=value ...]`` (local time; a multi-line
message such as a traceback continues on indented lines). Any other line (emulators, gunicorn,
the scheduler) is printed as it is, after the part's name, except for the Java emulators'
two-line records (``Nov 24, 2026 5:16:10 AM class method`` then ``INFO: message``), which become
one line like the functions'; their per-request chatter (which headers a push forwards, HTTP/2
detection) is left out (:data:`JAVA_NOISE`).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO

from devstack.process import running

__all__ = ["JAVA_NOISE", "LogFollower", "follow", "format_java_record", "format_line"]

_LABELS = "logging.googleapis.com/labels"
_TIME_WIDTH = 8  # HH:MM:SS
_SEVERITY_WIDTH = 7  # WARNING
_JAVA_HEADER = re.compile(
    r"^(?P<stamp>[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M) \S+(?: \S+)?$"
)
_JAVA_RECORD = re.compile(r"^(?P<level>SEVERE|WARNING|INFO|CONFIG|FINE|FINER|FINEST): (?P<msg>.*)$")
_JAVA_LEVELS = {"SEVERE": "ERROR", "CONFIG": "DEBUG", "FINE": "DEBUG", "FINER": "DEBUG"}
_JAVA_LEVELS["FINEST"] = "DEBUG"

#: Messages of the Java emulators that say nothing useful (one per header of every push).
JAVA_NOISE = (
    "Forwarding key: ",
    "Not forwarding key: ",
    "Detected non-HTTP/2 connection.",
    "Detected HTTP/2 connection.",
)


def _clock(entry: Mapping[str, Any], tz: tzinfo | None) -> str:
    raw = entry.get("time") or entry.get("timestamp")
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return " " * _TIME_WIDTH
        return moment.astimezone(tz).strftime("%H:%M:%S")
    return " " * _TIME_WIDTH


def _labels(entry: Mapping[str, Any]) -> str:
    labels = entry.get(_LABELS)
    if not isinstance(labels, Mapping) or not labels:
        return ""
    return " [" + " ".join(f"{key}={value}" for key, value in labels.items()) + "]"


def format_line(part: str, line: str, *, width: int = 12, tz: tzinfo | None = None) -> str:
    """One log line of ``part`` made readable (see the module docstring).

    ``width`` pads the part name so columns line up; ``tz`` is the time zone shown (None: local).
    """
    text = line.rstrip("\r\n")
    entry: Any = None
    if text.startswith("{"):
        try:
            entry = json.loads(text)
        except json.JSONDecodeError:
            entry = None
    if not isinstance(entry, dict) or not isinstance(entry.get("message"), str):
        return f"{' ' * _TIME_WIDTH}  {part:<{width}}  {text}"
    severity = str(entry.get("severity") or "DEFAULT")
    first, *rest = entry["message"].splitlines() or [""]
    head = f"{_clock(entry, tz)}  {part:<{width}}  {severity:<{_SEVERITY_WIDTH}}  "
    formatted = head + first + _labels(entry)
    indent = " " * len(head)
    return "\n".join([formatted, *(indent + more for more in rest)])


def format_java_record(part: str, header: str, line: str, *, width: int = 12) -> str | None:
    """The two lines of a java.util.logging record as one line; None when it is noise.

    Raises ValueError when ``header``/``line`` are not such a record.
    """
    head, record = _JAVA_HEADER.match(header), _JAVA_RECORD.match(line.rstrip("\r\n"))
    if head is None or record is None:
        raise ValueError("not a java.util.logging record")
    message = record.group("msg")
    if message.startswith(JAVA_NOISE):
        return None
    clock = datetime.strptime(head.group("stamp"), "%b %d, %Y %I:%M:%S %p").strftime("%H:%M:%S")
    severity = _JAVA_LEVELS.get(record.group("level"), record.group("level"))
    return f"{clock}  {part:<{width}}  {severity:<{_SEVERITY_WIDTH}}  {message}"


@dataclass
class LogFollower:
    """Reads what was appended to each part's log since the last :meth:`poll`."""

    log_dir: Path
    parts: list[str]
    offsets: dict[str, int] = field(default_factory=dict)
    _partial: dict[str, str] = field(default_factory=dict)
    _java_header: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_end(cls, log_dir: Path, parts: Iterable[str]) -> LogFollower:
        """A follower that shows only what is written from now on."""
        names = list(parts)
        offsets = {name: _size(log_dir / f"{name}.log") for name in names}
        return cls(log_dir=log_dir, parts=names, offsets=offsets)

    @property
    def width(self) -> int:
        """Column width of the part names."""
        return max((len(name) for name in self.parts), default=8)

    def poll(self, tz: tzinfo | None = None) -> list[str]:
        """Formatted lines of every complete new log line, part by part."""
        out: list[str] = []
        for name in self.parts:
            path = self.log_dir / f"{name}.log"
            size = _size(path)
            offset = self.offsets.get(name, 0)
            if size < offset:  # truncated or replaced: start again
                offset, self._partial[name] = 0, ""
            if size == offset:
                continue
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read(size - offset)
            self.offsets[name] = offset + len(chunk)
            text = self._partial.get(name, "") + chunk.decode(errors="replace")
            *complete, self._partial[name] = text.split("\n")
            for line in complete:
                out += self._format(name, line.rstrip("\r"), tz)
        return out

    def _format(self, name: str, line: str, tz: tzinfo | None) -> list[str]:
        header = self._java_header.pop(name, None)
        if header is not None:
            try:
                merged = format_java_record(name, header, line, width=self.width)
            except ValueError:
                return [
                    format_line(name, header, width=self.width, tz=tz),
                    *self._format(name, line, tz),
                ]
            return [merged] if merged is not None else []
        if _JAVA_HEADER.match(line):
            self._java_header[name] = line
            return []
        return [format_line(name, line, width=self.width, tz=tz)] if line else []


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def follow(
    follower: LogFollower,
    *,
    run_dir: Path | None = None,
    stop: threading.Event | None = None,
    out: TextIO | None = None,
    interval: float = 0.2,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Print new log lines until ``stop`` is set (or KeyboardInterrupt).

    With ``run_dir``, also say once when a part is no longer running.
    """
    stream = out or sys.stdout
    stopping = stop or threading.Event()
    reported: set[str] = set()
    last_check = clock()
    while not stopping.is_set():
        for line in follower.poll():
            print(line, file=stream, flush=True)
        if run_dir is not None and clock() - last_check > 2.0:
            last_check = clock()
            alive = running(run_dir)
            for name in follower.parts:
                if name not in alive and name not in reported and (run_dir / "pids").is_dir():
                    reported.add(name)
                    print(
                        f"{' ' * _TIME_WIDTH}  {'devstack':<{follower.width}}  WARNING  "
                        f"{name} is not running; see {run_dir / 'logs' / (name + '.log')}",
                        file=stream,
                        flush=True,
                    )
        stopping.wait(interval)
    for line in follower.poll():
        print(line, file=stream, flush=True)
