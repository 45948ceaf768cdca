"""confsync.signing: the one implementation of the request signature scheme.

The scheme itself (formula, skew, rotation, malformed headers) is covered in depth by
``tests/unit/conferencing_emulator/test_signing.py`` through the emulator's re-export; these tests
pin that the re-export is this module, that it stays importable by the deployed functions, one
round trip through the public functions and the replay refusals the method and target exist for.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import sys
from pathlib import Path

import pytest

import conferencing_emulator.signing as emulator_signing
from confsync import signing

SECRET = b"s3cret"
BODY = '{"title":"Café"}'.encode()
NOW = 1_800_000_000
TARGET = "/v1/conferences/caf%C3%A9%2F1"


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
    headers = signing.signed_headers(SECRET, BODY, method="put", target=TARGET, now=NOW + 0.5)
    timestamp = headers[signing.TIMESTAMP_HEADER]
    signature = headers[signing.SIGNATURE_HEADER]
    message = f"{NOW}\nPUT\n{TARGET}\n".encode() + BODY
    expected = hmac.new(SECRET, message, hashlib.sha256).hexdigest()
    assert signature == f"v1={expected}"
    assert signing.verify(SECRET, timestamp, signature, BODY, method="PUT", target=TARGET, now=NOW)
    assert not signing.verify(
        b"other", timestamp, signature, BODY, method="PUT", target=TARGET, now=NOW
    )
    assert not signing.verify(
        SECRET, timestamp, signature, BODY + b" ", method="PUT", target=TARGET, now=NOW
    )
    assert not signing.verify(
        SECRET,
        timestamp,
        signature,
        BODY,
        method="PUT",
        target=TARGET,
        now=NOW + signing.TOLERANCE_SECONDS + 1,
    )


@pytest.mark.parametrize(
    ("method", "target"),
    [
        pytest.param("DELETE", "/v1/conferences/conf_a?revision=6", id="revision-5-to-6"),
        pytest.param("PUT", "/v1/conferences/conf_a?revision=5", id="delete-to-put"),
        pytest.param("DELETE", "/v1/conferences/conf_b?revision=5", id="conference-a-to-b"),
    ],
)
def test_captured_delete_cannot_be_replayed_elsewhere(method: str, target: str) -> None:
    signed_target = "/v1/conferences/conf_a?revision=5"
    headers = signing.signed_headers(SECRET, b"", method="DELETE", target=signed_target, now=NOW)
    timestamp = headers[signing.TIMESTAMP_HEADER]
    signature = headers[signing.SIGNATURE_HEADER]
    assert signing.verify(
        SECRET, timestamp, signature, b"", method="DELETE", target=signed_target, now=NOW
    )
    assert not signing.verify(
        SECRET, timestamp, signature, b"", method=method, target=target, now=NOW
    )


@pytest.mark.parametrize("order", ["old-first", "new-first"])
def test_rotation_one_of_several_values_suffices(order: str) -> None:
    new = signing.sign(SECRET, NOW, BODY, method="PUT", target=TARGET)
    old = signing.sign(b"previous", NOW, BODY, method="PUT", target=TARGET)
    values = ",".join([old, new] if order == "old-first" else [new, old])
    for secret, expected in ((SECRET, True), (b"previous", True), (b"third", False)):
        verified = signing.verify(secret, NOW, values, BODY, method="PUT", target=TARGET, now=NOW)
        assert verified is expected, secret
