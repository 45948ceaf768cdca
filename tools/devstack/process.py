"""Background processes with PID files: start, wait until ready, stop exactly what was started.

Each process runs in its own session (process group) with its output in
``<run_dir>/logs/NAME.log`` and a PID file ``<run_dir>/pids/NAME.pid`` holding the PID and a marker
string from its command line. ``stop`` signals a PID only while ``/proc/PID/cmdline`` still contains
that marker, so a PID reused by an unrelated process after a crash is never killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PORT_TAKEN",
    "ManagedProcess",
    "NotReadyError",
    "is_answering",
    "restart",
    "running",
    "serving",
    "stop_all",
    "wait_until_ready",
]


PORT_TAKEN = b"Address already in use"
"""What Java's BindException and Python's OSError (errno 98) both say when a port is taken."""


class NotReadyError(RuntimeError):
    """A started process did not become ready in time (or exited); the message names its log."""


@dataclass(frozen=True)
class ManagedProcess:
    """A process started in the background and recorded under a run directory."""

    name: str
    pid: int
    marker: str
    log_path: Path
    log_offset: int = 0
    """Where this run of the process began writing its log (the log is appended to)."""

    @classmethod
    def start(
        cls,
        name: str,
        argv: Sequence[str],
        run_dir: Path,
        *,
        marker: str,
        env: Mapping[str, str] | None = None,
    ) -> ManagedProcess:
        """Start ``argv`` in the background and record it as ``name``."""
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        (run_dir / "pids").mkdir(parents=True, exist_ok=True)
        log_path = run_dir / "logs" / f"{name}.log"
        with log_path.open("ab") as log:
            offset = log.tell()
            child = subprocess.Popen(  # noqa: S603 - argv built by us, no shell
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=dict(env) if env is not None else None,
            )
        process = cls(name=name, pid=child.pid, marker=marker, log_path=log_path, log_offset=offset)
        _pid_path(run_dir, name).write_text(json.dumps({"pid": child.pid, "marker": marker}))
        _await_exec(child, marker)
        return process

    def alive(self) -> bool:
        """True while the recorded PID is still the process we started."""
        return _matches(self.pid, self.marker)

    def port_taken(self) -> bool:
        """Whether this run of the process wrote that its address was already in use: a port
        chosen free was taken before the process bound it. The Java emulators go on running
        after that (their main thread died, not their event loops), so only the log tells."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                return PORT_TAKEN in log.read()
        except OSError:
            return False


def _await_exec(child: subprocess.Popen[bytes], marker: str, timeout: float = 5.0) -> None:
    """Wait until the child's command line shows ``marker``.

    ``Popen`` returns when the kernel closes the child's close-on-exec pipe, which happens during
    ``exec`` but before the new program's arguments are in place: for a moment
    ``/proc/PID/cmdline`` is empty and the process would not be recognised as ours.
    """
    deadline = time.monotonic() + timeout
    while not _matches(child.pid, marker) and child.poll() is None:
        if time.monotonic() > deadline:
            return
        time.sleep(0.001)


def _pid_path(run_dir: Path, name: str) -> Path:
    return run_dir / "pids" / f"{name}.pid"


def _matches(pid: int, marker: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return marker.encode() in cmdline


def is_answering(url: str, timeout: float = 1.0) -> bool:
    """True when an HTTP GET of ``url`` gets any HTTP answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 - local http only
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def wait_until_ready(
    process: ManagedProcess, url: str, timeout: float = 60.0, interval: float = 0.1
) -> None:
    """Poll ``url`` every ``interval`` s until it answers; raise NotReadyError if the process dies
    or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_answering(url):
            return
        if not process.alive():
            raise NotReadyError(f"{process.name} exited during start-up; see {process.log_path}")
        if process.port_taken():
            raise NotReadyError(
                f"{process.name} could not bind its port: address already in use; "
                f"see {process.log_path}"
            )
        time.sleep(interval)
    raise NotReadyError(f"{process.name} not ready after {timeout:.0f} s; see {process.log_path}")


@contextmanager
def serving(
    name: str,
    argv: Sequence[str],
    run_dir: Path,
    *,
    marker: str,
    ready_url: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    interval: float = 0.1,
) -> Iterator[ManagedProcess]:
    """Start ``argv`` as ``name``, wait until ``ready_url`` answers, and stop it on the way out.

    The process is stopped (:func:`stop_all`) whatever happens, also when it never got ready.
    """
    process = ManagedProcess.start(name, argv, run_dir, marker=marker, env=env)
    try:
        wait_until_ready(process, ready_url, timeout=timeout, interval=interval)
        yield process
    finally:
        stop_all(run_dir, names=[name])


def running(run_dir: Path) -> dict[str, ManagedProcess]:
    """The recorded processes under ``run_dir`` that are still alive, by name."""
    alive: dict[str, ManagedProcess] = {}
    for pid_file in sorted((run_dir / "pids").glob("*.pid")):
        record = json.loads(pid_file.read_text())
        process = ManagedProcess(
            name=pid_file.stem,
            pid=int(record["pid"]),
            marker=str(record["marker"]),
            log_path=run_dir / "logs" / f"{pid_file.stem}.log",
        )
        if process.alive():
            alive[process.name] = process
    return alive


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def stop_all(run_dir: Path, names: Sequence[str] | None = None, grace: float = 10.0) -> list[str]:
    """Stop the recorded processes (all, or those named), return the names that were running.

    SIGTERM first, SIGKILL after ``grace`` seconds. PID files are removed either way.
    """
    stopped: list[str] = []
    pid_dir = run_dir / "pids"
    for pid_file in sorted(pid_dir.glob("*.pid")):
        if names is not None and pid_file.stem not in names:
            continue
        record = json.loads(pid_file.read_text())
        pid, marker = int(record["pid"]), str(record["marker"])
        if _matches(pid, marker):
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while _matches(pid, marker) and time.monotonic() < deadline:
                _reap(pid)
                time.sleep(0.05)
            if _matches(pid, marker):
                _signal_group(pid, signal.SIGKILL)
            stopped.append(pid_file.stem)
        pid_file.unlink(missing_ok=True)
    return stopped


def restart(run_dir: Path, name: str) -> ManagedProcess:
    """SIGKILL the recorded process ``name`` (its whole group) and start it again, unchanged.

    A crash, as the chaos suite needs it: no SIGTERM, no grace, nothing flushed. The new process
    gets the command line and the environment the old one was started with (read from ``/proc``
    before the kill), its marker and its log file (appended to). The caller waits for readiness.
    """
    record = json.loads(_pid_path(run_dir, name).read_text())
    pid, marker = int(record["pid"]), str(record["marker"])
    if not _matches(pid, marker):
        raise NotReadyError(f"{name} is not running (PID {pid}); nothing to restart")
    argv = [part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]]
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    env = dict(pair.decode().split("=", 1) for pair in pairs if b"=" in pair)
    _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10.0
    while _matches(pid, marker) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.01)
    return ManagedProcess.start(name, argv, run_dir, marker=marker, env=env)


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our own child (tests start them in-process)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
