"""``confsync re-encrypt-grants``: seal every stored OAuth grant again with the active key.

After a rotation of ``CONFSYNC_OAUTH_TOKEN_KEY`` (docs/runbooks/rotate-oauth-token-key.md) the
first key seals and the older ones are only read. This command reads every grant in
``oauth_grants``; one sealed with an older key is opened and sealed again with the first key, and
written back **only if the document is unchanged since it was read** (a ``confsync grant`` that
replaced it meanwhile wins). Each grant is its own write, so an interrupted run leaves every grant
either as it was (still readable with the older key) or sealed with the new one: nothing is lost,
and running the command again finishes the job. A grant already sealed with the active key is
left alone, so a second run changes nothing.

Every grant is opened, so ``current`` means it opens with the active key. It reports counts:
``resealed``, ``current``, ``changed`` (written by someone else meanwhile: run again) and
``unreadable`` (no configured key opens it, it was altered, or the document is not a grant; their
ids are listed). Exit code 0 when every grant is on the active key, 1 when
some are not (``changed`` or ``unreadable``: do not drop an older key yet), 2 bad configuration.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TextIO

from confsync.config import CliConfig
from confsync.errors import ConfigurationError
from confsync.grant_crypto import (
    GrantCryptoError,
    GrantKeys,
    StoredGrant,
    needs_resealing,
    open_grant,
    seal_grant,
)

__all__ = ["HELP", "GrantRewriter", "ReencryptReport", "reencrypt_grants", "run_reencrypt"]

HELP = (
    "seal every stored OAuth grant again with the first CONFSYNC_OAUTH_TOKEN_KEY key "
    "(after a key rotation; safe to rerun)"
)


class GrantRewriter(Protocol):
    """Where grants are (:class:`~confsync.adapters.oauth_grants.FirestoreGrantStore`)."""

    def scan(self) -> Iterable[StoredGrant]: ...

    def replace(self, grant: StoredGrant, sealed: bytes, *, now: datetime) -> bool: ...


@dataclass(slots=True)
class ReencryptReport:
    """What one run did, by grant."""

    resealed: int = 0
    current: int = 0
    changed: int = 0
    unreadable: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Whether every grant is now sealed with the active key."""
        return not self.changed and not self.unreadable

    def as_json(self) -> dict[str, object]:
        return {
            "resealed": self.resealed,
            "current": self.current,
            "changed": self.changed,
            "unreadable": len(self.unreadable),
            "unreadableDocuments": self.unreadable,
            "done": self.done,
        }

    def as_text(self) -> str:
        text = (
            f"{self.resealed} grants sealed again with the active key, {self.current} already "
            f"were, {self.changed} changed meanwhile, {len(self.unreadable)} unreadable"
        )
        if self.unreadable:
            text += " (" + ", ".join(self.unreadable) + ")"
        if not self.done:
            text += "; keep the older keys and run again"
        return text


def reencrypt_grants(
    store: GrantRewriter, keys: GrantKeys, *, clock: Callable[[], datetime]
) -> ReencryptReport:
    """Open every grant of ``store`` and seal those not on ``keys.sealing`` again with it, one
    conditional write each; never writes a grant it could not open."""
    report = ReencryptReport()
    for grant in store.scan():
        try:  # every grant is opened, so "current" means it opens with the sealing key
            token = open_grant(grant.sealed, grant.subject, keys.opening)
        except GrantCryptoError:
            report.unreadable.append(grant.document)
            continue
        if not needs_resealing(grant.sealed, keys):
            report.current += 1
            continue
        resealed = seal_grant(token, grant.subject, keys.sealing)
        if store.replace(grant, resealed, now=clock()):
            report.resealed += 1
        else:
            report.changed += 1
    return report


StoreFactory = Callable[[CliConfig], GrantRewriter]


def _firestore_store(config: CliConfig) -> GrantRewriter:
    from confsync.adapters.oauth_grants import FirestoreGrantStore  # noqa: PLC0415
    from confsync.bootstrap import build_cli_firestore_client  # noqa: PLC0415

    store: GrantRewriter = FirestoreGrantStore(build_cli_firestore_client(config))
    return store


def run_reencrypt(
    config: CliConfig,
    *,
    as_json: bool,
    out: TextIO,
    store: StoreFactory = _firestore_store,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Run the command with loaded ``config``; answers the exit code (ConfigurationError when
    no key is configured, before Firestore is touched)."""
    if not config.oauth_token_keys:
        raise ConfigurationError("CONFSYNC_OAUTH_TOKEN_KEY is required to re-encrypt grants")
    keys = GrantKeys.of(config.oauth_token_keys)
    report = reencrypt_grants(store(config), keys, clock=clock)
    print(json.dumps(report.as_json()) if as_json else report.as_text(), file=out)
    return 0 if report.done else 1
