"""Wiring the smoke to a deployed stack: Terraform's outputs, the test user, the conferencing side.

Smoke-only variables (the test user's are :mod:`testuser`'s):

``CONFSYNC_SMOKE_CONFERENCING_URL``
    base URL of the conferencing system's API (production's, or a conferencing emulator deployed
    for the purpose); required.
``CONFSYNC_SMOKE_CONFERENCING_CREDENTIAL``
    the provider credential the smoke creates its conference with (``Authorization: Bearer``);
    required.
``CONFSYNC_SMOKE_CONFERENCING_SIGNING_SECRET``
    the signing secret(s), comma-separated, when the system verifies signatures; optional.
``CONFSYNC_SMOKE_ID_TOKEN``
    the test user's add-on ID token: enrol through intake's ``/v1/enroll`` instead of
    ``confsync enroll``; optional.
``CONFSYNC_SMOKE_SOLUTION_NAME``
    the conference solution name put on the event (one of the deployment's solution names);
    default ``My Web Conference``.

``CALENDAR_API_URL`` (default Google's), ``GOOGLE_TOKEN_URL`` and ``IAM_CREDENTIALS_URL`` are
honoured. :func:`load_deployed` names every missing variable and output at once.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from smoke.outputs import DeployedOutputs, decode_outputs
from smoke.user_credentials import SmokeConfigError, TestUser, load_test_user

__all__ = ["DeployedConfig", "load_deployed", "terraform_outputs"]

CONFERENCING_URL: Final = "CONFSYNC_SMOKE_CONFERENCING_URL"
CONFERENCING_CREDENTIAL: Final = "CONFSYNC_SMOKE_CONFERENCING_CREDENTIAL"
CONFERENCING_SECRET: Final = "CONFSYNC_SMOKE_CONFERENCING_SIGNING_SECRET"  # noqa: S105
ID_TOKEN: Final = "CONFSYNC_SMOKE_ID_TOKEN"  # noqa: S105 - a name
SOLUTION_NAME: Final = "CONFSYNC_SMOKE_SOLUTION_NAME"
DEFAULT_SOLUTION_NAME: Final = "My Web Conference"
DEFAULT_CALENDAR_API_URL: Final = "https://www.googleapis.com/calendar/v3/"


@dataclass(frozen=True, slots=True)
class DeployedConfig:
    """Everything the smoke needs to run against a deployed stack."""

    user: TestUser
    outputs: DeployedOutputs
    calendar_api_url: str
    conferencing_url: str
    conferencing_credential: str
    signing_secrets: tuple[bytes, ...]
    id_token: str
    solution_name: str

    def __repr__(self) -> str:
        return f"DeployedConfig({self.user!r}, project {self.outputs.project!r})"


def terraform_outputs(terraform_dir: Path, timeout: float = 120.0) -> str:
    """``terraform output -json`` in ``terraform_dir``; SmokeConfigError when it fails."""
    try:
        done = subprocess.run(  # noqa: S603 - terraform, argv built here
            ["terraform", f"-chdir={terraform_dir}", "output", "-json", "-no-color"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SmokeConfigError([f"terraform output -json could not run: {err}"]) from None
    if done.returncode != 0:
        raise SmokeConfigError([f"terraform output -json failed: {_terraform_error(done.stderr)}"])
    return done.stdout


def _terraform_error(stderr: str) -> str:
    """Terraform's ``Error:`` line (e.g. ``Backend initialization required, please run
    "terraform init"``), else its last non-empty line."""
    lines = [line.strip(" │╷╵\t") for line in stderr.splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if line.startswith("Error:"):
            return line.removeprefix("Error:").strip()
    return lines[-1] if lines else "no message"


def _check_adc() -> str | None:
    import google.auth  # noqa: PLC0415 - only the deployed target needs it
    from google.auth.exceptions import DefaultCredentialsError  # noqa: PLC0415

    try:
        google.auth.default()
    except DefaultCredentialsError:
        return (
            "Application Default Credentials are missing (gcloud auth application-default "
            "login, or GOOGLE_APPLICATION_CREDENTIALS)"
        )
    return None


def load_deployed(env: Mapping[str, str], outputs_json: str | None) -> DeployedConfig:
    """The configuration; SmokeConfigError naming every missing variable and output.

    ``outputs_json``: Terraform's outputs as text, or None when they could not be read (already
    reported by the caller as a problem of its own)."""
    problems: list[str] = []
    user: TestUser | None = None
    outputs: DeployedOutputs | None = None
    try:
        user = load_test_user(env)
    except SmokeConfigError as err:
        problems.extend(err.problems)

    def get(name: str) -> str:
        return env.get(name, "").strip()

    for name, why in (
        (CONFERENCING_URL, "the conferencing system's API"),
        (CONFERENCING_CREDENTIAL, "the provider credential"),
    ):
        if not get(name):
            problems.append(f"{name} is not set ({why})")
    url = get(CONFERENCING_URL)
    if url and not url.startswith(("https://", "http://")):
        problems.append(f"{CONFERENCING_URL} is not an http(s) URL")
    secrets = tuple(s.strip().encode() for s in get(CONFERENCING_SECRET).split(",") if s.strip())
    if outputs_json is not None:
        try:
            outputs = decode_outputs(outputs_json)
        except SmokeConfigError as err:
            problems.extend(err.problems)
    if (missing_adc := _check_adc()) is not None:
        problems.append(missing_adc)
    if problems or user is None or outputs is None:
        raise SmokeConfigError(problems)
    return DeployedConfig(
        user=user,
        outputs=outputs,
        calendar_api_url=get("CALENDAR_API_URL") or DEFAULT_CALENDAR_API_URL,
        conferencing_url=url,
        conferencing_credential=get(CONFERENCING_CREDENTIAL),
        signing_secrets=secrets,
        id_token=get(ID_TOKEN),
        solution_name=get(SOLUTION_NAME) or DEFAULT_SOLUTION_NAME,
    )
