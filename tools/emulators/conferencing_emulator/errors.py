"""The error envelope of the conferencing contract.

Every error leaves the API as ``{"error": {"code": "<snake_case_code>", "message": "<text>"}}``;
validation errors add ``"field"`` naming the offending request field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApiError",
    "ValidationError",
    "bad_signature",
    "conference_deleted",
    "error_body",
    "not_found",
    "stale_revision",
    "unauthenticated",
]


def error_body(code: str, message: str, field_name: str | None = None) -> dict[str, Any]:
    """The JSON error envelope."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field_name is not None:
        error["field"] = field_name
    return {"error": error}


@dataclass(frozen=True)
class ApiError(Exception):
    """An error answer: HTTP status, snake_case code, human message and extra headers."""

    status: int
    code: str
    message: str
    field_name: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: The request-log outcome when it is not implied by the status (see ``api``).
    outcome: str | None = None

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.field_name)


class ValidationError(ApiError):
    """400 ``invalid_request`` naming the request field that is missing or invalid."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(400, "invalid_request", f"{field_name}: {message}", field_name)


def not_found(conference_id: str, outcome: str = "not_found") -> ApiError:
    return ApiError(404, "not_found", f"conference {conference_id!r} not found", outcome=outcome)


def conference_deleted(conference_id: str) -> ApiError:
    return ApiError(
        410,
        "conference_deleted",
        f"conference {conference_id!r} has been deleted",
        outcome="deleted",
    )


def stale_revision(conference_id: str, sent: int, stored: int) -> ApiError:
    return ApiError(
        409,
        "stale_revision",
        f"revision {sent} is older than the stored revision {stored} "
        f"of conference {conference_id!r}",
        outcome="stale",
    )


def unauthenticated(message: str) -> ApiError:
    return ApiError(401, "unauthenticated", message, headers={"WWW-Authenticate": "Bearer"})


def bad_signature(message: str) -> ApiError:
    return ApiError(401, "bad_signature", message)
