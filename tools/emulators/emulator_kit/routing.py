"""`match_route`: a request's endpoint, or why no route takes it, for the stand-ins' dispatchers.

The conferencing and auth stand-ins answer an unroutable request the same way (405 naming the
allowed methods, 404 naming the path, the routing error's own status otherwise) and differ only in
the JSON envelope, so the matching lives here and each app renders a `NoRoute` in its own shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Request

__all__ = ["NoRoute", "match_route"]


@dataclass(frozen=True)
class NoRoute:
    """The answer to a request no rule takes: ``reason`` is ``method_not_allowed``,
    ``not_found`` or ``invalid_request`` (any other routing error, e.g. a slash redirect)."""

    status: int
    reason: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def match_route(url_map: Map, request: Request) -> tuple[str, Mapping[str, Any]] | NoRoute:
    """``(endpoint, values)`` of the rule matching ``request``, or the `NoRoute` to answer."""
    adapter = url_map.bind_to_environ(request.environ)
    try:
        endpoint, values = adapter.match()
    except MethodNotAllowed as error:
        allowed = ", ".join(sorted(error.valid_methods or ()))
        message = f"{request.method} is not allowed here"
        return NoRoute(405, "method_not_allowed", message, {"Allow": allowed})
    except NotFound:
        return NoRoute(404, "not_found", f"no route for {request.path}")
    except HTTPException as error:
        return NoRoute(error.code or 400, "invalid_request", error.description or "")
    return str(endpoint), values
