"""An in-process cache of the certificates that sign Google ID tokens, so verifying a token
costs no outbound request, and a flood of forged tokens causes none either.

:class:`CertsCache` holds the last certificate set fetched (``{key id: X.509 PEM}``, as Google's
``/oauth2/v1/certs`` serves it) and asks an injected fetcher for a new one only when:

======================================================  ============================================
situation                                               what happens
======================================================  ============================================
nothing fetched yet, or the set has expired             fetch (under a lock: one fetch however many
                                                        requests wait); a failure answers
                                                        :class:`~confsync.id_tokens.CertsUnavailableError`
                                                        and the next attempt waits
                                                        :data:`FAILURE_RETRY_S`
key id in the fresh set                                 no fetch
key id not in the fresh set, last fetch at least        fetch once (Google may have rotated keys);
:data:`UNKNOWN_KEY_REFETCH_S` ago                       still unknown: ``InvalidIdTokenError``
key id not in the fresh set, last fetch more recent     no fetch: ``InvalidIdTokenError`` (forged
                                                        key ids cost nothing)
======================================================  ============================================

A set stays fresh for the response's ``Cache-Control: max-age`` (Google sends several hours),
kept within :data:`MIN_MAX_AGE_S` and :data:`MAX_MAX_AGE_S`; without a max-age (or with
``no-store``/``no-cache``) for :data:`MIN_MAX_AGE_S`. Pure apart from the injected fetcher and
monotonic clock; thread-safe.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from confsync.id_tokens import CertsUnavailableError, InvalidIdTokenError

__all__ = [
    "FAILURE_RETRY_S",
    "MAX_MAX_AGE_S",
    "MIN_MAX_AGE_S",
    "UNKNOWN_KEY_REFETCH_S",
    "CertsCache",
    "CertsFetcher",
    "FetchedCerts",
    "max_age_of",
]

MIN_MAX_AGE_S = 300.0
MAX_MAX_AGE_S = 6 * 3600.0
UNKNOWN_KEY_REFETCH_S = 60.0
"""Least time between two fetches caused by tokens naming a key id the cache does not hold."""
FAILURE_RETRY_S = 10.0
"""Least time between a failed fetch and the next attempt (every token meanwhile answers 503)."""

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?([0-9]{1,10})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FetchedCerts:
    """One fetched certificate set and the ``max-age`` it was served with (None: none given)."""

    certs: Mapping[str, str]
    max_age_s: float | None


CertsFetcher = Callable[[], FetchedCerts]
"""Fetches the current certificate set; raises CertsUnavailableError on any failure."""


def max_age_of(cache_control: str | None) -> float | None:
    """The ``max-age`` of a ``Cache-Control`` header in seconds; None when there is none or the
    header forbids caching."""
    if not cache_control or _NO_CACHE.search(cache_control):
        return None
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


def _freshness(max_age_s: float | None) -> float:
    if max_age_s is None:
        return MIN_MAX_AGE_S
    return min(max(max_age_s, MIN_MAX_AGE_S), MAX_MAX_AGE_S)


class CertsCache:
    """The certificates of Google's ID tokens, fetched as the table in the module says."""

    def __init__(self, fetch: CertsFetcher, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._certs: Mapping[str, str] = {}
        self._fresh_until = float("-inf")
        self._last_attempt: float | None = None
        self._last_failed = False

    def certificate(self, key_id: str) -> str:
        """The PEM certificate of ``key_id``; InvalidIdTokenError when Google does not publish it,
        CertsUnavailableError when the certificates cannot be fetched."""
        with self._lock:
            now = self._clock()
            fresh = now < self._fresh_until
            if fresh and key_id in self._certs:
                return self._certs[key_id]
            since = None if self._last_attempt is None else now - self._last_attempt
            if fresh:
                if since is not None and since < UNKNOWN_KEY_REFETCH_S:
                    raise InvalidIdTokenError(
                        "the token's key id is not among Google's certificates"
                    )
            elif self._last_failed and since is not None and since < FAILURE_RETRY_S:
                raise CertsUnavailableError(
                    "Google's certificates could not be fetched; retry later"
                )
            self._refresh(now)
            if key_id not in self._certs:
                raise InvalidIdTokenError("the token's key id is not among Google's certificates")
            return self._certs[key_id]

    def _refresh(self, now: float) -> None:
        self._last_attempt = now
        try:
            fetched = self._fetch()
        except CertsUnavailableError:
            self._last_failed = True
            raise
        self._last_failed = False
        self._certs = dict(fetched.certs)
        self._fresh_until = now + _freshness(fetched.max_age_s)
