"""The benchmarks' scale knob: ``BENCH_SCALE`` (default 1) multiplies every workload size.

``BENCH_SCALE=0.1`` runs every scenario at a tenth of its size, for quick runs while developing on
a shared machine; the published figures are always from scale 1.
"""

from __future__ import annotations

import os

__all__ = ["scale", "scaled"]


def scale() -> float:
    """The factor from ``BENCH_SCALE`` (1 when unset)."""
    value = float(os.environ.get("BENCH_SCALE", "1"))
    if not 0 < value <= 1:
        raise ValueError(f"BENCH_SCALE must be in (0, 1], not {value}")
    return value


def scaled(size: int, minimum: int = 1) -> int:
    """``size`` at the current scale, never below ``minimum``."""
    return max(minimum, round(size * scale()))
