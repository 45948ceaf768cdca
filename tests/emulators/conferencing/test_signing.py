"""conferencing_emulator.signing: the HMAC scheme (v2) shared with confsync's adapter."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conferencing_emulator import signing

SECRET = b"s3cret"
BODY = b'{"revision": 1}'
NOW = 1_800_000_000
HOST = "conf.example.com"


class Request(TypedDict):
    method: str
    target: str
    host: str
    idempotency_key: str


PUT: Request = {
    "method": "PUT",
    "target": "/v1/conferences/conf_a",
    "host": HOST,
    "idempotency_key": "confsync-put-1",
}
DELETE_5: Request = {
    "method": "DELETE",
    "target": "/v1/conferences/conf_a?revision=5",
    "host": HOST,
    "idempotency_key": "confsync-delete-5",
}


def reference(
    secret: bytes,
    timestamp: int,
    body: bytes,
    *,
    method: str,
    target: str,
    host: str,
    idempotency_key: str,
) -> str:
    """The documented formula, computed independently of the module under test."""
    lines = [
        "confsync-v2",
        str(timestamp),
        method.upper(),
        target,
        host.lower(),
        idempotency_key,
        hashlib.sha256(body).hexdigest(),
    ]
    message = "\n".join(lines).encode()
    return "v2=" + hmac.new(secret, message, hashlib.sha256).hexdigest()


def test_sign_matches_the_documented_formula() -> None:
    message = (
        b"confsync-v2\n1800000000\nPUT\n/v1/conferences/conf_a\nconf.example.com\n"
        b"confsync-put-1\n" + hashlib.sha256(BODY).hexdigest().encode()
    )
    expected = hmac.new(SECRET, message, hashlib.sha256).hexdigest()
    assert signing.sign(SECRET, NOW, BODY, **PUT) == f"v2={expected}"
    assert signing.sign(SECRET, NOW, BODY, **PUT) == reference(SECRET, NOW, BODY, **PUT)


def test_known_vector() -> None:
    # HMAC-SHA256 over the message of a GET without key or body, computed independently.
    empty = hashlib.sha256(b"").hexdigest()
    message = f"confsync-v2\n0\nGET\n/\nh\n\n{empty}".encode()
    expected = hmac.new(b"key", message, hashlib.sha256).hexdigest()
    signed = signing.sign(b"key", 0, b"", method="GET", target="/", host="h", idempotency_key="")
    assert signed == "v2=" + expected


def test_query_is_signed_raw() -> None:
    request: Request = {**DELETE_5, "target": "/v1/conferences/conf%5Fa?revision=5&x=%2f"}
    assert signing.sign(SECRET, NOW, b"", **request) == reference(SECRET, NOW, b"", **request)


def test_method_and_host_are_case_folded() -> None:
    folded: Any = {**PUT, "method": "put", "host": HOST.upper()}
    lower = signing.sign(SECRET, NOW, BODY, **folded)
    assert lower == signing.sign(SECRET, NOW, BODY, **PUT)
    assert signing.verify(SECRET, NOW, lower, BODY, now=NOW, **PUT)


def test_v1_signature_is_refused() -> None:
    # The retired scheme: HMAC over timestamp, method, target and body, without host or key.
    message = f"{NOW}\nPUT\n{PUT['target']}\n".encode() + BODY
    old = "v1=" + hmac.new(SECRET, message, hashlib.sha256).hexdigest()
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
    "changed",
    [
        pytest.param({"target": "/v1/conferences/conf_a?revision=6"}, id="other-revision"),
        pytest.param({"target": "/v1/conferences/conf_a?revision=50"}, id="appended-digit"),
        pytest.param({"target": "/v1/conferences/conf_a?revision=5&revision=6"}, id="extra-param"),
        pytest.param({"target": "/v1/conferences/conf_a"}, id="query-dropped"),
        pytest.param({"target": "/v1/conferences/conf_b?revision=5"}, id="other-conference"),
        pytest.param({"method": "PUT"}, id="other-method"),
        pytest.param({"method": "GET"}, id="get"),
        pytest.param({"target": "/v1/conferences/conf%5Fa?revision=5"}, id="other-encoding"),
        pytest.param({"target": "/v1/conferences/conf_a/?revision=5"}, id="trailing-slash"),
        pytest.param({"host": "conf.example.org"}, id="other-host"),
        pytest.param({"host": "conf.example.com:8443"}, id="other-port"),
        pytest.param({"idempotency_key": "confsync-fresh"}, id="fresh-key"),
        pytest.param({"idempotency_key": ""}, id="key-dropped"),
    ],
)
def test_signature_is_bound_to_the_request(changed: dict[str, str]) -> None:
    signature = signing.sign(SECRET, NOW, b"", **DELETE_5)
    assert signing.verify(SECRET, NOW, signature, b"", now=NOW, **DELETE_5)
    replay: Any = {**DELETE_5, **changed}
    assert not signing.verify(SECRET, NOW, signature, b"", now=NOW, **replay)


def test_absent_key_is_the_empty_key() -> None:
    get: Request = {**PUT, "method": "GET", "idempotency_key": ""}
    signature = signing.sign(SECRET, NOW, b"", **get)
    absent: Any = {**get, "idempotency_key": None}
    assert signing.verify(SECRET, NOW, signature, b"", now=NOW, **absent)


def test_fields_cannot_be_shifted_across_separators() -> None:
    # Every field is newline-free and the body enters as a digest: no byte moves between fields.
    signature = signing.sign(SECRET, NOW, b"x", **PUT)
    shifted: Any = {**PUT, "target": "/a\nx"}
    with pytest.raises(ValueError, match="not an"):
        signing.sign(SECRET, NOW, b"", **shifted)
    assert not signing.verify(SECRET, NOW, signature, b"", now=NOW, **shifted)
    into_host: Any = {**PUT, "host": f"{HOST}\nconfsync-put-1"}
    assert not signing.verify(SECRET, NOW, signature, b"x", now=NOW, **into_host)


@pytest.mark.parametrize(
    "bad",
    [
        {"method": ""},
        {"method": "PU T"},
        {"method": "PUT\n"},
        {"target": ""},
        {"target": "v1/conferences"},
        {"target": "http://host/v1/conferences"},
        {"target": "/v1/conferences/a b"},
        {"target": "/v1/conferences/a\nb"},
        {"target": "/v1/conferences/café"},
        {"host": ""},
        {"host": "conf example"},
        {"host": "conf.example\n"},
        {"host": "cäf.example"},
        {"idempotency_key": "a b"},
        {"idempotency_key": "a\nb"},
    ],
)
def test_malformed_fields(bad: dict[str, str]) -> None:
    request: Any = {**PUT, **bad}
    with pytest.raises(ValueError, match=r"not an? "):
        signing.sign(SECRET, NOW, BODY, **request)
    with pytest.raises(ValueError, match=r"not an? "):
        signing.signed_headers(SECRET, BODY, now=NOW, **request)
    good = signing.sign(SECRET, NOW, BODY, **PUT)
    assert not signing.verify(SECRET, NOW, good, BODY, now=NOW, **request)


def test_fields_are_required_keywords() -> None:
    sign: Any = signing.sign
    verify: Any = signing.verify
    signed_headers: Any = signing.signed_headers
    with pytest.raises(TypeError):
        sign(SECRET, NOW, BODY, method="PUT", target="/v1/conferences/conf_a")
    with pytest.raises(TypeError):
        sign(SECRET, NOW, BODY, "PUT", "/v1/conferences/conf_a", HOST, "")
    with pytest.raises(TypeError):
        verify(SECRET, NOW, "v2=00", BODY, now=NOW, method="PUT", target="/v1/conferences/x")
    with pytest.raises(TypeError):
        signed_headers(SECRET, BODY)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        (None, "v2=00"),
        ("", "v2=00"),
        ("abc", "v2=00"),
        ("-5", "v2=00"),
        ("1e9", "v2=00"),
        (str(NOW), None),
        (str(NOW), ""),
        (str(NOW), "00"),
        (str(NOW), "v2=é"),
    ],
)
def test_verify_refuses_malformed_headers(timestamp: str | None, signature: str | None) -> None:
    assert not signing.verify(SECRET, timestamp, signature, BODY, now=NOW, **PUT)


def test_missing_host_is_refused() -> None:
    signature = signing.sign(SECRET, NOW, BODY, **PUT)
    no_host: Any = {**PUT, "host": None}
    assert not signing.verify(SECRET, NOW, signature, BODY, now=NOW, **no_host)


def test_wrong_scheme_is_refused() -> None:
    digest = signing.sign(SECRET, NOW, BODY, **PUT).removeprefix("v2=")
    for scheme in ("v0", "v1", "V2", "v3"):
        assert not signing.verify(SECRET, NOW, f"{scheme}={digest}", BODY, now=NOW, **PUT)


def test_one_of_several_signatures_suffices() -> None:
    good = signing.sign(SECRET, NOW, BODY, **PUT)
    old = signing.sign(b"previous", NOW, BODY, **PUT)
    assert signing.verify(SECRET, NOW, f"{old}, {good}", BODY, now=NOW, **PUT)
    assert not signing.verify(SECRET, NOW, old, BODY, now=NOW, **PUT)


def test_any_of_several_receiver_secrets_suffices() -> None:
    signature = signing.sign(b"new", NOW, BODY, **PUT)
    assert signing.verify((b"old", b"new"), NOW, signature, BODY, now=NOW, **PUT)
    assert signing.verify([b"new"], NOW, signature, BODY, now=NOW, **PUT)
    assert not signing.verify((b"old", b"other"), NOW, signature, BODY, now=NOW, **PUT)
    assert not signing.verify((), NOW, signature, BODY, now=NOW, **PUT)
    assert not signing.verify((b"",), NOW, signature, BODY, now=NOW, **PUT)


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


def test_signed_headers_with_several_secrets_carry_one_value_each() -> None:
    headers = signing.signed_headers((b"new", b"old"), BODY, now=NOW, **PUT)
    assert headers[signing.SIGNATURE_HEADER] == ",".join(
        [signing.sign(b"new", NOW, BODY, **PUT), signing.sign(b"old", NOW, BODY, **PUT)]
    )
    for receiver in (b"new", b"old"):
        assert signing.verify(
            receiver, NOW, headers[signing.SIGNATURE_HEADER], BODY, now=NOW, **PUT
        )


@pytest.mark.parametrize("secrets", [(), (b"",), (b"a", b"")])
def test_signing_needs_secrets(secrets: tuple[bytes, ...]) -> None:
    with pytest.raises(ValueError, match="secret"):
        signing.signed_headers(secrets, BODY, now=NOW, **PUT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("  ", ()),
        ("one", (b"one",)),
        ("new,old", (b"new", b"old")),
        (" new , old ,", (b"new", b"old")),
        ("same,same", (b"same",)),
        ("a b", (b"a b",)),  # one secret with a space, as before this scheme
        ("café", ("café".encode(),)),
    ],
)
def test_parse_secrets(text: str, expected: tuple[bytes, ...]) -> None:
    assert signing.parse_secrets(text) == expected


def test_parse_secrets_caps_how_many() -> None:
    assert len(signing.parse_secrets(",".join("abcd"))) == signing.MAX_SECRETS
    with pytest.raises(ValueError, match="at most"):
        signing.parse_secrets(",".join("abcde"))


# --- outside input: the headers a receiver decodes ------------------------------------------------

_HEADER_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Z", "Cc")),
    max_size=200,
)


@given(timestamp=_HEADER_TEXT | st.none(), signature=_HEADER_TEXT | st.none())
def test_arbitrary_headers_never_raise_and_never_verify(
    timestamp: str | None, signature: str | None
) -> None:
    assert not signing.verify(SECRET, timestamp, signature, BODY, now=NOW, **PUT)


@given(
    host=_HEADER_TEXT | st.none(),
    key=_HEADER_TEXT | st.none(),
    target=_HEADER_TEXT,
    method=_HEADER_TEXT,
)
def test_arbitrary_request_fields_never_raise(
    host: str | None, key: str | None, target: str, method: str
) -> None:
    signature = signing.sign(SECRET, NOW, BODY, **PUT)
    verified = signing.verify(
        SECRET,
        NOW,
        signature,
        BODY,
        now=NOW,
        method=method,
        target=target,
        host=host,
        idempotency_key=key,
    )
    same = (
        method.upper() == "PUT"
        and target == PUT["target"]
        and (host or "").lower() == HOST
        and (key or "") == PUT["idempotency_key"]
    )
    assert verified is same


@given(secrets=st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=4))
def test_every_sender_secret_verifies_alone(secrets: list[bytes]) -> None:
    headers = signing.signed_headers(secrets, BODY, now=NOW, **PUT)
    for secret in secrets:
        assert signing.verify(
            secret,
            headers[signing.TIMESTAMP_HEADER],
            headers[signing.SIGNATURE_HEADER],
            BODY,
            now=NOW,
            **PUT,
        )


_SECRET_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1, max_size=30
).filter(lambda text: "," not in text)


@given(secrets=st.lists(_SECRET_TEXT, min_size=1, max_size=signing.MAX_SECRETS, unique=True))
def test_parse_secrets_reads_back_what_was_joined(secrets: list[str]) -> None:
    joined = " , ".join(secrets)
    assert signing.parse_secrets(joined) == tuple(s.encode() for s in secrets)


@given(text=_HEADER_TEXT)
def test_parse_secrets_of_any_text_is_a_few_non_empty_secrets_or_refused(text: str) -> None:
    try:
        parsed = signing.parse_secrets(text)
    except ValueError:
        return
    assert len(parsed) <= signing.MAX_SECRETS
    assert all(secret and b"," not in secret for secret in parsed)
    assert len(set(parsed)) == len(parsed)
