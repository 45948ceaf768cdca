"""The admin API (``/emulator/v1``): inspection, seeding, fault rules and reset. No auth."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from .api import json_response
from .errors import ApiError, ValidationError
from .faults import FaultBook, parse_rules
from .model import parse_create
from .store import Store

__all__ = ["Admin"]


def _json(request: Request) -> Any:
    raw = request.get_data()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("body", "is not valid JSON") from None


class Admin:
    """Handlers of the admin endpoints, by endpoint name."""

    def __init__(self, store: Store, faults: FaultBook) -> None:
        self._store = store
        self._faults = faults

    def handle(self, request: Request, endpoint: str, conference_id: str | None = None) -> Response:
        handler = getattr(self, f"_{endpoint}", None)
        if handler is None:
            raise AssertionError(f"unknown admin endpoint {endpoint}")
        try:
            if conference_id is not None:
                response: Response = handler(request, conference_id)
            else:
                response = handler(request)
        except ApiError as error:
            return json_response(error.status, error.body(), error.headers)
        return response

    def _list_conferences(self, request: Request) -> Response:
        return json_response(200, {"conferences": [c.to_json() for c in self._store.all()]})

    def _seed_conference(self, request: Request) -> Response:
        body = _json(request)
        create = parse_create({} if body is None else body)
        created = self._store.create(create.state, owner=create.owner)
        return json_response(201, created.to_json())

    def _set_join_url(self, request: Request, conference_id: str) -> Response:
        body = _json(request)
        if not isinstance(body, dict):
            raise ValidationError("body", "must be a JSON object")
        join_url = body.get("joinUrl")
        parts = urlsplit(join_url) if isinstance(join_url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError("joinUrl", "must be an absolute http(s) URL")
        assert isinstance(join_url, str)
        changed = self._store.set_join_url(conference_id, join_url)
        return json_response(200, changed.to_json())

    def _requests(self, request: Request) -> Response:
        return json_response(200, {"requests": self._store.requests()})

    def _reset_requests(self, request: Request) -> Response:
        self._store.reset_requests()
        return json_response(200, {})

    def _add_faults(self, request: Request) -> Response:
        seed, rules = parse_rules(_json(request))
        self._faults.add(seed, rules)
        return json_response(200, {"faults": self._faults.to_json()})

    def _list_faults(self, request: Request) -> Response:
        return json_response(200, {"faults": self._faults.to_json()})

    def _clear_faults(self, request: Request) -> Response:
        self._faults.clear()
        return json_response(200, {"faults": []})

    def _reset(self, request: Request) -> Response:
        with self._store.lock:
            self._store.reset()
            self._faults.clear()
        return json_response(200, {})
