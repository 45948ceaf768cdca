"""Terraform's outputs, as ``terraform output -json`` prints them, decoded for the smoke.

:func:`decode_outputs` takes that JSON text (``{"name": {"value": ..., "type": ...,
"sensitive": ...}}``) and answers :class:`DeployedOutputs`, or raises
:class:`~smoke.user_credentials.SmokeConfigError` naming every output missing or malformed: the text
comes from outside (a saved file, or a Terraform state that may predate an output).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from smoke.user_credentials import SmokeConfigError

__all__ = ["REQUIRED_OUTPUTS", "DeployedOutputs", "decode_outputs"]

REQUIRED_OUTPUTS: Final = (
    "allowed_domains",
    "channel_commands_topic",
    "dead_letter_subscription",
    "dead_letter_topic",
    "intake_url",
    "scheduler_job",
    "sync_requests_topic",
)
_TOPIC_ID: Final = re.compile(r"projects/([a-z][a-z0-9-]{4,28}[a-z0-9])/topics/[^/]+")
_JOB_ID: Final = re.compile(r"projects/[^/]+/locations/[^/]+/jobs/[^/]+")
_NAME: Final = re.compile(r"[A-Za-z0-9._~%+-]{1,255}")


@dataclass(frozen=True, slots=True)
class DeployedOutputs:
    """What the smoke needs of a deployed stack."""

    project: str
    intake_url: str
    channel_commands_topic: str
    sync_requests_topic: str
    allowed_domains: str
    dead_letter_subscription: str
    scheduler_job: str

    @property
    def enroll_url(self) -> str:
        return self.intake_url.rstrip("/") + "/v1/enroll"

    def cli_env(self) -> dict[str, str]:
        """The ``confsync`` command line's variables for this stack."""
        return {
            "GOOGLE_CLOUD_PROJECT": self.project,
            "CONFSYNC_CHANNEL_COMMANDS_TOPIC": self.channel_commands_topic,
            "CONFSYNC_SYNC_TOPIC": self.sync_requests_topic,
            "CONFSYNC_ALLOWED_DOMAINS": self.allowed_domains,
            "CONFSYNC_SCHEDULER_JOB": self.scheduler_job,
        }


def _values(text: str) -> dict[str, Any]:
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise SmokeConfigError([f"Terraform outputs: not JSON ({err})"]) from None
    if not isinstance(raw, dict):
        raise SmokeConfigError(["Terraform outputs: not a JSON object of outputs"])
    return {
        str(name): entry["value"]
        for name, entry in raw.items()
        if isinstance(entry, dict) and "value" in entry
    }


def decode_outputs(text: str) -> DeployedOutputs:
    """The smoke's view of ``terraform output -json``; SmokeConfigError naming each problem."""
    values = _values(text)
    problems: list[str] = []
    found: dict[str, str] = {}
    for name in REQUIRED_OUTPUTS:
        value = values.get(name)
        if value is None:
            problems.append(f"Terraform output {name} is missing (run make deploy first)")
        elif not isinstance(value, str) or not value.strip():
            problems.append(f"Terraform output {name} is not a non-empty string")
        else:
            found[name] = value.strip()
    project = ""
    if "dead_letter_topic" in found:
        match = _TOPIC_ID.fullmatch(found["dead_letter_topic"])
        if match is None:
            problems.append("Terraform output dead_letter_topic is not projects/P/topics/T")
        else:
            project = match.group(1)
    if "scheduler_job" in found and not _JOB_ID.fullmatch(found["scheduler_job"]):
        problems.append("Terraform output scheduler_job is not projects/P/locations/L/jobs/J")
    if "intake_url" in found and not found["intake_url"].startswith("https://"):
        problems.append("Terraform output intake_url is not an https:// address")
    for name in ("channel_commands_topic", "sync_requests_topic", "dead_letter_subscription"):
        if name in found and not _NAME.fullmatch(found[name]):
            problems.append(f"Terraform output {name} is not a Pub/Sub name")
    if problems:
        raise SmokeConfigError(problems)
    return DeployedOutputs(
        project=project,
        intake_url=found["intake_url"],
        channel_commands_topic=found["channel_commands_topic"],
        sync_requests_topic=found["sync_requests_topic"],
        allowed_domains=found["allowed_domains"],
        dead_letter_subscription=found["dead_letter_subscription"],
        scheduler_job=found["scheduler_job"],
    )
