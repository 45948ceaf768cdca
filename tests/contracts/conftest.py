"""Fixtures of the contract tier: the in-process Calendar and conferencing emulators.

The servers are the shared session fixtures of ``tests.support.sync_stack`` (the integration and
function tiers use them too), imported rather than rewritten; importing them here registers them
for this tier.
"""

from __future__ import annotations

from tests.support.sync_stack import calendar_server_fixture, conferencing_server_fixture

__all__ = ["calendar_server_fixture", "conferencing_server_fixture"]
