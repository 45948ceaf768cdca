"""Counting Firestore round trips at the edge: every request a client sends is one
:func:`confsync.round_trips.note`.

:func:`count_round_trips` adds the note to the client's ``on_request`` hooks (the one path every
document get, batched get, query and commit goes through,
:mod:`confsync.adapters.firestore_http`), once per client, so nothing above it can send a request
uncounted. The stores call it on the client they are given.
"""

from __future__ import annotations

from confsync.adapters.firestore_http import Client
from confsync.round_trips import note

__all__ = ["count_round_trips"]


def count_round_trips(client: Client) -> Client:
    """``client``, its requests counted (idempotent: a client already counted is left as it is)."""
    if note not in client.on_request:
        client.on_request.append(note)
    return client
