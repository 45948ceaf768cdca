"""The Google-shaped endpoints: ``POST /token``, ``POST /v1/projects/-/serviceAccounts/{email}
:signJwt``, ``GET /tokeninfo``, ``GET /oauth2/v1/certs`` and ``/oauth2/v3/certs`` (the keys of
the ID tokens, as X.509 certificates and as JWKs) and ``GET /.well-known/openid-configuration``.

Each handler takes the request and the shared :class:`~.state.State`, holds its lock for the
whole call, consults the fault rules first, and records the call (endpoint, grant, subject,
scopes, status, error) in the call log whatever the outcome.
"""

from __future__ import annotations

import json
from typing import Any, Final

from werkzeug.wrappers import Request, Response

from .errors import ServiceError
from .jwts import JwtError, decode_unverified, jwk, sign, verify
from .state import IssuedToken, RefreshGrant, State, user_id_of

__all__ = [
    "GOOGLE_ISSUER",
    "GOOGLE_TOKEN_AUDIENCES",
    "ID_TOKEN_LIFETIME_S",
    "JWT_BEARER",
    "MAX_ASSERTION_LIFETIME_S",
    "MAX_SIGN_JWT_EXP_S",
    "Api",
    "json_response",
]

JWT_BEARER: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_AUDIENCES: Final = frozenset(
    {"https://oauth2.googleapis.com/token", "https://accounts.google.com/o/oauth2/token"}
)
"""Audiences accepted besides the stand-in's own ``/token`` URL: google-auth's key-file
credentials always put Google's token URL in ``aud``, whatever ``token_uri`` says."""
MAX_ASSERTION_LIFETIME_S: Final = 3600
GOOGLE_ISSUER: Final = "https://accounts.google.com"
"""The ``iss`` of Google's ID tokens (google-auth also accepts ``accounts.google.com``)."""
ID_TOKEN_LIFETIME_S: Final = 3600
MAX_SIGN_JWT_EXP_S: Final = 12 * 3600
CLOCK_SKEW_S: Final = 60


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body),
        status=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
        content_type="application/json",
    )


def _int_claim(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ServiceError.oauth(400, "invalid_grant", f"Invalid JWT: {name} must be an integer")
    return value


class Api:
    """Handlers of the Google-shaped endpoints."""

    def __init__(self, state: State) -> None:
        self._state = state

    # --- POST /v1/projects/-/serviceAccounts/{email}:signJwt ---------------------------------

    def sign_jwt(self, request: Request, email: str) -> Response:
        state = self._state
        with state.lock:
            caller: str | None = None
            try:
                fault = state.take_fault("signJwt")
                if fault is not None:
                    raise ServiceError.iam(fault.status, "injected fault")
                caller = self._caller(request)
                if (caller, email) not in state.token_creators:
                    raise ServiceError.iam(
                        403,
                        f"Permission 'iam.serviceAccounts.signJwt' denied on {email} "
                        "(or it may not exist)",
                    )
                claims = self._payload(request)
                now = int(state.clock())
                exp = claims.setdefault("exp", now + 3600)
                if not isinstance(exp, int) or not now < exp <= now + MAX_SIGN_JWT_EXP_S:
                    raise ServiceError.iam(
                        400, "exp must be an integer in the future, at most 12 hours away"
                    )
                key = state.account(email).key
                signed = sign(key, claims)
            except ServiceError as error:
                state.record("signJwt", error.status, serviceAccount=email, caller=caller)
                return json_response(error.status, error.body())
            state.record(
                "signJwt", 200, serviceAccount=email, caller=caller, subject=claims.get("sub")
            )
            return json_response(200, {"keyId": key.key_id, "signedJwt": signed})

    def _caller(self, request: Request) -> str:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        issued = self._state.live_token(token) if scheme.lower() == "bearer" else None
        if issued is None:
            raise ServiceError.iam(
                401, "Request had invalid authentication credentials: no valid access token"
            )
        return issued.principal

    @staticmethod
    def _payload(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.get_data() or b"null")
            claims = json.loads(body["payload"])
        except (ValueError, TypeError, KeyError, UnicodeDecodeError):
            raise ServiceError.iam(
                400, 'the body must be {"payload": "<a JSON claim set>"}'
            ) from None
        if not isinstance(claims, dict):
            raise ServiceError.iam(400, "payload must be a JSON object")
        return claims

    # --- POST /token ---------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        state = self._state
        form = request.form
        grant_type = form.get("grant_type", "")
        grant = {JWT_BEARER: "jwt-bearer", "refresh_token": "refresh_token"}.get(grant_type, "")
        details: dict[str, Any] = {"grant": grant or grant_type}
        with state.lock:
            try:
                fault = state.take_fault("token")
                if fault is not None:
                    raise ServiceError.oauth(
                        fault.status, fault.error or "server_error", "injected fault"
                    )
                extra: dict[str, str] = {}
                if grant == "jwt-bearer":
                    issued = self._jwt_bearer(form.get("assertion", ""), request, details)
                elif grant == "refresh_token":
                    issued, refresh = self._refresh(form, details)
                    if "openid" in issued.scopes:
                        extra["id_token"] = self._id_token(issued, refresh)
                else:
                    raise ServiceError.oauth(
                        400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}"
                    )
            except ServiceError as error:
                state.record("token", error.status, error=error.code, **details)
                return json_response(error.status, error.body())
            details.update(scopes=list(issued.scopes), idToken="id_token" in extra)
            state.record("token", 200, **details)
            return json_response(
                200,
                {
                    "access_token": issued.token,
                    "expires_in": int(issued.expires_at - issued.issued_at),
                    "scope": " ".join(issued.scopes),
                    "token_type": "Bearer",
                    **extra,
                },
            )

    def _jwt_bearer(self, assertion: str, request: Request, details: dict[str, Any]) -> IssuedToken:
        state = self._state
        try:
            header, unverified = decode_unverified(assertion)
        except JwtError as err:
            raise ServiceError.oauth(400, "invalid_grant", f"Invalid JWT: {err}") from None
        issuer = unverified.get("iss")
        account = state.service_accounts.get(issuer) if isinstance(issuer, str) else None
        details["serviceAccount"] = issuer
        if account is None or header.get("kid") not in (None, account.key.key_id):
            raise ServiceError.oauth(400, "invalid_grant", "Invalid JWT: no key of the issuer")
        try:
            claims = verify(assertion, account.key)
        except JwtError:
            raise ServiceError.oauth(
                400, "invalid_grant", "Invalid JWT: the signature does not verify"
            ) from None
        own = request.host_url.rstrip("/") + request.path
        if claims.get("aud") not in {own, *GOOGLE_TOKEN_AUDIENCES}:
            raise ServiceError.oauth(400, "invalid_grant", "Invalid JWT: aud is not this endpoint")
        self._check_times(claims)
        scopes = tuple(str(claims.get("scope") or "").split())
        subject = claims.get("sub")
        details.update(subject=subject, scopes=list(scopes))
        if not scopes:
            raise ServiceError.oauth(400, "invalid_scope", "the assertion asks for no scope")
        if not isinstance(subject, str) or subject in ("", account.email):
            return state.issue(account.email, "jwt-bearer", scopes, service_account=account.email)
        if not set(scopes) <= state.delegations.get(account.email, set()):
            raise ServiceError.oauth(
                401,
                "unauthorized_client",
                "domain-wide delegation is not authorized for this client and these scopes",
            )
        if not state.users.get(subject, False):
            raise ServiceError.oauth(
                400, "invalid_grant", "the subject is not an active user of the domain"
            )
        return state.issue(subject, "jwt-bearer", scopes, service_account=account.email)

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = int(self._state.clock())
        iat, exp = _int_claim(claims, "iat"), _int_claim(claims, "exp")
        if iat > now + CLOCK_SKEW_S or exp <= now or exp - iat > MAX_ASSERTION_LIFETIME_S:
            raise ServiceError.oauth(
                400,
                "invalid_grant",
                "Invalid JWT: the token must be short-lived (at most 60 minutes) and current; "
                "check iat and exp",
            )

    def _refresh(self, form: Any, details: dict[str, Any]) -> tuple[IssuedToken, RefreshGrant]:
        state = self._state
        client_id = form.get("client_id", "")
        details["clientId"] = client_id
        if not client_id or state.clients.get(client_id) != form.get("client_secret"):
            raise ServiceError.oauth(401, "invalid_client", "Unauthorized")
        token = form.get("refresh_token", "")
        if not token:
            raise ServiceError.oauth(
                400, "invalid_request", "Missing required parameter: refresh_token"
            )
        grant = state.refresh_grants.get(token)
        if grant is None or grant.client_id != client_id:
            raise ServiceError.oauth(400, "invalid_grant", "Bad Request")
        details["subject"] = grant.subject
        if grant.revoked or not state.users.get(grant.subject, True):
            raise ServiceError.oauth(
                400, "invalid_grant", "the refresh token was revoked or has expired"
            )
        asked = tuple(str(form.get("scope") or "").split()) or tuple(sorted(grant.scopes))
        if not set(asked) <= grant.scopes:
            raise ServiceError.oauth(400, "invalid_scope", "Bad Request")
        issued = state.issue(grant.subject, "refresh_token", asked, client_id=client_id)
        return issued, grant

    def _id_token(self, issued: IssuedToken, grant: RefreshGrant) -> str:
        """The OpenID Connect ID token of a refresh whose scopes hold ``openid``: issued by
        Google for the client, about the user; ``email`` and ``email_verified`` only with the
        ``email`` scope (OpenID Connect Core 5.4), as Google does."""
        now = int(issued.issued_at)
        claims: dict[str, Any] = {
            "iss": GOOGLE_ISSUER,
            "azp": grant.client_id,
            "aud": grant.client_id,
            "sub": user_id_of(grant.subject),
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME_S,
        }
        if "email" in issued.scopes:
            claims.update(email=grant.subject, email_verified=grant.email_verified)
        return sign(self._state.id_token_key, claims)

    # --- GET /oauth2/v1/certs ------------------------------------------------------------------

    def certs(self) -> Response:
        """The ID tokens' key as Google's v1 certs publish it: ``{kid: X.509 PEM}``."""
        state = self._state
        with state.lock:
            key = state.id_token_key
            state.record("certs", 200)
            return json_response(200, {key.key_id: key.certificate_pem(state.clock())})

    def jwks(self) -> Response:
        """The same key as a JWK set, as Google's ``/oauth2/v3/certs`` publishes it."""
        state = self._state
        with state.lock:
            state.record("certs", 200, format="jwk")
            return json_response(200, {"keys": [jwk(state.id_token_key)]})

    @staticmethod
    def openid_configuration(request: Request) -> Response:
        """The discovery document's fields that locate the keys: ``issuer`` (Google's, as the ID
        tokens say), ``jwks_uri`` and the certificates, on this stand-in."""
        base = request.host_url.rstrip("/")
        return json_response(
            200,
            {
                "issuer": GOOGLE_ISSUER,
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/oauth2/v3/certs",
                "response_types_supported": ["code", "token", "id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": [
                    "aud",
                    "azp",
                    "email",
                    "email_verified",
                    "exp",
                    "hd",
                    "iat",
                    "iss",
                    "sub",
                ],
            },
        )

    # --- GET /tokeninfo ------------------------------------------------------------------------

    def tokeninfo(self, request: Request) -> Response:
        state = self._state
        token = request.values.get("access_token", "")
        with state.lock:
            issued = state.live_token(token)
            status = 200 if issued is not None else 400
            state.record("tokeninfo", status)
            if issued is None:
                error = ServiceError.oauth(400, "invalid_token", "Invalid Value")
                return json_response(400, error.body())
            now = state.clock()
            return json_response(
                200,
                {
                    "azp": issued.client_id or issued.service_account,
                    "sub": issued.principal,
                    "email": issued.principal,
                    "scope": " ".join(issued.scopes),
                    "exp": str(int(issued.expires_at)),
                    "expires_in": str(max(0, int(issued.expires_at - now))),
                },
            )
