"""docs/conferencing-api.yaml against what the emulator serves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conferencing_emulator.batch import BATCH_FIELD, MAX_BATCH_IDS, summary
from conferencing_emulator.faults import FAULT_CODES
from conferencing_emulator.model import OWNER_FIELD, READ_ONLY_FIELDS, STATE_FIELDS, Conference
from conferencing_emulator.server import api_operations
from conferencing_emulator.store import Store
from confsync.conference import CONFERENCE_ID_PATTERN

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
        self.tree = tree

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


# --- the schemas against the emulator's model ---------------------------------------------------


def _schema(document: Document, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document.tree["components"]["schemas"][name]
    return schema


def _declared(document: Document, name: str) -> set[str]:
    """Every property a schema declares, through its ``allOf`` and ``$ref`` parts."""
    schema = _schema(document, name)
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", ()):
        if "$ref" in part:
            names |= _declared(document, part["$ref"].rsplit("/", 1)[1])
        names |= set(part.get("properties", {}))
    return names


def _served_conference() -> dict[str, Any]:
    served = Conference(id="conf_0", join_url="u", created_at="t", updated_at="t")
    return served.to_json()


def test_the_conference_schema_lists_exactly_what_the_emulator_returns(document: Document) -> None:
    schema = _schema(document, "Conference")
    served = set(_served_conference())
    assert set(schema["properties"]) == served
    assert set(schema["required"]) == served


def test_create_declares_exactly_the_fields_the_emulator_accepts(document: Document) -> None:
    accepted = {*STATE_FIELDS, *READ_ONLY_FIELDS, OWNER_FIELD, "revision", "changedFields"}
    assert _declared(document, "ConferenceCreate") == accepted
    assert _schema(document, "ConferenceCreate")["unevaluatedProperties"] is False


def test_put_declares_the_same_fields_owner_included(document: Document) -> None:
    assert _declared(document, "ConferencePut") == _declared(document, "ConferenceCreate")
    put_own = _schema(document, "ConferencePut")["allOf"][-1]
    assert OWNER_FIELD not in put_own["required"]
    assert "ignored" in put_own["properties"][OWNER_FIELD]["description"]


def test_owner_is_an_optional_nullable_e_mail_address(document: Document) -> None:
    owner = _schema(document, "Owner")
    assert owner["type"] == ["string", "null"]
    assert owner["format"] == "email"
    create_own = _schema(document, "ConferenceCreate")["allOf"][-1]
    assert create_own["properties"][OWNER_FIELD] == {"$ref": "#/components/schemas/Owner"}
    assert OWNER_FIELD not in create_own.get("required", [])
    conference = _schema(document, "Conference")
    assert conference["properties"][OWNER_FIELD] == {"$ref": "#/components/schemas/Owner"}
    assert "## Owner" in document.text


def test_conference_ids_the_emulator_assigns_match_the_documented_pattern(
    document: Document,
) -> None:
    parameter = document.tree["components"]["parameters"]["ConferenceId"]
    pattern = parameter["schema"]["pattern"]
    assert pattern == _schema(document, "Conference")["properties"]["id"]["pattern"]
    assert pattern == "^" + CONFERENCE_ID_PATTERN.pattern + "$"
    for _ in range(20):
        assert re.fullmatch(pattern, Store().create({}).id)


def test_the_batch_read_is_documented_as_the_emulator_serves_it(document: Document) -> None:
    served = summary(Conference(id="conf_0", join_url="u", created_at="t", updated_at="t"))
    answered = _schema(document, "ConferenceSummary")
    assert set(answered["properties"]) == set(answered["required"]) == set(served)
    ids = _schema(document, "BatchGetRequest")["properties"][BATCH_FIELD]
    assert (ids["minItems"], ids["maxItems"]) == (1, MAX_BATCH_IDS)
    assert ids["items"]["pattern"] == "^" + CONFERENCE_ID_PATTERN.pattern + "$"
    assert set(_schema(document, "BatchGetAnswer")["required"]) == {"conferences", "missing"}
    assert "## Batch reads (optional, since 2.1.0)" in document.text
