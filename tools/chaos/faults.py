"""The fault schedule: what goes wrong during a chaos run, drawn at random from a seed.

Every fault goes through a public admin interface, never into confsync's own code:

=====================  ======================================================================
kind                   how
=====================  ======================================================================
calendar-fault         Calendar emulator rules: 429, 403 ``rateLimitExceeded`` /
                       ``userRateLimitExceeded``, 500, 503 on the API (all methods or those
                       confsync calls), latency (some beyond confsync's Calendar timeout), and
                       notification rules (dropped, duplicated, delayed)
invalidate             every sync token of a calendar answers 410 from now on
conferencing-fault     conferencing emulator rules: 5xx / 429 with ``Retry-After``, and
                       delays longer than confsync's provider timeout (a timeout whose write
                       may still land later)
kill-sync              the sync function's process group is SIGKILLed and started again
=====================  ======================================================================

Rules are bounded (``count``) so the storm passes; probabilistic rules carry their own seed so the
emulators' rolls repeat on a replay. The quiet period clears whatever is left.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from chaos.steps import Step

if TYPE_CHECKING:
    from chaos.stack import ChaosStack

__all__ = ["CHAOS_SETTINGS", "PROVIDER_TIMEOUT_S", "apply_fault", "draw_faults"]

PROVIDER_TIMEOUT_S = 2
CALENDAR_TIMEOUT_S = 5

#: Function settings of the chaos stack: short timeouts, lease, sweep and backoff, so a storm
#: passes and the quiet period converges within seconds (all within what the configuration accepts).
CHAOS_SETTINGS = {
    "CONFSYNC_SWEEP_INTERVAL_SECONDS": "2",
    "CONFSYNC_SWEEP_MAX_INTERVAL_SECONDS": "2",
    "CONFSYNC_LEASE_SECONDS": "10",
    "CONFSYNC_PROVIDER_TIMEOUT_SECONDS": str(PROVIDER_TIMEOUT_S),
    "CONFSYNC_CALENDAR_TIMEOUT_SECONDS": str(CALENDAR_TIMEOUT_S),
    "CONFSYNC_PENDING_BASE_DELAY_SECONDS": "1",
    "CONFSYNC_PENDING_MAX_DELAY_SECONDS": "4",
}

_CALENDAR_METHODS = (
    None,
    None,
    "calendar.events.list",
    "calendar.events.list",
    "calendar.events.get",
    "calendar.events.patch",
    "calendar.events.watch",
)
_CALENDAR_ERRORS: tuple[tuple[int, str | None], ...] = (
    (429, None),
    (403, "rateLimitExceeded"),
    (403, "userRateLimitExceeded"),
    (500, None),
    (503, None),
)


def _calendar_error(rng: random.Random, calendars: list[str]) -> dict[str, Any]:
    status, reason = rng.choice(_CALENDAR_ERRORS)
    rule: dict[str, Any] = {
        "status": status,
        "probability": rng.choice((0.2, 0.35, 0.5)),
        "count": rng.randint(2, 10),
    }
    if reason:
        rule["reason"] = reason
    method = rng.choice(_CALENDAR_METHODS)
    if method:
        rule["method"] = method
    if rng.random() < 0.4:
        rule["calendarId"] = rng.choice(calendars)
    return rule


def _calendar_latency(rng: random.Random) -> dict[str, Any]:
    slow = rng.random() < 0.2  # beyond confsync's Calendar timeout
    return {
        "method": rng.choice(("calendar.events.list", "calendar.events.get", None)),
        "delayMs": CALENDAR_TIMEOUT_S * 1000 + 500 if slow else rng.choice((100, 300, 800)),
        "probability": rng.choice((0.3, 0.6, 1.0)),
        "count": 1 if slow else rng.randint(2, 8),
    }


def _notifications(rng: random.Random, calendars: list[str]) -> dict[str, Any]:
    rule: dict[str, Any] = {"target": "notifications", "count": rng.randint(2, 12)}
    which = rng.choice(("drop", "drop", "duplicate", "delay"))
    if which == "drop":
        rule["dropProbability"] = rng.choice((0.5, 1.0))
    elif which == "duplicate":
        rule["duplicateProbability"] = rng.choice((0.5, 1.0))
    else:
        rule["delayMs"] = rng.choice((300, 1000, 2500))
    if rng.random() < 0.5:
        rule["calendarId"] = rng.choice(calendars)
    return rule


def _conferencing(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.35:  # a timeout: the client gives up; the write may still land later
        rule: dict[str, Any] = {
            "method": rng.choice(("PUT", "DELETE", None)),
            "delayMs": PROVIDER_TIMEOUT_S * 1000 + 700,
            "probability": rng.choice((0.3, 0.6)),
            "count": rng.randint(1, 3),
        }
        if rng.random() < 0.3:
            rule["status"] = 504
        return rule
    rule = {
        "method": rng.choice(("PUT", "PUT", "DELETE", None)),
        "status": rng.choice((500, 502, 503, 429)),
        "probability": rng.choice((0.3, 0.5, 1.0)),
        "count": rng.randint(1, 6),
    }
    if rule["status"] in (429, 503) and rng.random() < 0.5:
        rule["retryAfter"] = 1
    return rule


def draw_faults(rng: random.Random, calendars: list[str]) -> list[Step]:
    """The fault steps of one run, in the order they strike."""
    faults: list[Step] = []
    for _ in range(rng.randint(6, 10)):
        kind = rng.choice(
            (
                "calendar-error",
                "calendar-error",
                "calendar-latency",
                "notifications",
                "notifications",
                "invalidate",
                "conferencing",
                "conferencing",
                "kill-sync",
            )
        )
        seed = rng.randint(0, 2**31 - 1)
        if kind == "calendar-error":
            faults.append(
                Step("calendar-fault", {"seed": seed, "rule": _calendar_error(rng, calendars)})
            )
        elif kind == "calendar-latency":
            faults.append(Step("calendar-fault", {"seed": seed, "rule": _calendar_latency(rng)}))
        elif kind == "notifications":
            rule = _notifications(rng, calendars)
            faults.append(Step("calendar-fault", {"seed": seed, "rule": rule}))
        elif kind == "invalidate":
            faults.append(Step("invalidate", {"calendar": rng.choice(calendars)}))
        elif kind == "conferencing":
            faults.append(Step("conferencing-fault", {"seed": seed, "rule": _conferencing(rng)}))
        else:
            faults.append(Step("kill-sync"))
    if not any(step.kind == "kill-sync" for step in faults) and rng.random() < 0.5:
        faults.insert(rng.randint(0, len(faults)), Step("kill-sync"))
    return faults


def apply_fault(step: Step, calendar_ids: dict[str, str], stack: ChaosStack) -> None:
    """Inject one fault step into the running stack."""
    rule = {key: value for key, value in step.args.get("rule", {}).items() if value is not None}
    if step.kind == "calendar-fault":
        if "calendarId" in rule:
            rule["calendarId"] = calendar_ids[rule["calendarId"]]
        stack.calendar_faults({"seed": step.args["seed"], "rules": [rule]})
    elif step.kind == "conferencing-fault":
        stack.conferencing_faults({"seed": step.args["seed"], "rules": [rule]})
    elif step.kind == "invalidate":
        stack.invalidate_sync_tokens(calendar_ids[step.args["calendar"]])
    elif step.kind == "kill-sync":
        stack.restart_sync()
    else:  # pragma: no cover - the schedule only draws the kinds above
        raise ValueError(f"not a fault: {step.kind}")
