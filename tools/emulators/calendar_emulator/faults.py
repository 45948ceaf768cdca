"""Fault injection: rules that make API requests fail or slow down, and push delivery misbehave.

Rules come from the admin API as JSON. API rules match on the method id and calendar; each hit
can delay the answer and/or replace it with an error from Google's catalogue. Notification rules
drop, duplicate or delay push messages.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, error_for_reason

__all__ = [
    "ApiFaultRule",
    "FaultDecision",
    "FaultRegistry",
    "NotificationDecision",
    "NotificationFaultRule",
    "parse_rules",
]


def _probability(raw: Any, name: str) -> float:
    if raw is None:
        return 0.0 if name != "probability" else 1.0
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 1:
        raise ValueError(f"{name} must be a number from 0 to 1")
    return float(raw)


def _non_negative_int(raw: Any, name: str) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ValueError(f"{name} must be a non-negative integer")
    return raw


def _optional_str(raw: Any, name: str) -> str | None:
    if raw is not None and not isinstance(raw, str):
        raise ValueError(f"{name} must be a string")
    return raw


@dataclass
class ApiFaultRule:
    """Acts on API requests."""

    method: str | None = None
    calendar_id: str | None = None
    status: int | None = None
    reason: str | None = None
    count: int | None = None
    probability: float = 1.0
    delay_ms: int = 0
    fired: int = 0

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ApiFaultRule:
        status = _non_negative_int(raw.get("status"), "status")
        if status is not None and not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        rule = cls(
            method=_optional_str(raw.get("method"), "method"),
            calendar_id=_optional_str(raw.get("calendarId"), "calendarId"),
            status=status,
            reason=_optional_str(raw.get("reason"), "reason"),
            count=_non_negative_int(raw.get("count"), "count"),
            probability=_probability(raw.get("probability"), "probability"),
            delay_ms=_non_negative_int(raw.get("delayMs"), "delayMs") or 0,
        )
        if rule.status is None and rule.reason is not None:
            rule.status = error_for_reason(None, rule.reason).status
        return rule

    @property
    def retired(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def matches(self, method: str, calendar_id: str | None) -> bool:
        if self.retired:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.calendar_id is None or self.calendar_id == calendar_id

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": "api"}
        for key, value in (
            ("method", self.method),
            ("calendarId", self.calendar_id),
            ("status", self.status),
            ("reason", self.reason),
            ("count", self.count),
        ):
            if value is not None:
                out[key] = value
        out.update(
            probability=self.probability,
            delayMs=self.delay_ms,
            fired=self.fired,
            retired=self.retired,
        )
        return out


@dataclass
class NotificationFaultRule:
    """Acts on push notification delivery."""

    calendar_id: str | None = None
    drop_probability: float = 0.0
    duplicate_probability: float = 0.0
    delay_ms: int = 0
    count: int | None = None
    fired: int = 0

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> NotificationFaultRule:
        return cls(
            calendar_id=_optional_str(raw.get("calendarId"), "calendarId"),
            drop_probability=_probability(raw.get("dropProbability"), "dropProbability"),
            duplicate_probability=_probability(
                raw.get("duplicateProbability"), "duplicateProbability"
            ),
            delay_ms=_non_negative_int(raw.get("delayMs"), "delayMs") or 0,
            count=_non_negative_int(raw.get("count"), "count"),
        )

    @property
    def retired(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": "notifications"}
        if self.calendar_id is not None:
            out["calendarId"] = self.calendar_id
        if self.count is not None:
            out["count"] = self.count
        out.update(
            dropProbability=self.drop_probability,
            duplicateProbability=self.duplicate_probability,
            delayMs=self.delay_ms,
            fired=self.fired,
            retired=self.retired,
        )
        return out


Rule = ApiFaultRule | NotificationFaultRule


def parse_rules(payload: Any) -> tuple[int | None, list[Rule]]:
    """Parse the body of POST /emulator/v1/faults: a list of rules or {"seed", "rules"}."""
    seed: int | None = None
    if isinstance(payload, dict):
        seed = _non_negative_int(payload.get("seed"), "seed")
        payload = payload.get("rules", [])
    if not isinstance(payload, list):
        raise ValueError("expected a list of rules or {'seed': N, 'rules': [...]}")
    rules: list[Rule] = []
    for raw in payload:
        if not isinstance(raw, dict):
            raise ValueError("each rule must be an object")
        target = raw.get("target", "api")
        if target == "notifications":
            rules.append(NotificationFaultRule.from_json(raw))
        elif target == "api":
            rules.append(ApiFaultRule.from_json(raw))
        else:
            raise ValueError(f"unknown target {target!r}")
    return seed, rules


@dataclass(frozen=True)
class FaultDecision:
    """What to do with an API request: wait, then maybe answer an error."""

    delay_ms: int = 0
    error: ApiError | None = None


@dataclass(frozen=True)
class NotificationDecision:
    drop: bool = False
    duplicate: bool = False
    delay_ms: int = 0


@dataclass
class FaultRegistry:
    """The rules in force (thread-safe)."""

    _rules: list[Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(default_factory=random.Random)
    _seed: int | None = None

    def add(self, payload: Any) -> list[dict[str, Any]]:
        seed, rules = parse_rules(payload)
        with self._lock:
            if seed is not None:
                self._seed = seed
                self._rng = random.Random(seed)  # noqa: S311 (reproducible faults)
            self._rules.extend(rules)
        return self.describe()

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def for_request(self, method: str, calendar_id: str | None) -> FaultDecision:
        delay = 0
        with self._lock:
            for rule in self._rules:
                if not isinstance(rule, ApiFaultRule) or not rule.matches(method, calendar_id):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                delay += rule.delay_ms
                if rule.status is not None:
                    return FaultDecision(delay, error_for_reason(rule.status, rule.reason))
        return FaultDecision(delay, None)

    def for_notification(self, calendar_id: str) -> NotificationDecision:
        drop = duplicate = False
        delay = 0
        with self._lock:
            for rule in self._rules:
                if not isinstance(rule, NotificationFaultRule) or rule.retired:
                    continue
                if rule.calendar_id is not None and rule.calendar_id != calendar_id:
                    continue
                hit_drop = rule.drop_probability > 0 and self._rng.random() < rule.drop_probability
                hit_dup = (
                    rule.duplicate_probability > 0
                    and self._rng.random() < rule.duplicate_probability
                )
                if hit_drop or hit_dup or rule.delay_ms:
                    rule.fired += 1
                drop = drop or hit_drop
                duplicate = duplicate or hit_dup
                delay += rule.delay_ms
        return NotificationDecision(drop, duplicate and not drop, delay)
