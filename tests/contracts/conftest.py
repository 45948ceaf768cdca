"""Fixtures of the contract tier: the in-process Calendar and conferencing emulators.

The servers are the integration tier's own session fixtures, imported rather than rewritten, so
both tiers start the emulators the same way (in-process, on free ports).
"""

from __future__ import annotations

from tests.integration.conftest import calendar_server_fixture, conferencing_server_fixture

__all__ = ["calendar_server_fixture", "conferencing_server_fixture"]
