"""Google's error envelope and the catalogue of errors the emulator answers with.

Every error leaves the API as
``{"error": {"errors": [{"domain", "reason", "message", "location"?, "locationType"?}],
"code", "message"}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CATALOGUE",
    "ApiError",
    "bad_request",
    "condition_not_met",
    "deleted",
    "duplicate",
    "error_for_reason",
    "full_sync_required",
    "invalid_parameter",
    "not_found",
    "parse_error",
    "required",
    "sync_token_with_restrictions",
    "time_range_empty",
]

JSON = dict[str, Any]


@dataclass(frozen=True)
class ApiError(Exception):
    """An error answer: HTTP status plus one Google error entry."""

    status: int
    reason: str
    message: str
    domain: str = "global"
    location: str | None = None
    location_type: str | None = None

    def body(self) -> JSON:
        entry: JSON = {"domain": self.domain, "reason": self.reason, "message": self.message}
        if self.location_type is not None:
            entry["locationType"] = self.location_type
        if self.location is not None:
            entry["location"] = self.location
        return {"error": {"errors": [entry], "code": self.status, "message": self.message}}

    def to_json(self) -> str:
        return json.dumps(self.body())


# reason -> (default status, domain, message): Google's catalogue (reference section 5.1).
CATALOGUE: dict[str, tuple[int, str, str]] = {
    "badRequest": (400, "global", "Bad Request"),
    "invalid": (400, "global", "Invalid Value"),
    "required": (400, "global", "Required"),
    "parseError": (400, "global", "Parse Error"),
    "timeRangeEmpty": (400, "calendar", "The specified time range is empty."),
    "syncTokenWithRequestRestrictions": (
        400,
        "calendar",
        "Sync token cannot be used with other request restrictions.",
    ),
    "channelIdNotUnique": (400, "global", "Channel id not unique"),
    "authError": (401, "global", "Invalid Credentials"),
    "forbidden": (403, "global", "Forbidden"),
    "userRateLimitExceeded": (403, "usageLimits", "User Rate Limit Exceeded"),
    "rateLimitExceeded": (429, "usageLimits", "Rate Limit Exceeded"),
    "quotaExceeded": (403, "usageLimits", "Calendar usage limits exceeded."),
    "forbiddenForNonOrganizer": (
        403,
        "calendar",
        "Shared properties can only be changed by the organizer of the event.",
    ),
    "notFound": (404, "global", "Not Found"),
    "duplicate": (409, "global", "The requested identifier already exists."),
    "conflict": (409, "global", "Conflict"),
    "fullSyncRequired": (
        410,
        "calendar",
        "Sync token is no longer valid, a full sync is required.",
    ),
    "updatedMinTooLongAgo": (
        410,
        "calendar",
        "The requested minimum modification time lies too far in the past.",
    ),
    "deleted": (410, "global", "Resource has been deleted"),
    "conditionNotMet": (412, "global", "Precondition Failed"),
    "backendError": (500, "global", "Backend Error"),
    "serviceUnavailable": (503, "global", "Service Unavailable"),
}

# The reason used when a fault rule gives only a status.
_DEFAULT_REASON_BY_STATUS = {
    400: "badRequest",
    401: "authError",
    403: "rateLimitExceeded",
    404: "notFound",
    409: "conflict",
    410: "deleted",
    412: "conditionNotMet",
    429: "rateLimitExceeded",
    500: "backendError",
    503: "backendError",
}

_LOCATIONS: dict[str, tuple[str, str]] = {
    "fullSyncRequired": ("syncToken", "parameter"),
    "updatedMinTooLongAgo": ("updatedMin", "parameter"),
    "conditionNotMet": ("If-Match", "header"),
    "timeRangeEmpty": ("timeMax", "parameter"),
    "authError": ("Authorization", "header"),
}


def error_for_reason(status: int | None, reason: str | None) -> ApiError:
    """An error for a fault rule: the catalogue entry of `reason`, with `status` if given."""
    if reason is None:
        reason = _DEFAULT_REASON_BY_STATUS.get(status or 500, "backendError")
    default_status, domain, message = CATALOGUE.get(reason, (status or 500, "global", reason))
    location, location_type = _LOCATIONS.get(reason, (None, None))
    return ApiError(
        status=status or default_status,
        reason=reason,
        message=message,
        domain=domain,
        location=location,
        location_type=location_type,
    )


def not_found() -> ApiError:
    return ApiError(404, "notFound", "Not Found")


def deleted() -> ApiError:
    return ApiError(410, "deleted", "Resource has been deleted")


def duplicate() -> ApiError:
    return ApiError(409, "duplicate", "The requested identifier already exists.")


def condition_not_met() -> ApiError:
    return ApiError(412, "conditionNotMet", "Precondition Failed", "global", "If-Match", "header")


def full_sync_required() -> ApiError:
    return error_for_reason(410, "fullSyncRequired")


def sync_token_with_restrictions() -> ApiError:
    return error_for_reason(400, "syncTokenWithRequestRestrictions")


def time_range_empty() -> ApiError:
    return error_for_reason(400, "timeRangeEmpty")


def parse_error() -> ApiError:
    return ApiError(400, "parseError", "Parse Error")


def bad_request(message: str = "Bad Request") -> ApiError:
    return ApiError(400, "badRequest", message)


def required(message: str, location: str | None = None) -> ApiError:
    return ApiError(400, "required", message, "global", location, "parameter" if location else None)


def invalid_parameter(message: str, location: str | None = None) -> ApiError:
    """400 `invalid` about a query parameter (or, without `location`, the request body)."""
    return ApiError(400, "invalid", message, "global", location, "parameter" if location else None)
