"""Check the machine prerequisites of the local emulators; one clear line per missing piece.

Runs with any Python 3.11+ and the standard library only, before the project's virtual environment
exists: ``PYTHONPATH=emulators python3 -m devstack.prereqs``.
"""

from __future__ import annotations

import sys

from devstack.sdk import MissingPrerequisiteError, find_jars, java_major_version

__all__ = ["main", "problems"]

MIN_PYTHON = (3, 11)
MIN_JAVA = 11


def problems() -> list[str]:
    """Every missing prerequisite, each as one line saying how to get it."""
    found: list[str] = []
    if sys.version_info < MIN_PYTHON:
        found.append(
            f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ required, found "
            f"{sys.version_info.major}.{sys.version_info.minor}: set PYTHON=/path/to/python3.11"
        )
    try:
        java = java_major_version()
        if java < MIN_JAVA:
            found.append(f"Java {MIN_JAVA}+ required, found Java {java}: install a newer JRE")
    except MissingPrerequisiteError as err:
        found.append(str(err))
    try:
        find_jars()
    except MissingPrerequisiteError as err:
        found.extend(str(err).splitlines())
    return found


def main() -> int:
    """Print the problems to stderr; exit status 1 when there is any."""
    missing = problems()
    for line in missing:
        print(f"missing prerequisite: {line}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
