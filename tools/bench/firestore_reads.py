"""Documents a Firestore client reads, counted where the client meets Firestore, as Firestore
bills them: one read per document a query or a batched get returns, one for a query that returns
none, one for each document a get asks for that does not exist.

Every read of the stores goes through a query or a batched get of
:class:`confsync.adapters.firestore_http.Client`, which reports each one's billed reads to its
``on_read`` hooks, so counting there counts every document read, whichever store method read it.
"""

from __future__ import annotations

import threading

from confsync.adapters.firestore_http import Client

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


def count_reads(client: Client) -> ReadCounter:
    """Count the documents ``client`` reads from now on; the counter."""
    counter = ReadCounter()
    client.on_read.append(counter.add)
    return counter
