"""Progress of a long command on stderr: a bar redrawn in place on a terminal, lines otherwise.

On a terminal, one line ``enroll [#####.....] 120/200  60%  19.8/s`` is redrawn (carriage
return) at most every :data:`TTY_INTERVAL_S`, and ended with a newline by :meth:`finish`. When
stderr is a file or a pipe (a CI log, ``2> log``), a plain line is written each time another
:data:`LOG_STEP_PERCENT` of the work is done or :data:`LOG_INTERVAL_S` have passed, whichever
comes first, and a last one at the end, so a log shows steady progress without a line per item.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

__all__ = ["LOG_INTERVAL_S", "LOG_STEP_PERCENT", "TTY_INTERVAL_S", "Progress"]

TTY_INTERVAL_S = 0.1
LOG_INTERVAL_S = 5.0
LOG_STEP_PERCENT = 10
_WIDTH = 30


class Progress:
    """Reports ``done`` out of ``total`` on ``stream``; ``clock`` gives seconds."""

    def __init__(
        self,
        label: str,
        total: int,
        stream: TextIO,
        *,
        tty: bool,
        clock: Callable[[], float],
    ) -> None:
        self._label = label
        self._total = total
        self._stream = stream
        self._tty = tty
        self._clock = clock
        self._started = clock()
        self._shown_at: float | None = None
        self._shown_step = -1
        self._done = 0

    def _line(self) -> str:
        elapsed = self._clock() - self._started
        rate = f"{self._done / elapsed:.1f}/s" if elapsed > 0 else "-/s"
        percent = 100 * self._done // self._total if self._total else 100
        count = f"{self._done}/{self._total}  {percent:3d}%  {rate}"
        if not self._tty:
            return f"{self._label}: {count}"
        filled = _WIDTH * self._done // self._total if self._total else _WIDTH
        return f"{self._label} [{'#' * filled}{'.' * (_WIDTH - filled)}] {count}"

    def update(self, done: int) -> None:
        """``done`` items are finished; redraw or log if it is time."""
        self._done = done
        now = self._clock()
        if self._tty:
            if self._shown_at is None or now - self._shown_at >= TTY_INTERVAL_S:
                self._stream.write("\r" + self._line())
                self._stream.flush()
                self._shown_at = now
            return
        step = (100 * done // self._total) // LOG_STEP_PERCENT if self._total else 0
        late = self._shown_at is None or now - self._shown_at >= LOG_INTERVAL_S
        if step > self._shown_step or late:
            self._stream.write(self._line() + "\n")
            self._stream.flush()
            self._shown_at = now
            self._shown_step = step

    def finish(self) -> None:
        """The final count (ends the bar's line on a terminal)."""
        if self._tty:
            self._stream.write("\r" + self._line() + "\n")
        elif self._shown_step < (100 // LOG_STEP_PERCENT) or self._total == 0:
            self._stream.write(self._line() + "\n")
        self._stream.flush()
