"""Counting Firestore round trips at the edge: every RPC a client sends is one
:func:`confsync.round_trips.note`.

:func:`count_round_trips` wraps the RPC methods of the client's generated API object (the layer
every document get, batched get, query, commit and transaction goes through), once per client, so
nothing above it can send a request uncounted. The stores call it on the client they are given.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from google.cloud import firestore

from confsync.round_trips import note

__all__ = ["RPC_METHODS", "count_round_trips"]

RPC_METHODS = (
    "get_document",
    "list_documents",
    "update_document",
    "delete_document",
    "create_document",
    "batch_get_documents",
    "begin_transaction",
    "commit",
    "rollback",
    "run_query",
    "run_aggregation_query",
    "partition_query",
    "list_collection_ids",
    "batch_write",
    "write",
    "listen",
)
"""The Firestore API's RPCs: each call of one is one round trip."""

_MARK = "_confsync_counted"


def _counted(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        note()
        return method(*args, **kwargs)

    return call


def count_round_trips(client: firestore.Client) -> firestore.Client:
    """``client``, its RPCs counted (idempotent: a client already counted is left as it is)."""
    api = client._firestore_api  # the generated client every request goes through
    if getattr(api, _MARK, False):
        return client
    for name in RPC_METHODS:
        method = getattr(api, name, None)
        if callable(method):
            setattr(api, name, _counted(method))
    setattr(api, _MARK, True)
    return client
