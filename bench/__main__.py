"""``python -m bench``: run every benchmark, print a table, write .run/bench/results.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench import calendar_emulator, channels, intake, latency, sync

OUTPUT = Path(".run/bench/results.json")


def _table(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        lines.append(row["name"])
        lines.extend(f"    {key:<28} {value}" for key, value in row.items() if key != "name")
    return "\n".join(lines)


def main() -> int:
    rows = calendar_emulator.run() + sync.run() + latency.run() + intake.run() + channels.run()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(rows, indent=2) + "\n")
    print(_table(rows))
    print(f"\nwritten to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
