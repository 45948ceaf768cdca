"""Error answers in the shapes Google uses for each surface.

- token endpoint (OAuth 2.0, RFC 6749 section 5.2): ``{"error": "invalid_grant",
  "error_description": "..."}``;
- IAM Credentials API (Google's JSON error envelope): ``{"error": {"code": 403, "message": "...",
  "status": "PERMISSION_DENIED"}}``;
- the admin API: ``{"error": {"code": 400, "message": "..."}}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ServiceError"]

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass(frozen=True)
class ServiceError(Exception):
    """An error answer: HTTP status, surface (``oauth``, ``iam``, ``admin``), code and text."""

    status: int
    surface: str
    code: str
    message: str

    @classmethod
    def oauth(cls, status: int, error: str, description: str) -> ServiceError:
        return cls(status, "oauth", error, description)

    @classmethod
    def iam(cls, status: int, message: str) -> ServiceError:
        return cls(status, "iam", _STATUS_NAMES.get(status, "UNKNOWN"), message)

    @classmethod
    def admin(cls, status: int, message: str) -> ServiceError:
        return cls(status, "admin", "invalid_request", message)

    def body(self) -> dict[str, Any]:
        if self.surface == "oauth":
            return {"error": self.code, "error_description": self.message}
        if self.surface == "iam":
            return {"error": {"code": self.status, "message": self.message, "status": self.code}}
        return {"error": {"code": self.status, "message": self.message}}
