"""RS256 JSON Web Tokens, enough for ``signJwt``, the JWT-bearer grant and OpenID Connect ID
tokens (RFC 7515, 7519), and the X.509 certificates and JSON Web Keys (RFC 7517) that publish
their keys.

Written against ``cryptography`` directly so the stand-in has no JWT library of its own to trust:
it must refuse exactly what Google refuses (a bad signature, an unknown key, a non-RS256 header).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

__all__ = [
    "JwtError",
    "SigningKey",
    "b64url",
    "decode_unverified",
    "jwk",
    "sign",
    "verify",
]


class JwtError(ValueError):
    """A token that is not a well-formed RS256 JWT, or whose signature does not verify."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as err:
        raise JwtError("a JWT segment is not base64url") from err


@dataclass(frozen=True)
class SigningKey:
    """One RSA key of a service account, with its key id (``kid``)."""

    key_id: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, key_id: str) -> SigningKey:
        return cls(key_id, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def private_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def certificate_pem(self, now: float) -> str:
        """A self-signed X.509 certificate of the public key, valid around ``now`` (Unix
        seconds): what Google's ``/oauth2/v1/certs`` publishes for each ``kid``."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.key_id)])
        at = datetime.fromtimestamp(now, UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(at - timedelta(days=1))
            .not_valid_after(at + timedelta(days=14))
            .sign(self.private_key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _uint_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def jwk(key: SigningKey) -> dict[str, str]:
    """The public key as a JSON Web Key (RFC 7517), as Google's ``/oauth2/v3/certs`` lists it."""
    numbers = key.private_key.public_key().public_numbers()
    return {
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "kid": key.key_id,
        "n": _uint_b64url(numbers.n),
        "e": _uint_b64url(numbers.e),
    }


def sign(key: SigningKey, claims: dict[str, Any]) -> str:
    """The compact RS256 JWS of ``claims``, naming ``key.key_id`` in its header."""
    header = {"alg": "RS256", "typ": "JWT", "kid": key.key_id}
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of ``token``, not yet verified (to find the key that must verify it)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("a JWT has three dot-separated segments")
    try:
        header = json.loads(_unb64url(parts[0]))
        claims = json.loads(_unb64url(parts[1]))
    except (ValueError, UnicodeDecodeError) as err:
        raise JwtError("a JWT header or claim set is not JSON") from err
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtError("a JWT header and claim set are JSON objects")
    return header, claims


def verify(token: str, key: SigningKey) -> dict[str, Any]:
    """The claims of ``token`` if ``key`` signed it with RS256; JwtError otherwise."""
    header, claims = decode_unverified(token)
    if header.get("alg") != "RS256":
        raise JwtError("only RS256 is accepted")
    signing_input, _, signature = token.rpartition(".")
    try:
        key.private_key.public_key().verify(
            _unb64url(signature), signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as err:
        raise JwtError("invalid JWT signature") from err
    return claims
