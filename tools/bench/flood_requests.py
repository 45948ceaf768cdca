"""The forged requests of the ``flood`` scenario: what an attacker who knows intake's URL sends.

Pure: from the channels a genuine notification would reveal (their ids and tokens, as an observer
of one delivery sees them), a seed and a count, a reproducible mix of requests that intake must
refuse. None of them is genuine: a captured token is only ever sent with *another* channel's id,
or with its signature changed.

Notifications (:data:`NOTIFICATION_KINDS`), in turn:

* ``missing-token``: well-formed headers, no ``X-Goog-Channel-Token``;
* ``wrong-signature``: a captured token whose last characters are changed;
* ``other-channel``: a captured token with the id of another (real or made-up) channel;
* ``malformed-headers``: no, over-long or nonsensical ``X-Goog-*`` values, or another method
  (with a changed token, so that no malformation can make a genuine notification);
* ``garbage-body``: well-formed headers and a forged token, with random bytes as body.

Enrolment requests (:data:`ENROL_PATH`, issue #12) are POSTs of a JSON body naming a calendar,
with no, a made-up or a captured channel token as bearer credential, or with a garbage body. Until
the enrolment endpoint exists they reach intake's notification handler; pointing the scenario at
the real endpoint later is a change of :data:`ENROL_PATH` only.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ENROL_PATH",
    "NOTIFICATION_KINDS",
    "NOTIFICATION_PATH",
    "CapturedChannel",
    "ForgedRequest",
    "forged_enrolments",
    "forged_notifications",
]

#: Where Google's notifications go (intake accepts any path; the channels' address is the root).
NOTIFICATION_PATH = "/"
#: Where intake serves (or will serve) self-enrolment. The one constant to change once it exists.
ENROL_PATH = "/v1/enroll"

NOTIFICATION_KINDS = (
    "missing-token",
    "wrong-signature",
    "other-channel",
    "malformed-headers",
    "garbage-body",
)
_RESOURCE_URI = "https://www.googleapis.com/calendar/v3/calendars/c/events?alt=json"
_TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"  # a token's base64url characters


@dataclass(frozen=True)
class CapturedChannel:
    """What one genuine notification shows an observer: the channel's ids and its token."""

    channel_id: str
    resource_id: str
    token: str


@dataclass(frozen=True)
class ForgedRequest:
    """One request of the flood: its kind (for the report), method, path, headers and body."""

    kind: str
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def _headers(channel_id: str, resource_id: str, number: int) -> dict[str, str]:
    return {
        "X-Goog-Channel-ID": channel_id,
        "X-Goog-Resource-ID": resource_id,
        "X-Goog-Resource-State": "exists",
        "X-Goog-Resource-URI": _RESOURCE_URI,
        "X-Goog-Message-Number": str(number),
    }


def _changed_tail(token: str, rng: random.Random) -> str:
    """``token`` with each of its last four characters replaced by a different one."""
    tail = "".join(rng.choice(_TOKEN_ALPHABET.replace(c, "")) for c in token[-4:])
    return token[:-4] + tail


def _made_up_channel(rng: random.Random) -> str:
    return f"forged-{rng.getrandbits(64):016x}"


def _malformed(rng: random.Random, base: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A request whose headers are broken in one of several ways (or whose method is wrong)."""
    choice = rng.randrange(6)
    headers = dict(base)
    method = "POST"
    if choice == 0:
        headers = {"User-Agent": "flood"}  # no X-Goog-* header at all
    elif choice == 1:
        headers["X-Goog-Channel-ID"] = "x" * rng.randrange(65, 400)
    elif choice == 2:
        headers["X-Goog-Resource-State"] = rng.choice(["bogus", "", "EXISTS", "deleted"])
    elif choice == 3:
        headers["X-Goog-Message-Number"] = rng.choice(["-1", "0", "abc", "1e9", "9" * 40])
    elif choice == 4:
        del headers["X-Goog-Resource-ID"]
    else:
        method = rng.choice(["GET", "PUT", "DELETE", "PATCH"])
    return method, headers


def _notification(
    kind: str, rng: random.Random, captured: Sequence[CapturedChannel], number: int
) -> ForgedRequest:
    real = rng.choice(captured)
    base = _headers(real.channel_id, real.resource_id, number)
    if kind == "missing-token":
        return ForgedRequest(kind, "POST", NOTIFICATION_PATH, base)
    if kind == "wrong-signature":
        headers = {**base, "X-Goog-Channel-Token": _changed_tail(real.token, rng)}
        return ForgedRequest(kind, "POST", NOTIFICATION_PATH, headers)
    if kind == "other-channel":
        others = [c.channel_id for c in captured if c.channel_id != real.channel_id]
        target = rng.choice(others) if others and rng.random() < 0.5 else _made_up_channel(rng)
        headers = {**base, "X-Goog-Channel-ID": target, "X-Goog-Channel-Token": real.token}
        return ForgedRequest(kind, "POST", NOTIFICATION_PATH, headers)
    if kind == "malformed-headers":
        forged_token = _changed_tail(real.token, rng)
        method, headers = _malformed(rng, {**base, "X-Goog-Channel-Token": forged_token})
        return ForgedRequest(kind, method, NOTIFICATION_PATH, headers)
    body = rng.randbytes(rng.randrange(1, 2048))
    headers = {
        **base,
        "X-Goog-Channel-Token": _changed_tail(real.token, rng),
        "Content-Type": rng.choice(["application/octet-stream", "application/json", "text/plain"]),
    }
    return ForgedRequest(kind, "POST", NOTIFICATION_PATH, headers, body)


def forged_notifications(
    count: int, captured: Sequence[CapturedChannel], *, seed: int = 0
) -> list[ForgedRequest]:
    """``count`` forged notifications, the kinds in turn, reproducible from ``seed``."""
    if not captured:
        raise ValueError("forging notifications needs at least one captured channel")
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    return [
        _notification(NOTIFICATION_KINDS[n % len(NOTIFICATION_KINDS)], rng, captured, n + 2)
        for n in range(count)
    ]


def forged_enrolments(
    count: int, captured: Sequence[CapturedChannel], *, seed: int = 0, path: str = ENROL_PATH
) -> list[ForgedRequest]:
    """``count`` forged enrolment requests to ``path``, reproducible from ``seed``."""
    rng = random.Random(seed + 1)  # noqa: S311 - a reproducible workload, not a secret
    forged: list[ForgedRequest] = []
    for n in range(count):
        body = json.dumps({"calendarId": f"victim-{n % 97}@example.com"}).encode()
        headers = {"Content-Type": "application/json"}
        choice = n % 4
        if choice == 1:
            headers["Authorization"] = f"Bearer forged-{rng.getrandbits(96):024x}"
        elif choice == 2 and captured:
            headers["Authorization"] = f"Bearer {rng.choice(captured).token}"
        elif choice == 3:
            body = rng.randbytes(rng.randrange(1, 1024))
        forged.append(ForgedRequest("enrolment", "POST", path, headers, body))
    return forged
