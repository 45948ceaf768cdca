"""Structural checks of ``terraform/`` against the code, offline (no provider, no plan).

The Google provider cannot be downloaded here, so ``terraform validate`` / ``plan`` never run.
These tests parse the root module and ``modules/function`` with python-hcl2 and check what the
code relies on: entry points, runtimes, triggers, environment variables (from
:data:`confsync.config.VARIABLES`), secrets, topics, service accounts and IAM, the build's
identity, the Calendar credential modes, the scheduler's payload, Firestore composite indexes
(from the adapters' query-shape registries), the source bucket, the outputs ``make deploy``
reads, and that every reference names something declared (what ``validate`` would catch first).
"""

from __future__ import annotations

import json
import re

import pytest

from confsync.adapters.firestore_channels import CHANNEL_QUERY_SHAPES
from confsync.adapters.firestore_store import QUERY_SHAPES, QueryShape
from confsync.adapters.google_credentials import CALENDAR_SCOPES
from confsync.cli.status import STATUS_QUERY_SHAPES
from confsync.config import CREDENTIAL_MODES, VARIABLES
from confsync.messages import TickCommand, decode_channel_command

from .hcl import (
    ROOT,
    Body,
    Module,
    dynamic,
    expression,
    function_calls,
    function_module,
    function_resource,
    module_environment,
    one,
    resolve_map,
    root,
    strings,
)

FUNCTIONS = ("channels", "intake", "sync")
EVENT_FUNCTIONS = ("channels", "sync")
PUSHED = {"sync": "CONFSYNC_SYNC_TOPIC", "channels": "CONFSYNC_CHANNEL_COMMANDS_TOPIC"}
"""The functions a Pub/Sub push subscription feeds, and the variable naming their topic."""
CALENDAR_FUNCTIONS = ("channels", "sync")
PLATFORM_VARIABLES = frozenset({"LOG_EXECUTION_ID", "THREADS"})
"""Variables set for the platform (log correlation, functions-framework's threads), not read by
confsync's configuration."""
BROAD_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
EQUALITY_OPS = frozenset({"==", "in"})
ORDER_OPS = {"order-asc": "ASCENDING", "order-desc": "DESCENDING"}
ARRAY_OPS = frozenset({"array-contains", "array-contains-any"})
"""Filters on an array's members: a composite index holds such a field as ``array_config =
"CONTAINS"``, not ordered."""
OAUTH_SECRET_VARIABLES = {
    "CONFSYNC_OAUTH_CLIENT_SECRET": "oauth_client_secret",
    "CONFSYNC_OAUTH_TOKEN_KEY": "oauth_token_key",
}
"""The secret environment variables of the ``oauth`` mode, and the secret each comes from."""


def call(name: str) -> Body:
    return function_calls()[name]


def environment(name: str) -> tuple[dict[str, str], dict[str, str]]:
    """(plain, secret) environment variables of a function, by name."""
    return module_environment(call(name))


def member(name: str) -> str:
    return f"${{module.{name}.service_account_member}}"


def topic_names() -> dict[str, str]:
    """Topic resource name -> topic name (literal names only)."""
    return {
        resource: body["name"]
        for resource, body in root().resources("google_pubsub_topic").items()
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


def secret_key(secret_id: str) -> str:
    """The ``google_secret_manager_secret.this`` key a secret environment variable reads."""
    match = re.fullmatch(
        r'\$\{google_secret_manager_secret\.this\["(\w+)"\]\.secret_id\}', secret_id
    )
    assert match, secret_id
    return match.group(1)


def oauth_only(value: str) -> str:
    """The secret key of a value given only when the mode is oauth (null otherwise)."""
    match = re.fullmatch(
        r'\$\{local\.oauth \? google_secret_manager_secret\.this\["(\w+)"\]\.secret_id : null\}',
        value,
    )
    assert match, f"not an oauth-only secret: {value}"
    return match.group(1)


def iam_bindings(module: Module) -> list[tuple[str, str, Body]]:
    return [(kind, name, body) for kind, name, body in module.all_resources() if "iam" in kind]


# --- the function module -----------------------------------------------------------------------


def test_the_three_functions_are_calls_of_the_function_module() -> None:
    assert sorted(function_calls()) == list(FUNCTIONS)
    assert not root().resources("google_cloudfunctions2_function"), "declare functions via module"
    for name in FUNCTIONS:
        assert call(name)["name"] == f"${{var.prefix}}-{name}"


def test_module_calls_pass_only_declared_variables_and_every_required_one() -> None:
    variables = function_module().labelled("variable")
    required = {name for name, body in variables.items() if "default" not in body}
    meta = {"source", "depends_on"}
    for name, body in function_calls().items():
        given = {key for key in body if not key.startswith("__")} - meta
        assert not given - set(variables), f"{name}: unknown {sorted(given - set(variables))}"
        assert not required - given, f"{name}: missing {sorted(required - given)}"


def test_the_function_is_wired_to_the_modules_inputs() -> None:
    function = function_resource()
    build = one(function, "build_config")
    assert build["entry_point"] == "${var.entry_point}"
    assert build["runtime"] == "${var.runtime}"
    service = one(function, "service_config")
    assert service["environment_variables"] == "${local.environment_variables}"
    assert service["service_account_email"] == "${google_service_account.this.email}"
    assert service["ingress_settings"] == "${var.service.ingress_settings}"
    assert service["min_instance_count"] == "${var.service.min_instance_count}"
    secrets = dynamic(service, "secret_environment_variables")
    assert secrets["for_each"] == "${local.secret_environment_variables}"
    content = one(secrets, "content")
    assert content["key"] == "${secret_environment_variables.key}"
    assert content["secret"] == "${secret_environment_variables.value}"
    assert content["version"] == "latest"


def test_null_environment_values_are_left_out_by_the_module() -> None:
    module_locals = function_module().locals()
    assert "if value != null" in module_locals["environment_variables"]
    assert "local.platform_environment" in module_locals["environment_variables"]
    assert "if secret != null" in module_locals["secret_environment_variables"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_entry_point_exists_in_the_functions_main(name: str) -> None:
    target = call(name)["entry_point"]
    assert target == name
    source = (ROOT / "functions" / name / "main.py").read_text(encoding="utf-8")
    assert re.search(rf"^def {re.escape(target)}\(", source, re.MULTILINE), (
        f"functions/{name}/main.py defines no {target}()"
    )


@pytest.mark.parametrize("name", FUNCTIONS)
def test_runtime_is_python_311_or_later(name: str) -> None:
    runtime = call(name)["runtime"]
    if expression(runtime) == "local.runtime":
        runtime = root().local("runtime")
    match = re.fullmatch(r"python3(\d+)", str(runtime))
    assert match, runtime
    assert int(match.group(1)) >= 11, runtime


@pytest.mark.parametrize("name", FUNCTIONS)
def test_source_is_the_content_hashed_zip_of_the_function(name: str) -> None:
    assert call(name)["source_zip"] == f'${{var.function_sources["{name}"]}}'
    obj = function_module().resources("google_storage_bucket_object")["source"]
    assert "filesha256(var.source_zip)" in obj["name"]
    storage = one(one(one(function_resource(), "build_config"), "source"), "storage_source")
    assert storage["object"] == "${google_storage_bucket_object.source.name}"
    sources = root().labelled("variable")["function_sources"]["default"]
    assert sorted(sources) == list(FUNCTIONS)


def test_intake_is_http_and_public() -> None:
    intake = call("intake")
    assert "event_trigger" not in intake
    assert intake["service"]["ingress_settings"] == "ALLOW_ALL"
    assert intake["service"]["min_instance_count"] == "${var.intake_min_instances}"


def test_no_function_has_an_eventarc_trigger() -> None:
    for name in FUNCTIONS:
        assert "event_trigger" not in call(name)
    assert "event_trigger" not in function_resource()
    assert not [
        block for block in function_resource().get("dynamic", []) if "event_trigger" in block
    ]
    assert "event_trigger" not in function_module().labelled("variable")


@pytest.mark.parametrize(("name", "topic_variable"), PUSHED.items())
def test_pubsub_fed_functions_are_internal_only(name: str, topic_variable: str) -> None:
    assert topic_variable
    assert call(name)["service"]["ingress_settings"] == "ALLOW_INTERNAL_ONLY"


def test_concurrency_and_cpu_are_wired_to_the_service() -> None:
    service = one(function_resource(), "service_config")
    assert service["max_instance_request_concurrency"] == "${var.service.concurrency}"
    assert service["available_cpu"] == "${var.service.cpu}"
    assert function_module().local("platform_environment")["THREADS"] == (
        "${tostring(var.service.concurrency)}"
    )
    conditions = [
        v["condition"] for v in function_module().labelled("variable")["service"]["validation"]
    ]
    assert any(
        "var.service.concurrency == 1 ||" in c and "tonumber(var.service.cpu) >= 1" in c
        for c in conditions
    ), "concurrency above 1 must require a whole vCPU"


def test_intake_serves_many_requests_per_instance_on_a_whole_vcpu() -> None:
    service = call("intake")["service"]
    assert service["concurrency"] == "${var.intake_concurrency}"
    assert service["max_instance_count"] == "${var.intake_max_instances}"
    assert service["cpu"] == "1"
    variables = root().labelled("variable")
    concurrency = variables["intake_concurrency"]["default"]
    instances = variables["intake_max_instances"]["default"]
    assert concurrency >= 80, "one request at a time lets a flood fill every instance"
    assert concurrency * instances >= 8000, "notifications in flight before a genuine one waits"
    for name in PUSHED:  # sync and channels keep one message per instance
        assert "concurrency" not in call(name)["service"]


# --- environment ---------------------------------------------------------------------------------


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
    missing = read - set(plain) - set(secrets)
    assert not missing, f"{name}: {sorted(missing)}"
    assert plain["LOG_EXECUTION_ID"] == "true"


@pytest.mark.parametrize(
    ("name", "always"),
    [
        ("sync", {"CONFERENCING_CREDENTIAL", "CONFERENCING_SIGNING_SECRET"}),
        ("intake", {"CONFSYNC_CHANNEL_TOKEN_KEYS"}),
        ("channels", {"CONFSYNC_CHANNEL_TOKEN_KEYS"}),
    ],
)
def test_secrets_come_from_secret_manager(name: str, always: set[str]) -> None:
    _, secrets = environment(name)
    oauth = set(OAUTH_SECRET_VARIABLES) if name in CALENDAR_FUNCTIONS else set()
    assert set(secrets) == always | oauth
    declared = root().local("core_secrets") | root().local("oauth_secrets")
    for variable in always:
        assert secret_key(secrets[variable]) in root().local("core_secrets"), variable
    for variable in oauth:
        assert oauth_only(secrets[variable]) == OAUTH_SECRET_VARIABLES[variable]
        assert OAUTH_SECRET_VARIABLES[variable] in declared


@pytest.mark.parametrize("name", FUNCTIONS)
def test_topic_variables_name_the_declared_topics(name: str) -> None:
    plain, _ = environment(name)
    for variable in ("CONFSYNC_SYNC_TOPIC", "CONFSYNC_CHANNEL_COMMANDS_TOPIC"):
        if variable in plain:
            assert plain[variable] == topic_reference(default_of(variable), "name")


# --- Calendar credentials -------------------------------------------------------------------------


def test_calendar_credentials_are_validated() -> None:
    variable = root().labelled("variable")["calendar_credentials"]
    assert variable["default"] == "delegated"
    condition = variable["validation"][0]["condition"]
    for mode in CREDENTIAL_MODES:
        assert f'"{mode}"' in condition
    checks = one(root().resources("terraform_data")["calendar_credentials"], "lifecycle")
    conditions = [check["condition"] for check in checks["precondition"]]
    assert any("emulator" in c and "var.calendar_api_url" in c for c in conditions)
    assert any("oauth" in c and "var.oauth_client_id" in c for c in conditions)


@pytest.mark.parametrize("name", CALENDAR_FUNCTIONS)
def test_calendar_settings_follow_the_mode(name: str) -> None:
    plain, _ = environment(name)
    assert plain["CONFSYNC_CALENDAR_CREDENTIALS"] == "${var.calendar_credentials}"
    assert plain["CONFSYNC_DELEGATION_SERVICE_ACCOUNT"] == (
        '${local.delegated ? google_service_account.calendar[0].email : ""}'
    )
    assert plain["CONFSYNC_OAUTH_CLIENT_ID"] == '${local.oauth ? var.oauth_client_id : ""}'
    for variable in ("GOOGLE_TOKEN_URL", "IAM_CREDENTIALS_URL"):
        assert plain[variable] == default_of(variable), f"{variable} must keep Google's endpoint"


def test_the_modes_are_the_codes_modes() -> None:
    modes = root().locals()
    assert modes["delegated"] == '${var.calendar_credentials == "delegated"}'
    assert modes["oauth"] == '${var.calendar_credentials == "oauth"}'


def test_delegated_mode_has_a_keyless_calendar_account_only_sync_and_channels_may_sign_as() -> None:
    account = root().resources("google_service_account")["calendar"]
    assert account["count"] == "${local.delegated ? 1 : 0}"
    assert account["account_id"] == "${var.prefix}-calendar"
    assert not root().resources("google_service_account_key"), "no key files"
    callers = resolve_map(root(), "${local.calendar_callers}")
    assert callers == {name: member(name) for name in CALENDAR_FUNCTIONS}
    grant = root().resources("google_service_account_iam_member")["calendar_token_creator"]
    assert grant["for_each"].endswith("if local.delegated}}")
    assert "local.calendar_callers" in grant["for_each"]
    assert grant["role"] == "roles/iam.serviceAccountTokenCreator"
    assert grant["service_account_id"] == "${google_service_account.calendar[0].name}"
    token_creators = {
        name: (body["service_account_id"], body["member"])
        for _, name, body in iam_bindings(root())
        if body.get("role") == "roles/iam.serviceAccountTokenCreator"
    }
    assert token_creators.pop("calendar_token_creator")
    # the other: Pub/Sub minting the push requests' OIDC tokens, on the push account only
    assert token_creators == {
        "pubsub_agent_push_token_creator": (
            "${google_service_account.push.name}",
            "${local.pubsub_agent}",
        )
    }
    assert "iamcredentials.googleapis.com" in root().local("services")
    assert "local.delegated" in root().local("services")


def test_delegation_outputs_tell_the_administrator_what_to_authorize() -> None:
    outputs = root().labelled("output")
    client_id = outputs["delegation_client_id"]["value"]
    assert client_id == "${local.delegated ? google_service_account.calendar[0].unique_id : null}"
    assert tuple(root().local("calendar_scopes")) == CALENDAR_SCOPES
    assert (
        outputs["delegation_scopes"]["value"] == "${local.delegated ? local.calendar_scopes : []}"
    )


def test_oauth_mode_secrets_exist_only_in_oauth_mode() -> None:
    assert set(root().local("oauth_secrets")) == set(OAUTH_SECRET_VARIABLES.values())
    secrets = root().local("secrets")
    assert secrets.startswith("${merge(local.core_secrets,")
    assert "local.oauth_secrets" in secrets
    assert secrets.rstrip("})").endswith("if local.oauth")
    assert root().resources("google_secret_manager_secret")["this"]["for_each"] == (
        "${local.secrets}"
    )


# --- Pub/Sub --------------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["CONFSYNC_SYNC_TOPIC", "CONFSYNC_CHANNEL_COMMANDS_TOPIC"])
def test_every_topic_the_code_publishes_to_exists(variable: str) -> None:
    assert default_of(variable) in topic_names().values()


def test_dead_letters_have_a_topic_and_a_subscription_keeping_them() -> None:
    assert "dead_letter" in root().resources("google_pubsub_topic")
    subscriptions = root().resources("google_pubsub_subscription")
    assert any(
        body["topic"] == "${google_pubsub_topic.dead_letter.id}" for body in subscriptions.values()
    )
    publishers = [
        body
        for body in root().resources("google_pubsub_topic_iam_member").values()
        if body["topic"] == "${google_pubsub_topic.dead_letter.name}"
    ]
    assert publishers
    assert all(body["member"] == "${local.pubsub_agent}" for body in publishers)


# --- identities and IAM ---------------------------------------------------------------------------


def test_every_service_account_is_distinct() -> None:
    account_ids = [
        body["account_id"] for body in root().resources("google_service_account").values()
    ]
    account_ids += [call(name)["name"] for name in FUNCTIONS]
    assert len(set(account_ids)) == len(account_ids)
    accounts = function_module().resources("google_service_account")
    assert list(accounts) == ["this"]
    assert accounts["this"]["account_id"] == "${var.name}"


def test_no_binding_grants_a_basic_role() -> None:
    for module in (root(), function_module()):
        for kind, name, body in iam_bindings(module):
            assert body.get("role") not in BROAD_ROLES, f"{kind}.{name} grants {body['role']}"
            for binding in body.get("binding", []):
                assert binding.get("role") not in BROAD_ROLES, f"{kind}.{name}"


def test_only_intake_is_public() -> None:
    public = [
        body["name"]
        for module in (root(), function_module())
        for _, _, body in iam_bindings(module)
        if body.get("member") in ("allUsers", "allAuthenticatedUsers")
    ]
    assert public == ["${module.intake.name}"]


@pytest.mark.parametrize(
    ("name", "topics"),
    [
        ("intake", {"sync-requests", "channel-commands"}),
        ("sync", {"sync-requests"}),
        ("channels", {"sync-requests", "channel-commands"}),
    ],
)
def test_publishers_are_exactly_the_functions_that_publish(name: str, topics: set[str]) -> None:
    granted = {
        topic_names()[body["topic"].split(".")[1]]
        for body in root().resources("google_pubsub_topic_iam_member").values()
        if body["member"] == member(name) and body["role"] == "roles/pubsub.publisher"
    }
    granted |= {
        topic_names()[body["topic"].split(".")[1]]
        for body in root().resources("google_pubsub_topic_iam_binding").values()
        if f"module.{name}.service_account_member" in str(body["members"])
        and body["role"] == "roles/pubsub.publisher"
    }
    assert granted == topics


def test_channel_commands_publishers_are_authoritative_and_listed() -> None:
    """A channel command acts as the user it names: its topic's publishers are exactly channels,
    intake (the add-on's enrolments, for verified ID tokens only) and the operators listed in a
    variable, in one authoritative binding."""
    topic = topic_reference(default_of("CONFSYNC_CHANNEL_COMMANDS_TOPIC"), "name")
    bindings = [
        body
        for body in root().resources("google_pubsub_topic_iam_binding").values()
        if body["topic"] == topic and body["role"] == "roles/pubsub.publisher"
    ]
    assert len(bindings) == 1
    assert bindings[0]["members"] == (
        "${concat([module.channels.service_account_member,"
        " module.intake.service_account_member], var.channel_command_publishers)}"
    )
    assert not [
        body
        for body in root().resources("google_pubsub_topic_iam_member").values()
        if body["topic"] == topic and body["role"] == "roles/pubsub.publisher"
    ], "a member grant next to the authoritative binding would fight it"
    variable = root().labelled("variable")["channel_command_publishers"]
    assert variable["default"] == []
    assert "allUsers" in variable["validation"][0]["error_message"]


def test_secret_access_is_granted_by_the_module_for_exactly_the_secrets_read() -> None:
    assert not root().resources("google_secret_manager_secret_iam_member"), (
        "secret access is granted by modules/function, next to the variables it serves"
    )
    accessor = function_module().resources("google_secret_manager_secret_iam_member")["accessor"]
    assert accessor["for_each"] == "${local.secret_environment_variables}"
    assert accessor["secret_id"] == "${each.value}"
    assert accessor["role"] == "roles/secretmanager.secretAccessor"
    assert accessor["member"] == "${google_service_account.this.member}"


def test_builds_run_as_a_dedicated_account_with_only_what_a_build_needs() -> None:
    build = one(function_resource(), "build_config")
    assert build["service_account"] == "${var.build_service_account}"
    assert build["docker_repository"] == "${var.docker_repository}"
    assert root().local("build") == {
        "docker_repository": "${google_artifact_registry_repository.functions.id}",
        "build_service_account": "${google_service_account.build.id}",
    }
    for name in FUNCTIONS:
        assert call(name)["build_service_account"] == "${local.build.build_service_account}"
        assert call(name)["docker_repository"] == "${local.build.docker_repository}"
    grants = sorted(
        (kind, body["role"])
        for module in (root(), function_module())
        for kind, _, body in iam_bindings(module)
        if body.get("member") == "${google_service_account.build.member}"
    )
    assert grants == [
        ("google_artifact_registry_repository_iam_member", "roles/artifactregistry.writer"),
        ("google_project_iam_member", "roles/logging.logWriter"),
        ("google_project_iam_member", "roles/storage.objectViewer"),
        ("google_storage_bucket_iam_member", "roles/storage.objectViewer"),
    ]
    staged = root().resources("google_project_iam_member")["build_reads_staged_sources"]
    assert "gcf-v2-sources-" in one(staged, "condition")["expression"]
    everything = " ".join(s for m in (root(), function_module()) for s in strings(m.blocks))
    assert "compute@developer.gserviceaccount.com" not in everything


# --- scheduler ------------------------------------------------------------------------------------


def _scheduler_payload() -> object:
    target = one(root().resources("google_cloud_scheduler_job")["tick"], "pubsub_target")
    assert target["topic_name"] == topic_reference(
        default_of("CONFSYNC_CHANNEL_COMMANDS_TOPIC"), "id"
    )
    match = re.fullmatch(
        r"base64encode\(jsonencode\(local\.(\w+)\)\)", expression(target["data"]) or ""
    )
    assert match, target["data"]
    return root().local(match.group(1))


def test_scheduler_publishes_a_tick_to_channel_commands() -> None:
    assert _scheduler_payload() == {"v": 1, "command": "tick"}
    schedule = root().labelled("variable")["tick_schedule"]["default"]
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


# --- Firestore ------------------------------------------------------------------------------------


ALL_QUERY_SHAPES = (*QUERY_SHAPES, *CHANNEL_QUERY_SHAPES, *STATUS_QUERY_SHAPES)
"""Every query shape issued in production: the functions' adapters and ``confsync status``."""


def expected_index(shape: QueryShape) -> list[tuple[str, str]]:
    """The composite index a shape needs, as Firestore orders it: equality fields, then the
    array-contains field (``CONTAINS``), then ordered fields (their direction), then the
    remaining range fields."""
    equality = [path for path, op in shape.fields if op in EQUALITY_OPS]
    contains = [path for path, op in shape.fields if op in ARRAY_OPS]
    ordered = [(path, ORDER_OPS[op]) for path, op in shape.fields if op in ORDER_OPS]
    special = EQUALITY_OPS | ARRAY_OPS | ORDER_OPS.keys()
    ranged = [path for path, op in shape.fields if op not in special]
    fields = [(path, "ASCENDING") for path in equality]
    fields += [(path, "CONTAINS") for path in contains]
    fields += [(path, order) for path, order in ordered if path not in equality]
    seen = {path for path, _ in fields}
    fields += [(path, "ASCENDING") for path in dict.fromkeys(ranged) if path not in seen]
    return fields


def needs_composite_index(shape: QueryShape) -> bool:
    """More than one field: single-field shapes use Firestore's automatic indexes, which serve
    an ``array-contains`` on an array field as well as ``==``, ranges and ordering."""
    return len({path for path, _ in shape.fields}) > 1


def declared_indexes() -> list[tuple[str, list[tuple[str, str]]]]:
    """Each index's fields as (path, ``order`` or ``array_config``)."""
    return [
        (
            body["collection"],
            [(f["field_path"], f.get("order") or f["array_config"]) for f in body["fields"]],
        )
        for body in root().resources("google_firestore_index").values()
    ]


def test_the_index_rule_knows_array_contains() -> None:
    alone = QueryShape("M.of", "conferences", (("calendar_keys", "array-contains"),))
    combined = QueryShape(
        "M.of",
        "conferences",
        (("calendar_keys", "array-contains"), ("status", "=="), ("at", "<"), ("at", "order-asc")),
    )

    assert not needs_composite_index(alone)
    assert needs_composite_index(combined)
    assert expected_index(combined) == [
        ("status", "ASCENDING"),
        ("calendar_keys", "CONTAINS"),
        ("at", "ASCENDING"),
    ]


@pytest.mark.parametrize(
    "shape",
    [shape for shape in ALL_QUERY_SHAPES if needs_composite_index(shape)],
    ids=lambda shape: f"{shape.method}:{'+'.join(path for path, _ in shape.fields)}",
)
def test_every_composite_query_shape_has_an_index(shape: QueryShape) -> None:
    assert (shape.collection, expected_index(shape)) in declared_indexes()


def test_every_declared_index_serves_a_query_shape() -> None:
    wanted = [
        (shape.collection, expected_index(shape))
        for shape in ALL_QUERY_SHAPES
        if needs_composite_index(shape)
    ]
    for index in declared_indexes():
        assert index in wanted, f"index {index} serves no query shape"


def exempt_fields() -> list[tuple[str, str]]:
    """(collection, field) of each field exempt from single-field indexing (an empty
    ``index_config``); those of ``local.unindexed_fields`` through the resource iterating it."""
    found: list[tuple[str, str]] = []
    for body in root().resources("google_firestore_field").values():
        config = body["index_config"]
        assert all(not c.get("indexes") for c in config), "only exemptions are declared"
        if body.get("for_each") == "${local.unindexed_fields}":
            assert body["collection"] == "${each.value.collection}"
            assert body["field"] == "${each.value.field}"
            entries = root().local("unindexed_fields").values()
            found += [(entry["collection"], entry["field"]) for entry in entries]
        else:
            found.append((body["collection"], body["field"]))
    return found


def test_no_query_reads_a_field_exempt_from_indexing() -> None:
    exempt = exempt_fields()
    assert ("conferences", "body") in exempt  # the record's JSON text (confsync.records)
    for shape in ALL_QUERY_SHAPES:
        for path, _ in shape.fields:
            for collection, field in exempt:
                used = path == field or path.startswith(f"{field}.")
                assert not (shape.collection == collection and used), (shape.method, path)


def test_indexes_are_on_the_declared_database() -> None:
    for body in [
        *root().resources("google_firestore_index").values(),
        *root().resources("google_firestore_field").values(),
    ]:
        assert body["database"] == "${google_firestore_database.main.name}"
    assert root().resources("google_firestore_database")["main"]["type"] == "FIRESTORE_NATIVE"


# --- storage, outputs and module hygiene ----------------------------------------------------------


def test_source_bucket_is_private_and_versioned() -> None:
    bucket = root().resources("google_storage_bucket")["sources"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert one(bucket, "versioning")["enabled"] is True


def test_outputs_the_deploy_and_the_command_line_read() -> None:
    outputs = {name: body["value"] for name, body in root().labelled("output").items()}
    assert outputs["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert outputs["scheduler_job"] == "${google_cloud_scheduler_job.tick.id}"
    assert "event_triggers" not in outputs
    assert outputs["push_subscriptions"] == {
        name: f"${{google_pubsub_subscription.{name}_push.name}}" for name in EVENT_FUNCTIONS
    }
    uri = function_module().labelled("output")["service_uri"]["value"]
    assert uri == "${google_cloudfunctions2_function.this.service_config[0].uri}"
    assert outputs["intake_url"] == "${module.intake.url}"
    assert outputs["function_names"] == {name: f"${{module.{name}.name}}" for name in FUNCTIONS}


@pytest.mark.parametrize("kind", ["variable", "output"])
@pytest.mark.parametrize("module", [root, function_module], ids=["root", "function"])
def test_variables_and_outputs_are_alphabetical_and_described(kind: str, module: object) -> None:
    assert callable(module)
    labelled = module().labelled(kind)
    assert list(labelled) == sorted(labelled)
    for label, body in labelled.items():
        assert body.get("description"), f"{kind} {label} has no description"
        if kind == "variable":
            assert body.get("type"), f"variable {label} has no type"


_REFERENCES = {
    "var": re.compile(r"(?<![\w.])var\.(\w+)"),
    "local": re.compile(r"(?<![\w.])local\.(\w+)"),
    "module": re.compile(r"(?<![\w.])module\.(\w+)\.(\w+)"),
    "resource": re.compile(r"(?<![\w.])((?:google|terraform)_\w+)\.(\w+)"),
    "data": re.compile(r"(?<![\w.])data\.(\w+)\.(\w+)"),
}


@pytest.mark.parametrize("module", [root, function_module], ids=["root", "function"])
def test_every_reference_names_something_declared(module: object) -> None:
    """What ``terraform validate`` would report first: a reference to nothing."""
    assert callable(module)
    tf: Module = module()
    text = [s for s in strings(tf.blocks) if "${" in s]
    declared_resources = {(kind, name) for kind, name, _ in tf.all_resources()}
    declared_data = {
        (k, n) for block in tf.blocks.get("data", []) for k, v in block.items() for n in v
    }
    outputs = function_module().labelled("output")
    for value in text:
        for name in _REFERENCES["var"].findall(value):
            assert name in tf.labelled("variable"), f"var.{name} in {value}"
        for name in _REFERENCES["local"].findall(value):
            assert name in tf.locals(), f"local.{name} in {value}"
        for name, output in _REFERENCES["module"].findall(value):
            assert name in function_calls(), f"module.{name} in {value}"
            assert output in outputs, f"module.{name}.{output} in {value}"
        for kind, name in _REFERENCES["resource"].findall(value):
            assert (kind, name) in declared_resources, f"{kind}.{name} in {value}"
        for kind, name in _REFERENCES["data"].findall(value):
            assert (kind, name) in declared_data, f"data.{kind}.{name}"


@pytest.mark.parametrize(
    ("method", "order"),
    [
        ("FirestoreCalendarStore.disconnected_before", "ASCENDING"),
        ("FirestoreCalendarStore.disconnected_since", "DESCENDING"),
    ],
)
def test_the_offboarding_queries_are_bounded_and_indexed(method: str, order: str) -> None:
    """The emulator ignores indexes, so the shape is checked here: an equality on the state, a
    range on ``disconnected_at`` ordered by it (the store adds the limit), and its index."""
    [shape] = [s for s in QUERY_SHAPES if s.method == method]
    ranged = "<" if order == "ASCENDING" else ">="
    sort = "order-asc" if order == "ASCENDING" else "order-desc"

    assert shape.collection == "calendars"
    assert shape.fields == (("state", "=="), ("disconnected_at", ranged), ("disconnected_at", sort))
    assert ("calendars", [("state", "ASCENDING"), ("disconnected_at", order)]) in (
        declared_indexes()
    )
