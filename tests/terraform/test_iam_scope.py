"""No function's account holds a project-wide role unless it is listed here, with its reason.

Finding L8 of issue #13: sync and channels held ``roles/datastore.user`` on the whole project
(every Firestore database in it), and the Pub/Sub service agent the subscriber role on the whole
project. A grant on the project reaches everything of its kind the project will ever hold, so
each one a function's account may have is listed below with why it cannot be narrower, and must
carry the condition that narrows it.

intake is the one public function, so everything its account may do is pinned too: publish to
``sync-requests`` (a SyncRequest per genuine notification) and to ``channel-commands`` (an
``enroll`` command per verified Google ID token of an allowed user; ``terraform/iam.tf`` says why
that is safe), nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator

from .hcl import Body, Module, function_calls, function_module, one, root

PROJECT_GRANT_TYPES = ("google_project_iam_member", "google_project_iam_binding")
FUNCTION_ACCOUNTS = {
    **{f"${{module.{name}.service_account_member}}": name for name in function_calls()},
    "${google_service_account.this.member}": "modules/function",
    "${google_service_account.push.member}": "push",
}
"""Every member expression naming a function's own account, or the account pushing to them."""
DATABASE_ONLY = 'resource.name == "${local.firestore_database}"'

ALLOWED: dict[tuple[str, str], tuple[str, str]] = {
    ("sync", "roles/datastore.user"): (
        DATABASE_ONLY,
        "Firestore roles are granted on the project; the condition keeps it to confsync's database",
    ),
    ("channels", "roles/datastore.user"): (
        DATABASE_ONLY,
        "Firestore roles are granted on the project; the condition keeps it to confsync's database",
    ),
}
"""(function, role) -> (the condition it must carry, why it is on the project at all)."""

INTAKE_MEMBER = "module.intake.service_account_member"
INTAKE_GRANTS: dict[tuple[str, str, str], str] = {
    (
        "google_pubsub_topic_iam_member",
        "roles/pubsub.publisher",
        "${google_pubsub_topic.sync_requests.name}",
    ): "one SyncRequest per genuine notification",
    (
        "google_pubsub_topic_iam_binding",
        "roles/pubsub.publisher",
        "${google_pubsub_topic.channel_commands.name}",
    ): "one enroll command per verified ID token of an allowed user (POST /v1/enroll)",
}
"""(resource type, role, resource) -> why intake, the public function, holds it."""


def project_grants(module: Module) -> Iterator[tuple[str, str, Body, str]]:
    """(resource name, role, body, member) of every project-level grant in ``module``."""
    for kind, name, body in module.all_resources():
        if kind in PROJECT_GRANT_TYPES:
            members = body.get("members", [body.get("member")])
            for member in members if isinstance(members, list) else [members]:
                yield name, body["role"], body, str(member)
    assert not [k for k, _, _ in module.all_resources() if k == "google_project_iam_policy"]


def test_no_project_level_grant_to_a_function_account_but_the_listed_ones() -> None:
    found = {}
    for module in (root(), function_module()):
        for name, role, body, member in project_grants(module):
            if member in FUNCTION_ACCOUNTS:
                key = (FUNCTION_ACCOUNTS[member], role)
                assert key in ALLOWED, f"{name}: {role} on the whole project to {member}"
                found[key] = body
    assert set(found) == set(ALLOWED), "a listed grant is gone: drop it from ALLOWED"
    for key, body in found.items():
        condition, _reason = ALLOWED[key]
        assert one(body, "condition")["expression"] == condition, key


def test_the_condition_names_confsyncs_firestore_database() -> None:
    assert root().local("firestore_database") == (
        "projects/${var.project_id}/databases/${google_firestore_database.main.name}"
    )


def test_the_pubsub_service_agent_has_no_project_level_grant() -> None:
    for module in (root(), function_module()):
        for name, role, _, member in project_grants(module):
            assert member != "${local.pubsub_agent}", f"{name}: {role} on the whole project"
            assert "gcp-sa-pubsub" not in member, f"{name}: {role} on the whole project"


def test_intake_the_public_function_holds_exactly_its_two_publisher_grants() -> None:
    found = set()
    for module in (root(), function_module()):
        for kind, _, body in module.all_resources():
            members = body.get("members", body.get("member"))
            if "iam" in kind and INTAKE_MEMBER in str(members):
                found.add((kind, body["role"], str(body.get("topic"))))
    assert found == set(INTAKE_GRANTS)


def test_intake_publishes_commands_only_within_the_authoritative_binding() -> None:
    """A member grant of intake on channel-commands would survive a change of the binding."""
    [binding] = [
        body
        for body in root().resources("google_pubsub_topic_iam_binding").values()
        if INTAKE_MEMBER in str(body["members"])
    ]
    assert binding["topic"] == "${google_pubsub_topic.channel_commands.name}"
    assert not [
        body
        for body in root().resources("google_pubsub_topic_iam_member").values()
        if body["topic"] == binding["topic"]
    ]
