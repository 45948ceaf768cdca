"""Who may be enrolled: e-mail syntax, and the domain allow-list (``CONFSYNC_ALLOWED_DOMAINS``).

A calendar is enrolled only for a user of an allowed domain, whoever asks: the add-on through
intake's ``/v1/enroll``, an operator through ``confsync enroll``, or anyone who can publish to
``channel-commands`` (the channels function checks every ``enroll`` command again). The list is
required: a deployment that serves any domain (a marketplace add-on) says ``*`` explicitly.

Pure: no I/O. :func:`parse_allowed_domains` is the variable's parser; its :class:`ValueError`
names what is wrong, and :mod:`confsync.config` adds the variable's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ANY_DOMAIN",
    "DomainAllowList",
    "domain_of",
    "email_problem",
    "parse_allowed_domains",
]

ANY_DOMAIN = "*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")  # at least two labels: no bare host names
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
MAX_EMAIL = 254  # RFC 5321's limit on a path, which Google's accounts respect


def domain_of(email: str) -> str:
    """The domain of ``email``, lower case (the text after the last ``@``)."""
    return email.rpartition("@")[2].lower()


def email_problem(email: str) -> str | None:
    """Why ``email`` is not the address of a Google account, or None when its syntax is fine.

    Only the plain ``local@domain`` form is accepted: no display names, comments, quoted local
    parts or IP-literal domains, none of which a Google account has."""
    if len(email) > MAX_EMAIL:
        return f"an e-mail address has at most {MAX_EMAIL} characters"
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return "not an e-mail address (local@domain)"
    if not _LOCAL_PART.fullmatch(local) or local.startswith(".") or local.endswith("."):
        return "the part before @ is not a plain e-mail local part"
    if ".." in local:
        return "the part before @ has two dots in a row"
    if len(domain) > 253 or not _DOMAIN.fullmatch(domain.lower()):
        return "the part after @ is not a domain name"
    return None


@dataclass(frozen=True, slots=True)
class DomainAllowList:
    """The domains whose users may be enrolled; ``any_domain`` when the list is ``*``."""

    domains: frozenset[str]
    any_domain: bool = False

    def allows(self, email: str) -> bool:
        """Whether a user with this (syntactically valid) e-mail address may be enrolled."""
        return self.any_domain or domain_of(email) in self.domains

    def refusal(self, email: str) -> str | None:
        """Why ``email`` may not be enrolled (syntax, then domain), or None when it may."""
        problem = email_problem(email)
        if problem is not None:
            return problem
        if not self.allows(email):
            return f"domain {domain_of(email)} is not in CONFSYNC_ALLOWED_DOMAINS"
        return None

    def __str__(self) -> str:
        return ANY_DOMAIN if self.any_domain else ",".join(sorted(self.domains))


def parse_allowed_domains(text: str) -> DomainAllowList:
    """``*``, or comma-separated domain names (lower-cased, a trailing dot dropped)."""
    parts = [part.strip().lower().rstrip(".") for part in text.split(",")]
    parts = [part for part in parts if part]
    if not parts:
        raise ValueError("must name at least one domain, or * for any")
    if ANY_DOMAIN in parts:
        if len(parts) > 1:
            raise ValueError("* (any domain) cannot be combined with domain names")
        return DomainAllowList(frozenset(), any_domain=True)
    bad = [part for part in parts if len(part) > 253 or not _DOMAIN.fullmatch(part)]
    if bad:
        shown = ", ".join(repr(part[:80]) for part in bad[:3])
        raise ValueError(f"not a domain name: {shown} (e.g. example.com, or * for any)")
    return DomainAllowList(frozenset(parts))
