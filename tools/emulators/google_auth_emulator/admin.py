"""The admin API (``/emulator/v1``): set up identities and grants, inject faults, read stats.

No auth. Every body is JSON; every answer is JSON. Service accounts come into being the first
time any endpoint names them.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from werkzeug.wrappers import Request, Response

from .api import json_response
from .errors import ServiceError
from .id_tokens import parse_id_token_request
from .jwts import sign
from .state import FAULT_ENDPOINTS, Fault, RefreshGrant, State

__all__ = ["Admin"]


def _body(request: Request) -> Any:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ServiceError.admin(400, "the body is not valid JSON") from None


def _object(request: Request) -> dict[str, Any]:
    body = _body(request)
    if not isinstance(body, dict):
        raise ServiceError.admin(400, "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ServiceError.admin(400, f"{name} must be a non-empty string")
    return value.strip()


def _texts(body: dict[str, Any], name: str, *, required: bool = True) -> list[str]:
    value = body.get(name, [] if not required else None)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ServiceError.admin(400, f"{name} must be a list of non-empty strings")
    if required and not value:
        raise ServiceError.admin(400, f"{name} must not be empty")
    return list(value)


class Admin:
    """Handlers of the admin endpoints, by endpoint name."""

    def __init__(self, state: State) -> None:
        self._state = state

    def handle(self, request: Request, endpoint: str, values: dict[str, Any]) -> Response:
        handler = getattr(self, f"_{endpoint}", None)
        if handler is None:
            raise AssertionError(f"unknown admin endpoint {endpoint}")
        try:
            with self._state.lock:
                response: Response = handler(request, **values)
        except ServiceError as error:
            return json_response(error.status, error.body())
        return response

    # --- identities and authorizations ---------------------------------------------------------

    def _add_service_account(self, request: Request) -> Response:
        account = self._state.account(_text(_object(request), "email"))
        return json_response(
            200,
            {"email": account.email, "clientId": account.client_id, "keyId": account.key.key_id},
        )

    def _key_file(self, request: Request, email: str) -> Response:
        """A service-account key file whose ``token_uri`` is this stand-in: for a test's runtime
        identity (``GOOGLE_APPLICATION_CREDENTIALS``). Production never has one."""
        account = self._state.account(email)
        key = account.key
        project = email.partition("@")[2].split(".")[0] or "emulator"
        return json_response(
            200,
            {
                "type": "service_account",
                "project_id": project,
                "private_key_id": key.key_id,
                "private_key": key.private_pem(),
                "client_email": email,
                "client_id": account.client_id,
                "token_uri": request.host_url.rstrip("/") + "/token",
            },
        )

    def _add_token_creator(self, request: Request) -> Response:
        body = _object(request)
        member, target = _text(body, "member"), _text(body, "serviceAccount")
        self._state.account(target)
        self._state.token_creators.add((member, target))
        return json_response(200, {"member": member, "serviceAccount": target})

    def _remove_token_creator(self, request: Request) -> Response:
        body = _object(request)
        pair = (_text(body, "member"), _text(body, "serviceAccount"))
        self._state.token_creators.discard(pair)
        return json_response(200, {})

    def _add_delegation(self, request: Request) -> Response:
        body = _object(request)
        account = self._state.account(_text(body, "serviceAccount"))
        scopes = self._state.delegations.setdefault(account.email, set())
        scopes.update(_texts(body, "scopes"))
        for subject in _texts(body, "subjects", required=False):
            self._state.users[subject] = True
        return json_response(
            200,
            {
                "serviceAccount": account.email,
                "clientId": account.client_id,
                "scopes": sorted(scopes),
            },
        )

    def _remove_delegation(self, request: Request) -> Response:
        self._state.delegations.pop(_text(_object(request), "serviceAccount"), None)
        return json_response(200, {})

    def _add_oauth_client(self, request: Request) -> Response:
        body = _object(request)
        client_id, secret = _text(body, "clientId"), _text(body, "clientSecret")
        self._state.clients[client_id] = secret
        return json_response(200, {"clientId": client_id})

    def _add_refresh_token(self, request: Request) -> Response:
        body = _object(request)
        client_id, subject = _text(body, "clientId"), _text(body, "subject")
        if client_id not in self._state.clients:
            raise ServiceError.admin(400, f"unknown OAuth client {client_id}")
        token = body.get("refreshToken") or f"1//emu-{secrets.token_urlsafe(32)}"
        if not isinstance(token, str):
            raise ServiceError.admin(400, "refreshToken must be a string")
        verified = body.get("emailVerified", True)
        if not isinstance(verified, bool):
            raise ServiceError.admin(400, "emailVerified must be a boolean")
        self._state.refresh_grants[token] = RefreshGrant(
            token, client_id, subject, frozenset(_texts(body, "scopes")), email_verified=verified
        )
        self._state.users.setdefault(subject, True)
        return json_response(200, {"refreshToken": token})

    def _revoke(self, request: Request) -> Response:
        body = _object(request)
        if "subject" in body:
            self._state.revoke_subject(_text(body, "subject"))
        elif "refreshToken" in body:
            self._state.revoke_refresh_token(_text(body, "refreshToken"))
        else:
            raise ServiceError.admin(400, "name a subject or a refreshToken")
        return json_response(200, {})

    def _restore(self, request: Request) -> Response:
        self._state.users[_text(_object(request), "subject")] = True
        return json_response(200, {})

    def _mint_id_token(self, request: Request) -> Response:
        """An ID token as Google gives an add-on for its user (see :mod:`.id_tokens`). The call
        log names the user and audience, never the token."""
        state = self._state
        try:
            asked = parse_id_token_request(_body(request))
        except ServiceError as error:
            state.record("idToken", error.status, error=error.message)
            raise
        token = sign(state.id_token_key, asked.claims(int(state.clock())))
        state.record("idToken", 200, subject=asked.email, audience=asked.audience)
        return json_response(200, {"idToken": token})

    # --- faults, settings, inspection ----------------------------------------------------------

    def _add_faults(self, request: Request) -> Response:
        body = _body(request)
        rules = body if isinstance(body, list) else [body]
        parsed = []
        for rule in rules:
            if not isinstance(rule, dict) or rule.get("endpoint") not in FAULT_ENDPOINTS:
                raise ServiceError.admin(400, f"each rule needs an endpoint of {FAULT_ENDPOINTS}")
            status, times = rule.get("status", 503), rule.get("times", 1)
            if not isinstance(status, int) or not 400 <= status <= 599:
                raise ServiceError.admin(400, "status must be an HTTP error status")
            if not isinstance(times, int) or times < 1:
                raise ServiceError.admin(400, "times must be a positive integer")
            error = rule.get("error")
            parsed.append(
                Fault(rule["endpoint"], status, error if isinstance(error, str) else None, times)
            )
        self._state.faults.extend(parsed)
        return self._list_faults(request)

    def _list_faults(self, request: Request) -> Response:
        return json_response(200, {"faults": [f.to_json() for f in self._state.faults]})

    def _clear_faults(self, request: Request) -> Response:
        self._state.faults.clear()
        return json_response(200, {"faults": []})

    def _settings(self, request: Request) -> Response:
        if request.method == "POST":
            lifetime = _object(request).get("tokenLifetimeSeconds")
            if not isinstance(lifetime, int) or lifetime < 1:
                raise ServiceError.admin(400, "tokenLifetimeSeconds must be a positive integer")
            self._state.token_lifetime_s = lifetime
        return json_response(200, {"tokenLifetimeSeconds": self._state.token_lifetime_s})

    def _stats(self, request: Request) -> Response:
        return json_response(
            200, {"counts": dict(self._state.counts), "calls": list(self._state.calls)}
        )

    def _tokens(self, request: Request) -> Response:
        tokens = [t.to_json() for t in self._state.access_tokens.values()]
        return json_response(200, {"tokens": tokens})

    def _reset(self, request: Request) -> Response:
        self._state.reset()
        return json_response(200, {})
