"""conferencing_emulator.signing: the HMAC scheme shared with confsync's adapter."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, TypedDict

import pytest

from conferencing_emulator import signing

SECRET = b"s3cret"
BODY = b'{"revision": 1}'
NOW = 1_800_000_000


class Request(TypedDict):
    method: str
    target: str


PUT: Request = {"method": "PUT", "target": "/v1/conferences/conf_a"}
DELETE_5: Request = {"method": "DELETE", "target": "/v1/conferences/conf_a?revision=5"}


def reference(secret: bytes, timestamp: int, method: str, target: str, body: bytes) -> str:
    """The documented formula, computed independently of the module under test."""
    message = f"{timestamp}\n{method}\n{target}\n".encode() + body
    return "v1=" + hmac.new(secret, message, hashlib.sha256).hexdigest()


def test_sign_matches_the_documented_formula() -> None:
    message = b"1800000000\nPUT\n/v1/conferences/conf_a\n" + BODY
    expected = hmac.new(SECRET, message, hashlib.sha256).hexdigest()
    assert signing.sign(SECRET, NOW, BODY, **PUT) == f"v1={expected}"
    assert signing.sign(SECRET, NOW, BODY, **PUT) == signing.sign(SECRET, NOW, BODY, **PUT).lower()


def test_known_vector() -> None:
    # HMAC-SHA256(key=b"key", b"0\nGET\n/\n") computed independently of the module under test.
    expected = hmac.new(b"key", b"0\nGET\n/\n", hashlib.sha256).hexdigest()
    assert signing.sign(b"key", 0, b"", method="GET", target="/") == "v1=" + expected


def test_query_is_signed_raw() -> None:
    target = "/v1/conferences/conf%5Fa?revision=5&x=%2f"
    assert signing.sign(SECRET, NOW, b"", method="DELETE", target=target) == reference(
        SECRET, NOW, "DELETE", target, b""
    )


def test_method_is_upper_cased() -> None:
    lower = signing.sign(SECRET, NOW, BODY, method="put", target=PUT["target"])
    assert lower == signing.sign(SECRET, NOW, BODY, **PUT)
    assert signing.verify(SECRET, NOW, lower, BODY, now=NOW, **PUT)


def test_old_scheme_signature_is_refused() -> None:
    old = "v1=" + hmac.new(SECRET, f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert not signing.verify(SECRET, NOW, old, BODY, now=NOW, **PUT)


def test_verify_accepts_a_fresh_signature() -> None:
    signature = signing.sign(SECRET, NOW, BODY, **PUT)
    assert signing.verify(SECRET, str(NOW), signature, BODY, now=NOW, **PUT)
    assert signing.verify(SECRET, NOW, signature, BODY, now=NOW + 300, **PUT)
    assert signing.verify(SECRET, NOW, signature, BODY, now=NOW - 300, **PUT)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "now"),
    [
        (b"other", NOW, BODY, NOW),  # wrong secret
        (SECRET, NOW, BODY + b" ", NOW),  # tampered body
        (SECRET, NOW, BODY, NOW + 301),  # too old
        (SECRET, NOW, BODY, NOW - 301),  # from the future
        (SECRET, NOW + 1, BODY, NOW),  # timestamp changed after signing
    ],
)
def test_verify_refuses(secret: bytes, timestamp: int, body: bytes, now: int) -> None:
    signature = signing.sign(SECRET, NOW, BODY, **PUT)
    assert not signing.verify(secret, timestamp, signature, body, now=now, **PUT)


@pytest.mark.parametrize(
    ("method", "target"),
    [
        pytest.param("DELETE", "/v1/conferences/conf_a?revision=6", id="other-revision"),
        pytest.param("DELETE", "/v1/conferences/conf_a?revision=50", id="appended-digit"),
        pytest.param("DELETE", "/v1/conferences/conf_a?revision=5&revision=6", id="extra-param"),
        pytest.param("DELETE", "/v1/conferences/conf_a", id="query-dropped"),
        pytest.param("DELETE", "/v1/conferences/conf_b?revision=5", id="other-conference"),
        pytest.param("PUT", "/v1/conferences/conf_a?revision=5", id="other-method"),
        pytest.param("GET", "/v1/conferences/conf_a?revision=5", id="get"),
        pytest.param("DELETE", "/v1/conferences/conf%5Fa?revision=5", id="other-encoding"),
        pytest.param("DELETE", "/v1/conferences/conf_a/?revision=5", id="trailing-slash"),
    ],
)
def test_signature_is_bound_to_method_and_target(method: str, target: str) -> None:
    signature = signing.sign(SECRET, NOW, b"", **DELETE_5)
    assert signing.verify(SECRET, NOW, signature, b"", now=NOW, **DELETE_5)
    assert not signing.verify(SECRET, NOW, signature, b"", now=NOW, method=method, target=target)


def test_put_signature_is_refused_for_delete_of_the_same_conference() -> None:
    signature = signing.sign(SECRET, NOW, b"", **PUT)
    assert not signing.verify(
        SECRET, NOW, signature, b"", now=NOW, method="DELETE", target=PUT["target"]
    )


def test_fields_cannot_be_shifted_across_separators() -> None:
    # Without unambiguous separators, moving bytes between target and body could keep the message.
    signature = signing.sign(SECRET, NOW, b"x", method="PUT", target="/a")
    assert not signing.verify(SECRET, NOW, signature, b"", now=NOW, method="PUT", target="/a\nx")
    assert not signing.verify(SECRET, NOW, signature, b"\nx", now=NOW, method="PUT", target="/a")


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("", "/v1/conferences"),
        ("PU T", "/v1/conferences"),
        ("PUT\n", "/v1/conferences"),
        ("PUT", ""),
        ("PUT", "v1/conferences"),
        ("PUT", "http://host/v1/conferences"),
        ("PUT", "/v1/conferences/a b"),
        ("PUT", "/v1/conferences/a\nb"),
        ("PUT", "/v1/conferences/café"),
    ],
)
def test_malformed_method_or_target(method: str, target: str) -> None:
    with pytest.raises(ValueError, match="not an"):
        signing.sign(SECRET, NOW, BODY, method=method, target=target)
    with pytest.raises(ValueError, match="not an"):
        signing.signed_headers(SECRET, BODY, method=method, target=target, now=NOW)
    good = signing.sign(SECRET, NOW, BODY, **PUT)
    assert not signing.verify(SECRET, NOW, good, BODY, now=NOW, method=method, target=target)


def test_method_and_target_are_required_keywords() -> None:
    sign: Any = signing.sign
    verify: Any = signing.verify
    signed_headers: Any = signing.signed_headers
    with pytest.raises(TypeError):
        sign(SECRET, NOW, BODY)
    with pytest.raises(TypeError):
        sign(SECRET, NOW, BODY, "PUT", "/v1/conferences/conf_a")
    with pytest.raises(TypeError):
        verify(SECRET, NOW, "v1=00", BODY, now=NOW)
    with pytest.raises(TypeError):
        signed_headers(SECRET, BODY)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        (None, "v1=00"),
        ("", "v1=00"),
        ("abc", "v1=00"),
        ("-5", "v1=00"),
        ("1e9", "v1=00"),
        (str(NOW), None),
        (str(NOW), ""),
        (str(NOW), "00"),
    ],
)
def test_verify_refuses_malformed_headers(timestamp: str | None, signature: str | None) -> None:
    assert not signing.verify(SECRET, timestamp, signature, BODY, now=NOW, **PUT)


def test_wrong_scheme_is_refused() -> None:
    digest = signing.sign(SECRET, NOW, BODY, **PUT).removeprefix("v1=")
    assert not signing.verify(SECRET, NOW, f"v0={digest}", BODY, now=NOW, **PUT)


def test_one_of_several_signatures_suffices() -> None:
    good = signing.sign(SECRET, NOW, BODY, **PUT)
    old = signing.sign(b"previous", NOW, BODY, **PUT)
    assert signing.verify(SECRET, NOW, f"{old}, {good}", BODY, now=NOW, **PUT)
    assert not signing.verify(SECRET, NOW, old, BODY, now=NOW, **PUT)


def test_custom_tolerance() -> None:
    signature = signing.sign(SECRET, NOW, BODY, **PUT)
    assert not signing.verify(
        SECRET, NOW, signature, BODY, now=NOW + 11, tolerance_seconds=10, **PUT
    )


def test_signed_headers() -> None:
    headers = signing.signed_headers(SECRET, BODY, now=NOW + 0.9, **PUT)
    assert headers == {
        "X-Confsync-Timestamp": str(NOW),
        "X-Confsync-Signature": signing.sign(SECRET, NOW, BODY, **PUT),
    }
    assert signing.verify(
        SECRET,
        headers[signing.TIMESTAMP_HEADER],
        headers[signing.SIGNATURE_HEADER],
        BODY,
        now=NOW,
        **PUT,
    )
