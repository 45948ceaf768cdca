"""Fixtures of the integration tier: confsync's own emulators next to the gcloud ones.

They live in ``tests.support.sync_stack`` (the function tier uses them too); importing them here
registers them for this tier.
"""

from __future__ import annotations

from tests.support.sync_stack import (
    calendar_server_fixture,
    conferencing_server_fixture,
    sync_stack_fixture,
)

__all__ = ["calendar_server_fixture", "conferencing_server_fixture", "sync_stack_fixture"]
