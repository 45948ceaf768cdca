"""How Pub/Sub messages reach sync and channels, as ``terraform/delivery.tf`` declares it.

Finding D1 of issue #13: the retry and dead-letter policy of the functions' subscriptions used to
be set by ``gcloud`` after ``terraform apply`` on subscriptions Eventarc owned, so a recreated
subscription silently lost it. Now each function is the push endpoint of a subscription Terraform
declares with both policies; these tests read it offline (python-hcl2) and check it against what
the functions and the local stack rely on.
"""

from __future__ import annotations

import re

import pytest

from devstack import pubsub_wiring

from .hcl import Body, expression, function_calls, one, root

PUSHED = {"sync": "sync_requests", "channels": "channel_commands"}
"""Function -> the ``google_pubsub_topic`` resource whose messages it is pushed."""
PUSH_ACCOUNT = "${google_service_account.push.member}"
PUSH_EMAIL = "${google_service_account.push.email}"


def subscription(function: str) -> Body:
    subscriptions = root().resources("google_pubsub_subscription")
    return subscriptions[f"{function}_push"]


def delivery(value: object) -> object:
    """A ``${local.push_delivery.FIELD}`` reference, resolved."""
    expr = expression(value)
    if expr is None:
        return value
    match = re.fullmatch(r"local\.push_delivery\.(\w+)", expr)
    assert match, f"not a shared delivery setting: {value}"
    return root().local("push_delivery")[match.group(1)]


def test_exactly_sync_and_channels_are_pushed_to() -> None:
    pushed = {
        name: body
        for name, body in root().resources("google_pubsub_subscription").items()
        if "push_config" in body
    }
    assert sorted(pushed) == sorted(f"{function}_push" for function in PUSHED)


@pytest.mark.parametrize(("function", "topic"), PUSHED.items())
def test_the_subscription_pushes_the_functions_topic_to_its_service(
    function: str, topic: str
) -> None:
    """The envelope goes to the Cloud Run address with ``/projects/P/topics/T`` in the path, as
    the local stack sends it, so functions-framework builds the same CloudEvent (its source names
    the topic) in both places."""
    body = subscription(function)
    assert body["topic"] == f"${{google_pubsub_topic.{topic}.id}}"
    push = one(body, "push_config")
    assert push["push_endpoint"] == (
        f"${{module.{function}.service_uri}}/projects/${{var.project_id}}"
        f"/topics/${{google_pubsub_topic.{topic}.name}}"
    )
    assert "no_wrapper" not in push, "functions-framework reads the standard push envelope"
    assert "attributes" not in push


@pytest.mark.parametrize("function", PUSHED)
def test_pushes_carry_an_oidc_token_for_the_service_of_the_push_account(function: str) -> None:
    token = one(one(subscription(function), "push_config"), "oidc_token")
    assert token["service_account_email"] == PUSH_EMAIL
    assert token["audience"] == f"${{module.{function}.service_uri}}"


@pytest.mark.parametrize("function", PUSHED)
def test_a_failing_message_is_retried_with_backoff_then_dead_lettered(function: str) -> None:
    body = subscription(function)
    retry = one(body, "retry_policy")
    assert delivery(retry["minimum_backoff"]) == "10s"
    assert delivery(retry["maximum_backoff"]) == "600s"
    dead = one(body, "dead_letter_policy")
    assert dead["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert delivery(dead["max_delivery_attempts"]) == 5


@pytest.mark.parametrize("function", PUSHED)
def test_the_ack_deadline_outlasts_the_function(function: str) -> None:
    """A message whose handler still runs is not pushed a second time."""
    deadline = delivery(subscription(function)["ack_deadline_seconds"])
    timeout = function_calls()[function]["service"]["timeout_seconds"]
    assert isinstance(deadline, int)
    assert timeout < deadline <= 600


@pytest.mark.parametrize("function", PUSHED)
def test_the_subscription_never_expires_and_keeps_messages_through_an_outage(
    function: str,
) -> None:
    body = subscription(function)
    assert one(body, "expiration_policy")["ttl"] == ""
    assert delivery(body["message_retention_duration"]) == "604800s"


def test_the_local_stack_delivers_as_production() -> None:
    """devstack's push subscriptions keep production's deadline and attempts (only the backoff
    is shorter, so a local failure dead-letters within a minute)."""
    settings = root().local("push_delivery")
    assert settings["ack_deadline_seconds"] == pubsub_wiring.ACK_DEADLINE_SECONDS
    assert settings["max_delivery_attempts"] == pubsub_wiring.MAX_DELIVERY_ATTEMPTS


def test_only_the_push_account_may_invoke_sync_and_channels() -> None:
    invokers = {
        (body["name"], body["member"])
        for body in root().resources("google_cloud_run_v2_service_iam_member").values()
        if body["role"] == "roles/run.invoker"
    }
    assert invokers == {
        ("${module.sync.name}", PUSH_ACCOUNT),
        ("${module.channels.name}", PUSH_ACCOUNT),
        ("${module.intake.name}", "allUsers"),
    }


def test_the_push_account_holds_nothing_but_the_two_invoker_roles() -> None:
    grants = [
        (kind, name)
        for kind, name, body in root().all_resources()
        if "iam" in kind and PUSH_ACCOUNT in (body.get("member"), *body.get("members", []))
    ]
    assert sorted(grants) == [
        ("google_cloud_run_v2_service_iam_member", "channels_push_invoker"),
        ("google_cloud_run_v2_service_iam_member", "sync_push_invoker"),
    ]


def test_the_pubsub_service_agent_is_granted_on_resources_never_on_the_project() -> None:
    grants = sorted(
        (
            kind,
            body["role"],
            body.get("topic") or body.get("subscription") or body.get("service_account_id"),
        )
        for kind, _, body in root().all_resources()
        if "iam" in kind and body.get("member") == "${local.pubsub_agent}"
    )
    assert grants == [
        (
            "google_pubsub_subscription_iam_member",
            "roles/pubsub.subscriber",
            "${google_pubsub_subscription.channels_push.name}",
        ),
        (
            "google_pubsub_subscription_iam_member",
            "roles/pubsub.subscriber",
            "${google_pubsub_subscription.sync_push.name}",
        ),
        (
            "google_pubsub_topic_iam_member",
            "roles/pubsub.publisher",
            "${google_pubsub_topic.dead_letter.name}",
        ),
        (
            "google_service_account_iam_member",
            "roles/iam.serviceAccountTokenCreator",
            "${google_service_account.push.name}",
        ),
    ]
