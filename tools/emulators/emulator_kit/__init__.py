"""Shared plumbing of the local stand-ins: serving a WSGI app on a background thread
(:mod:`emulator_kit.serving`) and the command-line runner around it (:mod:`emulator_kit.cli`).

Each emulator keeps its own application and public server class; this package holds only what
would otherwise be copied between them, so a fix to starting or stopping lands in all three.
"""

from __future__ import annotations

__all__: list[str] = []
