"""Structural checks of ``terraform/`` against the code, offline (no provider, no plan).

The Google provider cannot be downloaded here, so ``terraform validate`` / ``plan`` never run.
These tests parse the ``.tf`` files with python-hcl2 and check what the code relies on: entry
points, runtimes, triggers, environment variables (from :data:`confsync.config.VARIABLES`),
topics, service accounts and IAM, the scheduler's payload, Firestore composite indexes (from the
adapters' query-shape registries) and the source bucket.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

from confsync.adapters.firestore_channels import CHANNEL_QUERY_SHAPES
from confsync.adapters.firestore_store import QUERY_SHAPES, QueryShape
from confsync.config import VARIABLES
from confsync.messages import TickCommand, decode_channel_command

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
FUNCTIONS = ("channels", "intake", "sync")
PLATFORM_VARIABLES = frozenset({"LOG_EXECUTION_ID"})
"""Variables set for the platform (log correlation), not read by confsync's configuration."""
BROAD_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
EQUALITY_OPS = frozenset({"==", "in"})
ORDER_OPS = {"order-asc": "ASCENDING", "order-desc": "DESCENDING"}
REFERENCE = re.compile(r"^\$\{(?P<expr>[^{}]+)\}$")

Body = dict[str, Any]


# --- loading ---------------------------------------------------------------------------------


@functools.cache
def _module() -> dict[str, list[Body]]:
    """Every top-level block of every ``.tf`` file, by block type, quotes stripped."""
    options = SerializationOptions(strip_string_quotes=True)
    merged: dict[str, list[Body]] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle, serialization_options=options)
        for kind, blocks in parsed.items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


def _labelled(kind: str) -> Iterator[tuple[str, Body]]:
    """(label, body) of every ``kind`` block with one label (variable, output)."""
    for block in _module().get(kind, []):
        yield from block.items()


def resources(rtype: str) -> dict[str, Body]:
    """Resources of one type, by name."""
    found: dict[str, Body] = {}
    for block in _module().get("resource", []):
        for kind, named in block.items():
            if kind == rtype:
                found.update(named)
    return found


def all_resources() -> Iterator[tuple[str, str, Body]]:
    for block in _module().get("resource", []):
        for kind, named in block.items():
            for name, body in named.items():
                yield kind, name, body


def locals_() -> Body:
    merged: Body = {}
    for block in _module().get("locals", []):
        merged.update({k: v for k, v in block.items() if k != "__is_block__"})
    return merged


def one(body: Body, key: str) -> Body:
    """The single nested block ``key`` of ``body``."""
    blocks = body.get(key)
    assert isinstance(blocks, list), f"no {key} block"
    assert len(blocks) == 1, f"expected one {key} block"
    block = blocks[0]
    assert isinstance(block, dict)
    return block


def expression(value: object) -> str | None:
    """The expression inside ``${...}``, or None for a literal."""
    match = REFERENCE.match(value) if isinstance(value, str) else None
    return match.group("expr").strip() if match else None


def resolve(value: object) -> object:
    """A literal as is; ``${local.NAME}`` as the local's value."""
    expr = expression(value)
    if expr is not None and expr.startswith("local."):
        return locals_()[expr.removeprefix("local.")]
    return value


def function(name: str) -> Body:
    return resources("google_cloudfunctions2_function")[name]


def topic_names() -> dict[str, str]:
    """Topic resource name -> topic name (literal names only)."""
    return {
        resource: body["name"]
        for resource, body in resources("google_pubsub_topic").items()
        if expression(body["name"]) is None
    }


def topic_reference(topic: str, attribute: str) -> str:
    """``${google_pubsub_topic.<resource>.<attribute>}`` of the topic named ``topic``."""
    matching = [resource for resource, name in topic_names().items() if name == topic]
    assert len(matching) == 1, f"expected one google_pubsub_topic named {topic!r}"
    return f"${{google_pubsub_topic.{matching[0]}.{attribute}}}"


def default_of(variable: str) -> str:
    default = {v.name: v.default for v in VARIABLES}[variable]
    assert default is not None
    return default


def environment(name: str) -> tuple[dict[str, str], dict[str, Body]]:
    """(plain environment variables, secret environment variables by key) of a function."""
    service = one(function(name), "service_config")
    plain = service.get("environment_variables", {})
    secrets = {block["key"]: block for block in service.get("secret_environment_variables", [])}
    return plain, secrets


# --- functions -------------------------------------------------------------------------------


def test_the_three_functions_are_declared() -> None:
    assert sorted(resources("google_cloudfunctions2_function")) == list(FUNCTIONS)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_entry_point_exists_in_the_functions_main(name: str) -> None:
    target = one(function(name), "build_config")["entry_point"]
    assert target == name
    source = (ROOT / "functions" / name / "main.py").read_text(encoding="utf-8")
    assert re.search(rf"^def {re.escape(target)}\(", source, re.MULTILINE), (
        f"functions/{name}/main.py defines no {target}()"
    )


@pytest.mark.parametrize("name", FUNCTIONS)
def test_runtime_is_python_311_or_later(name: str) -> None:
    runtime = resolve(one(function(name), "build_config")["runtime"])
    match = re.fullmatch(r"python3(\d+)", str(runtime))
    assert match, runtime
    assert int(match.group(1)) >= 11, runtime


@pytest.mark.parametrize("name", FUNCTIONS)
def test_source_is_the_content_hashed_object_of_the_function(name: str) -> None:
    storage = one(one(one(function(name), "build_config"), "source"), "storage_source")
    assert storage["object"] == f'${{google_storage_bucket_object.source["{name}"].name}}'
    obj = resources("google_storage_bucket_object")["source"]
    assert "filesha256(each.value)" in obj["name"]
    sources = dict(_labelled("variable"))["function_sources"]["default"]
    assert sorted(sources) == list(FUNCTIONS)


def test_intake_is_http_and_public() -> None:
    intake = function("intake")
    assert "event_trigger" not in intake
    service = one(intake, "service_config")
    assert service["ingress_settings"] == "ALLOW_ALL"
    assert service["min_instance_count"] == "${var.intake_min_instances}"


@pytest.mark.parametrize(
    ("name", "topic_variable"),
    [("sync", "CONFSYNC_SYNC_TOPIC"), ("channels", "CONFSYNC_CHANNEL_COMMANDS_TOPIC")],
)
def test_event_functions_are_triggered_by_their_topic(name: str, topic_variable: str) -> None:
    trigger = one(function(name), "event_trigger")
    assert trigger["event_type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert trigger["pubsub_topic"] == topic_reference(default_of(topic_variable), "id")
    assert trigger["retry_policy"] == "RETRY_POLICY_RETRY"
    assert (
        trigger["service_account_email"]
        == one(function(name), "service_config")["service_account_email"]
    )
    assert one(function(name), "service_config")["ingress_settings"] == "ALLOW_INTERNAL_ONLY"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_required_variable_is_set(name: str) -> None:
    plain, secrets = environment(name)
    required = {v.name for v in VARIABLES if name in v.used_by and v.default is None}
    assert not required - (set(plain) | set(secrets)), f"{name} lacks required variables"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_no_function_gets_a_variable_it_does_not_read(name: str) -> None:
    plain, secrets = environment(name)
    read = {v.name for v in VARIABLES if name in v.used_by}
    extra = (set(plain) | set(secrets)) - read - PLATFORM_VARIABLES
    assert not extra, f"{name} is given variables it does not read: {sorted(extra)}"
    assert not set(plain) & set(secrets), "a variable is both plain and secret"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_variable_a_function_reads_is_set_explicitly(name: str) -> None:
    plain, secrets = environment(name)
    read = {v.name for v in VARIABLES if name in v.used_by}
    assert not read - (set(plain) | set(secrets)), f"{name}: {sorted(read - set(plain))}"
    assert plain["LOG_EXECUTION_ID"] == "true"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sync", {"CONFERENCING_CREDENTIAL", "CONFERENCING_SIGNING_SECRET"}),
        ("intake", {"CONFSYNC_CHANNEL_TOKEN_KEYS"}),
        ("channels", {"CONFSYNC_CHANNEL_TOKEN_KEYS"}),
    ],
)
def test_secrets_come_from_secret_manager(name: str, expected: set[str]) -> None:
    _, secrets = environment(name)
    assert set(secrets) == expected
    declared = resources("google_secret_manager_secret")
    for block in secrets.values():
        match = re.fullmatch(
            r'\$\{google_secret_manager_secret\.this\["(\w+)"\]\.secret_id\}', block["secret"]
        )
        assert match, block["secret"]
        assert match.group(1) in locals_()["secrets"], block["secret"]
        assert "this" in declared
        assert block["version"] == "latest"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_topic_variables_name_the_declared_topics(name: str) -> None:
    plain, _ = environment(name)
    for variable in ("CONFSYNC_SYNC_TOPIC", "CONFSYNC_CHANNEL_COMMANDS_TOPIC"):
        if variable in plain:
            assert plain[variable] == topic_reference(default_of(variable), "name")


# --- Pub/Sub ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["CONFSYNC_SYNC_TOPIC", "CONFSYNC_CHANNEL_COMMANDS_TOPIC"])
def test_every_topic_the_code_publishes_to_exists(variable: str) -> None:
    assert default_of(variable) in topic_names().values()


def test_dead_letters_have_a_topic_and_a_subscription_keeping_them() -> None:
    assert "dead_letter" in resources("google_pubsub_topic")
    subscriptions = resources("google_pubsub_subscription")
    assert any(
        body["topic"] == "${google_pubsub_topic.dead_letter.id}" for body in subscriptions.values()
    )
    publishers = [
        body
        for body in resources("google_pubsub_topic_iam_member").values()
        if body["topic"] == "${google_pubsub_topic.dead_letter.name}"
    ]
    assert publishers
    assert all(body["member"] == "${local.pubsub_agent}" for body in publishers)


# --- identities and IAM ----------------------------------------------------------------------


def test_each_function_has_its_own_service_account() -> None:
    emails = [one(function(name), "service_config")["service_account_email"] for name in FUNCTIONS]
    assert len(set(emails)) == len(FUNCTIONS)
    for name, email in zip(FUNCTIONS, emails, strict=True):
        assert email == f'${{google_service_account.function["{name}"].email}}'
    accounts = resources("google_service_account")["function"]
    assert accounts["for_each"] == "${local.functions}"
    assert set(re.findall(r'"(\w+)"', str(locals_()["functions"]))) == set(FUNCTIONS)
    assert "${var.prefix}" in accounts["account_id"]
    assert "each.key" in accounts["account_id"]


def test_no_binding_grants_a_basic_role() -> None:
    for kind, name, body in all_resources():
        if "iam" in kind:
            assert body.get("role") not in BROAD_ROLES, f"{kind}.{name} grants {body['role']}"
            for binding in body.get("binding", []):
                assert binding.get("role") not in BROAD_ROLES, f"{kind}.{name}"


def test_only_intake_is_public() -> None:
    public = [
        body["name"]
        for kind, _, body in all_resources()
        if "iam" in kind and body.get("member") in ("allUsers", "allAuthenticatedUsers")
    ]
    assert public == ["${google_cloudfunctions2_function.intake.name}"]


@pytest.mark.parametrize(
    ("name", "topics"),
    [
        ("intake", {"sync-requests"}),
        ("sync", {"sync-requests"}),
        ("channels", {"sync-requests", "channel-commands"}),
    ],
)
def test_publishers_are_exactly_the_functions_that_publish(name: str, topics: set[str]) -> None:
    member = f'${{google_service_account.function["{name}"].member}}'
    granted = {
        topic_names()[body["topic"].split(".")[1]]
        for body in resources("google_pubsub_topic_iam_member").values()
        if body["member"] == member and body["role"] == "roles/pubsub.publisher"
    }
    assert granted == topics


@pytest.mark.parametrize(("name", "expected"), [("sync", 2), ("intake", 1), ("channels", 1)])
def test_secret_access_only_for_the_secrets_a_function_reads(name: str, expected: int) -> None:
    member = f'${{google_service_account.function["{name}"].member}}'
    _, secrets = environment(name)
    bound = {
        body["secret_id"]
        for body in resources("google_secret_manager_secret_iam_member").values()
        if body["member"] == member
    }
    assert bound == {block["secret"] for block in secrets.values()}
    assert len(bound) == expected


# --- scheduler -------------------------------------------------------------------------------


def _scheduler_payload() -> object:
    target = one(resources("google_cloud_scheduler_job")["tick"], "pubsub_target")
    assert target["topic_name"] == topic_reference(
        default_of("CONFSYNC_CHANNEL_COMMANDS_TOPIC"), "id"
    )
    match = re.fullmatch(
        r"base64encode\(jsonencode\((local\.\w+)\)\)", expression(target["data"]) or ""
    )
    assert match, target["data"]
    return resolve(f"${{{match.group(1)}}}")


def test_scheduler_publishes_a_tick_to_channel_commands() -> None:
    assert _scheduler_payload() == {"v": 1, "command": "tick"}
    schedule = dict(_labelled("variable"))["tick_schedule"]["default"]
    assert schedule == "*/5 * * * *"


def test_the_tick_payload_decodes_once_it_carries_an_issue_time() -> None:
    payload = _scheduler_payload()
    assert isinstance(payload, dict)
    payload = {**payload, "issuedAt": "2026-01-01T00:00:00Z"}
    command = decode_channel_command(json.dumps(payload).encode())
    assert isinstance(command, TickCommand)


def test_the_scheduler_payload_decodes_to_a_tick() -> None:
    command = decode_channel_command(json.dumps(_scheduler_payload()).encode())
    assert isinstance(command, TickCommand)


# --- Firestore -------------------------------------------------------------------------------


def expected_index(shape: QueryShape) -> list[tuple[str, str]]:
    """The composite index a shape needs, as Firestore orders it: equality fields, then ordered
    fields (their direction), then the remaining range fields."""
    equality = [path for path, op in shape.fields if op in EQUALITY_OPS]
    ordered = [(path, ORDER_OPS[op]) for path, op in shape.fields if op in ORDER_OPS]
    ranged = [path for path, op in shape.fields if op not in EQUALITY_OPS and op not in ORDER_OPS]
    fields = [(path, "ASCENDING") for path in equality]
    fields += [(path, order) for path, order in ordered if path not in equality]
    seen = {path for path, _ in fields}
    fields += [(path, "ASCENDING") for path in dict.fromkeys(ranged) if path not in seen]
    return fields


def needs_composite_index(shape: QueryShape) -> bool:
    """More than one field: single-field shapes use Firestore's automatic indexes."""
    return len({path for path, _ in shape.fields}) > 1


def declared_indexes() -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (body["collection"], [(f["field_path"], f["order"]) for f in body["fields"]])
        for body in resources("google_firestore_index").values()
    ]


@pytest.mark.parametrize(
    "shape",
    [shape for shape in (*QUERY_SHAPES, *CHANNEL_QUERY_SHAPES) if needs_composite_index(shape)],
    ids=lambda shape: f"{shape.method}:{'+'.join(path for path, _ in shape.fields)}",
)
def test_every_composite_query_shape_has_an_index(shape: QueryShape) -> None:
    assert (shape.collection, expected_index(shape)) in declared_indexes()


def test_every_declared_index_serves_a_query_shape() -> None:
    wanted = [
        (shape.collection, expected_index(shape))
        for shape in (*QUERY_SHAPES, *CHANNEL_QUERY_SHAPES)
        if needs_composite_index(shape)
    ]
    for index in declared_indexes():
        assert index in wanted, f"index {index} serves no query shape"


def test_indexes_are_on_the_declared_database() -> None:
    for body in resources("google_firestore_index").values():
        assert body["database"] == "${google_firestore_database.main.name}"
    assert resources("google_firestore_database")["main"]["type"] == "FIRESTORE_NATIVE"


# --- storage and module hygiene --------------------------------------------------------------


def test_source_bucket_is_private_and_versioned() -> None:
    bucket = resources("google_storage_bucket")["sources"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert one(bucket, "versioning")["enabled"] is True


@pytest.mark.parametrize("kind", ["variable", "output"])
def test_variables_and_outputs_are_alphabetical_and_described(kind: str) -> None:
    labels = [label for label, _ in _labelled(kind)]
    assert labels == sorted(labels)
    for label, body in _labelled(kind):
        assert body.get("description"), f"{kind} {label} has no description"
        if kind == "variable":
            assert body.get("type"), f"variable {label} has no type"


def test_calendar_credentials_are_validated() -> None:
    variable = dict(_labelled("variable"))["calendar_credentials"]
    assert variable["default"] == "delegated"
    condition = variable["validation"][0]["condition"]
    for mode in ("emulator", "delegated", "oauth"):
        assert f'"{mode}"' in condition
