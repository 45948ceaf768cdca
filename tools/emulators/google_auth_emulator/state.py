"""The stand-in's in-memory world: service accounts and their keys, who may sign as whom, what
the Workspace administrator authorized, OAuth clients and refresh tokens, issued access tokens,
fault rules and the call log. One lock guards it all; handlers hold it for a whole request."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ServiceError
from .jwts import SigningKey

__all__ = [
    "DEFAULT_TOKEN_LIFETIME_S",
    "Fault",
    "IssuedToken",
    "RefreshGrant",
    "ServiceAccount",
    "State",
    "user_id_of",
]

DEFAULT_TOKEN_LIFETIME_S = 3599
"""Google answers ``expires_in: 3599`` for a fresh access token."""


@dataclass
class ServiceAccount:
    """A service account: e-mail, numeric OAuth client id, one RSA key (made on first use)."""

    email: str
    client_id: str
    _key: SigningKey | None = None

    @property
    def key(self) -> SigningKey:
        if self._key is None:
            key_id = hashlib.sha1(f"{self.email}/{secrets.token_hex(8)}".encode()).hexdigest()  # noqa: S324 - an id, not security
            self._key = SigningKey.generate(key_id)
        return self._key


@dataclass
class RefreshGrant:
    """A refresh token that a user gave an OAuth client."""

    token: str
    client_id: str
    subject: str
    scopes: frozenset[str]
    revoked: bool = False
    email_verified: bool = True


@dataclass
class IssuedToken:
    """An access token the stand-in issued, and what it stands for."""

    token: str
    principal: str
    grant: str
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float
    service_account: str | None = None
    client_id: str | None = None
    revoked: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "accessToken": self.token,
            "principal": self.principal,
            "grant": self.grant,
            "scopes": list(self.scopes),
            "issuedAt": self.issued_at,
            "expiresAt": self.expires_at,
            "serviceAccount": self.service_account,
            "clientId": self.client_id,
            "revoked": self.revoked,
        }


FAULT_ENDPOINTS = ("token", "signJwt")


@dataclass
class Fault:
    """Answer the next ``times`` calls of ``endpoint`` with ``status`` (and OAuth ``error``)."""

    endpoint: str
    status: int
    error: str | None = None
    times: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "status": self.status,
            "error": self.error,
            "times": self.times,
        }


def _client_id_of(email: str) -> str:
    """A stable 21-digit numeric client id, shaped like Google's."""
    return str(int(hashlib.sha256(email.encode()).hexdigest(), 16))[:21]


def user_id_of(email: str) -> str:
    """A user's stable 21-digit numeric id (the ID token's ``sub``), shaped like Google's."""
    return _client_id_of(f"user/{email.lower()}")


@dataclass
class State:
    """Everything the stand-in knows. Mutate only while holding :attr:`lock`."""

    clock: Callable[[], float] = time.time
    lock: threading.RLock = field(default_factory=threading.RLock)
    service_accounts: dict[str, ServiceAccount] = field(default_factory=dict)
    token_creators: set[tuple[str, str]] = field(default_factory=set)
    delegations: dict[str, set[str]] = field(default_factory=dict)
    users: dict[str, bool] = field(default_factory=dict)
    clients: dict[str, str] = field(default_factory=dict)
    refresh_grants: dict[str, RefreshGrant] = field(default_factory=dict)
    access_tokens: dict[str, IssuedToken] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    token_lifetime_s: int = DEFAULT_TOKEN_LIFETIME_S
    calls: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    _id_token_key: SigningKey | None = None

    @property
    def id_token_key(self) -> SigningKey:
        """The key ID tokens are signed with ("Google's"), made on first use."""
        if self._id_token_key is None:
            self._id_token_key = SigningKey.generate(secrets.token_hex(20))
        return self._id_token_key

    def reset(self) -> None:
        with self.lock:
            self._id_token_key = None
            self.service_accounts.clear()
            self.token_creators.clear()
            self.delegations.clear()
            self.users.clear()
            self.clients.clear()
            self.refresh_grants.clear()
            self.access_tokens.clear()
            self.faults.clear()
            self.token_lifetime_s = DEFAULT_TOKEN_LIFETIME_S
            self.calls.clear()
            self.counts.clear()

    # --- lookups and mutations ----------------------------------------------------------------

    def account(self, email: str) -> ServiceAccount:
        """The service account ``email``, created on first mention."""
        found = self.service_accounts.get(email)
        if found is None:
            found = ServiceAccount(email, _client_id_of(email))
            self.service_accounts[email] = found
        return found

    def issue(
        self,
        principal: str,
        grant: str,
        scopes: tuple[str, ...],
        *,
        service_account: str | None = None,
        client_id: str | None = None,
    ) -> IssuedToken:
        now = self.clock()
        issued = IssuedToken(
            token=f"ya29.emu-{secrets.token_urlsafe(24)}",
            principal=principal,
            grant=grant,
            scopes=scopes,
            issued_at=now,
            expires_at=now + self.token_lifetime_s,
            service_account=service_account,
            client_id=client_id,
        )
        self.access_tokens[issued.token] = issued
        return issued

    def live_token(self, token: str) -> IssuedToken | None:
        """The issued token ``token`` if it is neither expired nor revoked."""
        found = self.access_tokens.get(token)
        if found is None or found.revoked or found.expires_at <= self.clock():
            return None
        return found

    def take_fault(self, endpoint: str) -> Fault | None:
        """Consume one matching fault rule, if any."""
        for fault in self.faults:
            if fault.endpoint == endpoint and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def revoke_subject(self, subject: str) -> None:
        """The user is suspended: delegated grants for them fail, their tokens stop working."""
        self.users[subject] = False
        for issued in self.access_tokens.values():
            if issued.principal == subject:
                issued.revoked = True

    def revoke_refresh_token(self, token: str) -> None:
        grant = self.refresh_grants.get(token)
        if grant is None:
            raise ServiceError.admin(404, f"no such refresh token {token[:8]}...")
        grant.revoked = True
        for issued in self.access_tokens.values():
            if issued.client_id == grant.client_id and issued.principal == grant.subject:
                issued.revoked = True

    def record(self, endpoint: str, status: int, **details: Any) -> None:
        """Append one call to the log and count it (by endpoint, and by endpoint and grant)."""
        entry = {"endpoint": endpoint, "status": status, "at": self.clock(), **details}
        self.calls.append(entry)
        self.counts[endpoint] += 1
        grant = details.get("grant")
        if grant:
            self.counts[f"{endpoint}:{grant}"] += 1
        if status >= 400:
            self.counts[f"{endpoint}:errors"] += 1
