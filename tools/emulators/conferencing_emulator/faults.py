"""Fault injection: rules that answer an API request with an error and/or a delay.

A rule is checked after authentication and BEFORE the request is applied. The first live rule
whose scope (``method``, ``conferenceId``) matches, and whose ``probability`` roll hits, fires:
it waits ``delayMs`` and then answers ``status`` (with ``Retry-After`` when ``retryAfter`` is
set) or, without a status, lets the request proceed after the delay. A rule with ``count``
retires after firing that many times.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any, Final

from .errors import ApiError, ValidationError

__all__ = ["FAULT_CODES", "FaultBook", "FaultHit", "FaultRule", "fault_error", "parse_rules"]

METHODS: Final = ("GET", "POST", "PUT", "DELETE")
RULE_FIELDS: Final = (
    "method",
    "conferenceId",
    "status",
    "retryAfter",
    "count",
    "probability",
    "delayMs",
)
#: The error code a fault answers with, by status (``injected_fault`` otherwise).
FAULT_CODES: Final = {
    429: "rate_limited",
    500: "internal",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


@dataclass
class FaultRule:
    method: str | None
    conference_id: str | None
    status: int | None
    retry_after: int | None
    count: int | None
    probability: float
    delay_ms: int
    fired: int = 0

    def live(self) -> bool:
        return self.count is None or self.fired < self.count

    def matches(self, method: str, conference_id: str | None) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.conference_id is None or self.conference_id == conference_id

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "conferenceId": self.conference_id,
            "status": self.status,
            "retryAfter": self.retry_after,
            "count": self.count,
            "probability": self.probability,
            "delayMs": self.delay_ms,
            "fired": self.fired,
        }


@dataclass(frozen=True)
class FaultHit:
    """What a fired rule does to the request."""

    status: int | None
    retry_after: int | None
    delay_ms: int


def fault_error(hit: FaultHit) -> ApiError:
    """The error answer of a hit that carries a status."""
    assert hit.status is not None
    headers = {} if hit.retry_after is None else {"Retry-After": str(hit.retry_after)}
    return ApiError(
        hit.status,
        FAULT_CODES.get(hit.status, "injected_fault"),
        f"injected fault: HTTP {hit.status}",
        headers=headers,
        outcome="fault",
    )


def _int(where: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(where, "must be an integer")
    if value < minimum or (maximum is not None and value > maximum):
        top = "" if maximum is None else f" and <= {maximum}"
        raise ValidationError(where, f"must be >= {minimum}{top}, got {value}")
    return value


def _rule(where: str, raw: Any) -> FaultRule:
    if not isinstance(raw, dict):
        raise ValidationError(where, "must be an object")
    for name in raw:
        if name not in RULE_FIELDS:
            raise ValidationError(f"{where}.{name}", "unknown field")
    method = raw.get("method")
    if method is not None and method not in METHODS:
        raise ValidationError(f"{where}.method", f"must be one of {', '.join(METHODS)}")
    conference_id = raw.get("conferenceId")
    if conference_id is not None and not isinstance(conference_id, str):
        raise ValidationError(f"{where}.conferenceId", "must be a string")
    status = raw.get("status")
    if status is not None:
        status = _int(f"{where}.status", status, 400, 599)
    retry_after = raw.get("retryAfter")
    if retry_after is not None:
        retry_after = _int(f"{where}.retryAfter", retry_after, 0)
    count = raw.get("count")
    if count is not None:
        count = _int(f"{where}.count", count, 1)
    probability = raw.get("probability", 1)
    if isinstance(probability, bool) or not isinstance(probability, int | float):
        raise ValidationError(f"{where}.probability", "must be a number")
    if not 0 <= probability <= 1:
        raise ValidationError(f"{where}.probability", "must be between 0 and 1")
    delay_ms = _int(f"{where}.delayMs", raw.get("delayMs", 0), 0, 600_000)
    if status is None and delay_ms == 0:
        raise ValidationError(where, "needs a status, a delayMs or both")
    return FaultRule(
        method=method,
        conference_id=conference_id,
        status=status,
        retry_after=retry_after,
        count=count,
        probability=float(probability),
        delay_ms=delay_ms,
    )


def parse_rules(body: Any) -> tuple[int | None, list[FaultRule]]:
    """``(seed, rules)`` from a list of rules or ``{"seed": N, "rules": [...]}``."""
    seed: int | None = None
    raw_rules = body
    if isinstance(body, dict):
        for name in body:
            if name not in ("seed", "rules"):
                raise ValidationError(name, "unknown field")
        if body.get("seed") is not None:
            seed = _int("seed", body["seed"], 0)
        raw_rules = body.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ValidationError("rules", "must be a list of rules")
    return seed, [_rule(f"rules[{i}]", raw) for i, raw in enumerate(raw_rules)]


class FaultBook:
    """The rules in force; shares the store's lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._rules: list[FaultRule] = []
        self._random = random.Random()  # noqa: S311 - fault rolls, not secrets

    def add(self, seed: int | None, rules: list[FaultRule]) -> None:
        with self._lock:
            if seed is not None:
                self._random.seed(seed)
            self._rules.extend(rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def match(self, method: str, conference_id: str | None) -> FaultHit | None:
        """The fault that hits this request, if any (counts it as fired)."""
        with self._lock:
            for rule in self._rules:
                if not rule.live() or not rule.matches(method, conference_id):
                    continue
                if rule.probability < 1 and self._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                return FaultHit(rule.status, rule.retry_after, rule.delay_ms)
            return None
