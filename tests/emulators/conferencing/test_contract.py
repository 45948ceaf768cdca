"""docs/conferencing-api.yaml against what the emulator serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conferencing_emulator.faults import FAULT_CODES
from conferencing_emulator.server import api_operations

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "conferencing-api.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


class Document:
    """The parts of the OpenAPI document the checks need."""

    def __init__(self, text: str) -> None:
        self.text = text
        tree: dict[str, Any] = yaml.safe_load(text)
        self.openapi = str(tree["openapi"])
        self.operations = {
            (method.upper(), path)
            for path, item in tree["paths"].items()
            for method in item
            if method in HTTP_METHODS
        }
        self.components = {
            (section, name) for section, entries in tree["components"].items() for name in entries
        }
        self._tree = tree

    def refs(self) -> set[str]:
        return set(_refs(self._tree))


@pytest.fixture(scope="module", name="document")
def fixture_document() -> Document:
    return Document(DOCUMENT.read_text(encoding="utf-8"))


def test_is_openapi_3_1(document: Document) -> None:
    assert document.openapi.startswith("3.1")


def test_every_served_operation_is_documented_and_vice_versa(document: Document) -> None:
    assert document.operations == api_operations()


def test_every_ref_resolves(document: Document) -> None:
    refs = document.refs()
    assert refs
    for ref in refs:
        prefix, section, name = ref.rsplit("/", 2)
        assert prefix == "#/components", ref
        assert (section, name) in document.components, ref


@pytest.mark.parametrize(
    "code",
    [
        "invalid_request",
        "unauthenticated",
        "bad_signature",
        "not_found",
        "method_not_allowed",
        "stale_revision",
        "conference_deleted",
        *FAULT_CODES.values(),
        "injected_fault",
    ],
)
def test_error_codes_are_documented(document: Document, code: str) -> None:
    assert f"- {code}\n" in document.text


def test_security_schemes_and_headers_are_documented(document: Document) -> None:
    assert ("securitySchemes", "bearer") in document.components
    for needle in (
        "X-Confsync-Timestamp",
        "X-Confsync-Signature",
        "Idempotency-Key",
        "Retry-After",
    ):
        assert needle in document.text
