"""confsync.signing: the one implementation of the request signature scheme.

The scheme itself (formula, skew, rotation, malformed headers) is covered in depth by
``tests/unit/conferencing_emulator/test_signing.py`` through the emulator's re-export; these tests
pin that the re-export is this module, that it stays importable by the deployed functions, and
one round trip through the public functions.
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
    headers = signing.signed_headers(SECRET, BODY, now=NOW + 0.5)
    timestamp = headers[signing.TIMESTAMP_HEADER]
    signature = headers[signing.SIGNATURE_HEADER]
    expected = hmac.new(SECRET, f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature == f"v1={expected}"
    assert signing.verify(SECRET, timestamp, signature, BODY, now=NOW)
    assert not signing.verify(b"other", timestamp, signature, BODY, now=NOW)
    assert not signing.verify(SECRET, timestamp, signature, BODY + b" ", now=NOW)
    assert not signing.verify(
        SECRET, timestamp, signature, BODY, now=NOW + signing.TOLERANCE_SECONDS + 1
    )


@pytest.mark.parametrize("order", ["old-first", "new-first"])
def test_rotation_one_of_several_values_suffices(order: str) -> None:
    new = signing.sign(SECRET, NOW, BODY)
    old = signing.sign(b"previous", NOW, BODY)
    values = [old, new] if order == "old-first" else [new, old]
    assert signing.verify(SECRET, NOW, ",".join(values), BODY, now=NOW)
    assert signing.verify(b"previous", NOW, ",".join(values), BODY, now=NOW)
    assert not signing.verify(b"third", NOW, ",".join(values), BODY, now=NOW)
