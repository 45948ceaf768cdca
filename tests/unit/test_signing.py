"""confsync.signing: the one implementation of the request signature scheme.

The scheme itself (formula, skew, rotation, malformed headers) is covered in depth by
``tests/emulators/conferencing/test_signing.py`` through the emulator's re-export; these tests
pin that the re-export is this module, that it stays importable by the deployed functions, one
round trip through the public functions and the replay refusals the method, target, host and
idempotency key exist for.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import sys
from pathlib import Path
from typing import TypedDict

import pytest

import conferencing_emulator.signing as emulator_signing
from confsync import signing

SECRET = b"s3cret"
BODY = '{"title":"Café"}'.encode()
NOW = 1_800_000_000
TARGET = "/v1/conferences/caf%C3%A9%2F1"
HOST = "conferencing.example:8443"
KEY = "confsync-0123"


class Fields(TypedDict):
    target: str
    host: str
    idempotency_key: str


FIELDS: Fields = {"target": TARGET, "host": HOST, "idempotency_key": KEY}


def test_emulator_reexports_the_same_objects() -> None:
    assert emulator_signing.__all__ == signing.__all__
    for name in signing.__all__:
        assert getattr(emulator_signing, name) is getattr(signing, name), name


def test_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(signing.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports would tie the module to a package"
            imported.add((node.module or "").split(".")[0])
    assert imported <= sys.stdlib_module_names | {"__future__"}


def test_round_trip_and_refusals() -> None:
    headers = signing.signed_headers(SECRET, BODY, method="put", now=NOW + 0.5, **FIELDS)
    timestamp = headers[signing.TIMESTAMP_HEADER]
    signature = headers[signing.SIGNATURE_HEADER]
    digest = hashlib.sha256(BODY).hexdigest()
    message = f"confsync-v2\n{NOW}\nPUT\n{TARGET}\n{HOST}\n{KEY}\n{digest}".encode()
    expected = hmac.new(SECRET, message, hashlib.sha256).hexdigest()
    assert signature == f"v2={expected}"
    assert signing.verify(SECRET, timestamp, signature, BODY, method="PUT", now=NOW, **FIELDS)
    assert not signing.verify(b"other", timestamp, signature, BODY, method="PUT", now=NOW, **FIELDS)
    assert not signing.verify(
        SECRET, timestamp, signature, BODY + b" ", method="PUT", now=NOW, **FIELDS
    )
    assert not signing.verify(
        SECRET,
        timestamp,
        signature,
        BODY,
        method="PUT",
        now=NOW + signing.TOLERANCE_SECONDS + 1,
        **FIELDS,
    )


@pytest.mark.parametrize(
    ("method", "target", "host", "key"),
    [
        pytest.param(
            "DELETE", "/v1/conferences/conf_a?revision=6", HOST, KEY, id="revision-5-to-6"
        ),
        pytest.param("PUT", "/v1/conferences/conf_a?revision=5", HOST, KEY, id="delete-to-put"),
        pytest.param("DELETE", "/v1/conferences/conf_b?revision=5", HOST, KEY, id="a-to-b"),
        pytest.param(
            "DELETE", "/v1/conferences/conf_a?revision=5", "other.example", KEY, id="other-host"
        ),
        pytest.param(
            "DELETE", "/v1/conferences/conf_a?revision=5", HOST, "confsync-new", id="fresh-key"
        ),
    ],
)
def test_captured_delete_cannot_be_replayed_elsewhere(
    method: str, target: str, host: str, key: str
) -> None:
    signed_target = "/v1/conferences/conf_a?revision=5"
    headers = signing.signed_headers(
        SECRET, b"", method="DELETE", target=signed_target, host=HOST, idempotency_key=KEY, now=NOW
    )
    timestamp = headers[signing.TIMESTAMP_HEADER]
    signature = headers[signing.SIGNATURE_HEADER]
    assert signing.verify(
        SECRET,
        timestamp,
        signature,
        b"",
        method="DELETE",
        target=signed_target,
        host=HOST,
        idempotency_key=KEY,
        now=NOW,
    )
    assert not signing.verify(
        SECRET,
        timestamp,
        signature,
        b"",
        method=method,
        target=target,
        host=host,
        idempotency_key=key,
        now=NOW,
    )


@pytest.mark.parametrize("order", ["old-first", "new-first"])
def test_rotation_one_of_several_values_suffices(order: str) -> None:
    secrets = (b"previous", SECRET) if order == "old-first" else (SECRET, b"previous")
    values = signing.signed_headers(secrets, BODY, method="PUT", now=NOW, **FIELDS)[
        signing.SIGNATURE_HEADER
    ]
    assert values.count("v2=") == 2
    for secret, expected in ((SECRET, True), (b"previous", True), (b"third", False)):
        verified = signing.verify(secret, NOW, values, BODY, method="PUT", now=NOW, **FIELDS)
        assert verified is expected, secret
