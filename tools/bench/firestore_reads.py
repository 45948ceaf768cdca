"""Documents a Firestore client reads, counted where the client meets Firestore (its API stubs),
as Firestore bills them: one read per document a query or a batched get returns, one for a query
that returns none, one for each document a get asks for that does not exist.

Every read of the stores goes through a query (``run_query``) or a batched get
(``batch_get_documents``: ``DocumentReference.get`` and ``Client.get_all`` both use it), so
counting those two streams counts every document read, whichever store method read it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from google.cloud import firestore

__all__ = ["ReadCounter", "count_reads"]


class ReadCounter:
    """Documents read so far (thread-safe: the bench's workers share one client)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reads = 0

    def add(self, count: int) -> None:
        with self._lock:
            self.reads += count

    def reset(self) -> int:
        """The count so far, and start again from zero."""
        with self._lock:
            count, self.reads = self.reads, 0
            return count


class _CountingApi:
    """The client's API stubs, with the two read streams counted; everything else passes."""

    def __init__(self, inner: Any, counter: ReadCounter) -> None:
        self._inner = inner
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def run_query(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        documents = 0
        for response in self._inner.run_query(*args, **kwargs):
            if response._pb.HasField("document"):  # the protobuf message
                documents += 1
                self._counter.add(1)
            yield response
        if not documents:
            self._counter.add(1)

    def batch_get_documents(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for response in self._inner.batch_get_documents(*args, **kwargs):
            self._counter.add(response._pb.WhichOneof("result") is not None)
            yield response


def count_reads(client: firestore.Client) -> ReadCounter:
    """Count the documents ``client`` reads from now on; the counter."""
    counter = ReadCounter()
    # The client builds its API stubs lazily and keeps them in this attribute; replacing them
    # is the one place every read passes through (documented there, not part of the public API).
    client._firestore_api_internal = _CountingApi(client._firestore_api, counter)
    return counter
