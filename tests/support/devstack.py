"""What the tests of the local stack share: its project id (tools/devstack and e2e)."""

from __future__ import annotations

__all__ = ["PROJECT"]

PROJECT = "confsync-devstack-e2e"
