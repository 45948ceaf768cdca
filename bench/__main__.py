"""``python -m bench``: run every benchmark, print a table, write .run/bench/results.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench import calendar_emulator

OUTPUT = Path(".run/bench/results.json")


def _table(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        figures = ", ".join(f"{k}={v}" for k, v in row.items() if k != "name")
        lines.append(f"{row['name']:<40} {figures}")
    return "\n".join(lines)


def main() -> int:
    rows = calendar_emulator.run()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(rows, indent=2) + "\n")
    print(_table(rows))
    print(f"\nwritten to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
