"""`make plan` / `deploy` / `destroy` against fake ``gcloud`` and ``terraform`` programs.

The fakes are scripts on ``PATH`` that record their arguments and answer canned output, so these
tests see the exact commands a user's machine would run, in order, and what the user reads: one
preflight line per check, nothing started after a failed preflight, nothing configured after
``apply`` (Terraform declares the push subscriptions and their dead-letter policy), and
``destroy`` refused without the project id.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from deploy.preflight import satisfies, variables_without_default
from devstack.cli import main as devstack

REPO_ROOT = Path(__file__).resolve().parents[3]
PROJECT = "demo-proj-123"
REGION = "europe-west1"
TF = ["terraform", "-chdir=terraform"]
CHECKS = [
    "gcloud",
    "gcloud credentials",
    "application-default credentials",
    "terraform",
    "PROJECT",
    "REGION",
    "state bucket",
    "terraform variables",
]
DEAD_LETTER_TOPIC = f"projects/{PROJECT}/topics/confsync-dead-letter"
SECRETS = ["confsync-channel-token-keys", "confsync-conferencing-credential"]
STATE = {
    "values": {
        "root_module": {
            "resources": [
                {"type": "google_secret_manager_secret", "values": {"secret_id": secret}}
                for secret in SECRETS
            ]
            + [{"type": "google_pubsub_topic", "values": {"name": "sync-requests"}}]
        }
    }
}
OUTPUTS = {
    "intake_url": "https://confsync-intake-abc-ew.a.run.app",
    "push_subscriptions": {
        "sync": "confsync-sync-requests-to-sync",
        "channels": "confsync-channel-commands-to-channels",
    },
    "dead_letter_topic": DEAD_LETTER_TOPIC,
    "scheduler_job": f"projects/{PROJECT}/locations/{REGION}/jobs/confsync-tick",
    "allowed_domains": "example.com,corp.example.com",
    "sync_requests_topic": "sync-requests",
    "channel_commands_topic": "channel-commands",
    "function_names": {"sync": "confsync-sync", "intake": "confsync-intake"},
    "dead_letter_subscription": "confsync-dead-letter-inspect",
    "delegation_client_id": "112233445566778899",
    "delegation_scopes": ["https://www.googleapis.com/auth/calendar.events"],
}

FAKE = """#!{python} -S
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
argv = [os.path.basename(sys.argv[0]), *sys.argv[1:]]
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps(argv) + "\\n")
with open(os.path.join(here, "rules.json")) as rules:
    for rule in json.load(rules):
        if argv[: len(rule["prefix"])] == rule["prefix"]:
            sys.stdout.write(rule.get("stdout", ""))
            sys.stderr.write(rule.get("stderr", ""))
            sys.exit(rule.get("rc", 0))
"""


@dataclass
class FakeCloud:
    """Fake programs in ``bin``; rules are (argv prefix -> answer), first match wins."""

    bin: Path
    rules: list[dict[str, Any]] = field(default_factory=list)

    def install(self, *programs: str) -> None:
        for program in programs:
            script = self.bin / program
            script.write_text(FAKE.format(python=sys.executable))
            script.chmod(0o755)

    def answer(self, prefix: list[str], *, rc: int = 0, stdout: str = "", stderr: str = "") -> None:
        self.rules.insert(0, {"prefix": prefix, "rc": rc, "stdout": stdout, "stderr": stderr})
        (self.bin / "rules.json").write_text(json.dumps(self.rules))

    def calls(self) -> list[list[str]]:
        log = self.bin / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture(name="cloud")
def cloud_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCloud:
    """A healthy machine: logged in, Terraform 1.11.4, the bucket exists, apply works."""
    fake = FakeCloud(tmp_path / "bin")
    fake.bin.mkdir()
    fake.install("gcloud", "terraform")
    fake.answer(["terraform", "version", "-json"], stdout='{"terraform_version": "1.11.4"}')
    outputs = {name: {"value": value, "type": "x"} for name, value in OUTPUTS.items()}
    fake.answer([*TF, "output", "-json"], stdout=json.dumps(outputs))
    fake.answer([*TF, "show", "-json"], stdout=json.dumps(STATE))
    fake.answer(["gcloud", "secrets", "versions", "list"], stdout="1\n")
    monkeypatch.setenv("PATH", str(fake.bin))
    for name in [key for key in os.environ if key.startswith("TF_VAR_")]:
        monkeypatch.delenv(name)
    return fake


@pytest.fixture(name="tfvars")
def tfvars_fixture(tmp_path: Path) -> Path:
    """A tfvars file giving every variable without a default (PROJECT and REGION aside)."""
    path = tmp_path / "prod.tfvars"
    required = variables_without_default(REPO_ROOT / "terraform")
    lines = [f'{name} = "x"' for name in required if name not in {"project_id", "region"}]
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(tmp_path: Path, command: str, *flags: str) -> int:
    return devstack(["--run-dir", str(tmp_path / "run"), command, *flags])


def _target(tfvars: Path | None) -> list[str]:
    flags = ["--project", PROJECT, "--region", REGION]
    return [*flags, "--tfvars", str(tfvars)] if tfvars else flags


def _check_lines(out: str) -> dict[str, str]:
    """The preflight's lines by check name; each name must appear exactly once."""
    found: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"(ok|FAIL|--) +([^:]+): ", line)
        name = match[2] if match else ""
        if name in CHECKS:
            assert name not in found, f"two lines for {name}"
            found[name] = line
    assert list(found) == CHECKS
    return found


def _preflight_calls(bucket: str = f"{PROJECT}-tfstate") -> list[list[str]]:
    return [
        ["gcloud", "auth", "print-access-token"],
        ["gcloud", "auth", "application-default", "print-access-token"],
        ["terraform", "version", "-json"],
        [
            "gcloud",
            "storage",
            "buckets",
            "describe",
            f"gs://{bucket}",
            f"--project={PROJECT}",
            "--format=value(name)",
        ],
    ]


def _var_args(tmp_path: Path, tfvars: Path) -> list[str]:
    bundle = (tmp_path / "run" / "bundle").resolve()
    sources = {name: str(bundle / f"{name}.zip") for name in ("channels", "intake", "sync")}
    return [
        f"-var=project_id={PROJECT}",
        f"-var=region={REGION}",
        f"-var-file={tfvars.resolve()}",
        f"-var=function_sources={json.dumps(sources)}",
    ]


def _secrets_calls(tmp_path: Path, tfvars: Path) -> list[list[str]]:
    return [
        [*TF, "apply", "-target=google_secret_manager_secret.this", *_var_args(tmp_path, tfvars)],
        [*TF, "show", "-json"],
        *(
            [
                "gcloud",
                "secrets",
                "versions",
                "list",
                secret,
                f"--project={PROJECT}",
                "--filter=state=ENABLED",
                "--limit=1",
                "--format=value(name)",
            ]
            for secret in SECRETS
        ),
    ]


def _init(bucket: str = f"{PROJECT}-tfstate") -> list[str]:
    return [
        *TF,
        "init",
        "-input=false",
        "-reconfigure",
        f"-backend-config=bucket={bucket}",
        "-backend-config=prefix=confsync",
    ]


# -- preflight ------------------------------------------------------------------------------


def test_missing_gcloud_is_one_line_and_nothing_runs(
    cloud: FakeCloud, tfvars: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (cloud.bin / "gcloud").unlink()

    assert _run(tmp_path, "plan", *_target(tfvars)) == 2

    lines = _check_lines(capfd.readouterr().out)
    assert lines["gcloud"].startswith("FAIL")
    assert "install the Google Cloud CLI" in lines["gcloud"]
    for dependent in ("gcloud credentials", "application-default credentials", "state bucket"):
        assert lines[dependent].startswith("--"), lines[dependent]
    assert lines["terraform"].startswith("ok")
    assert cloud.calls() == [["terraform", "version", "-json"]]
    assert not (tmp_path / "run" / "bundle").exists()


@pytest.mark.parametrize(
    ("failing", "expected"),
    [
        pytest.param(
            [["gcloud", "auth", "print-access-token"]],
            {"gcloud credentials": "gcloud auth login", "state bucket": None},
            id="unauthenticated",
        ),
        pytest.param(
            [["gcloud", "auth", "application-default"]],
            {"application-default credentials": "gcloud auth application-default login"},
            id="no-application-default-credentials",
        ),
        pytest.param(
            [["gcloud", "storage", "buckets", "describe"]],
            {
                "state bucket": f"gcloud storage buckets create gs://{PROJECT}-tfstate"
                f" --project={PROJECT} --location={REGION}"
            },
            id="missing-bucket",
        ),
    ],
)
def test_a_failed_check_is_one_line_with_its_fix_and_stops_everything(
    cloud: FakeCloud,
    tfvars: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    *,
    failing: list[list[str]],
    expected: dict[str, str | None],
) -> None:
    for prefix in failing:
        cloud.answer(prefix, rc=1, stderr="ERROR: (gcloud) something is wrong\n")

    assert _run(tmp_path, "deploy", *_target(tfvars)) == 2

    lines = _check_lines(capfd.readouterr().out)
    for name, fix in expected.items():
        if fix is None:
            assert lines[name].startswith("--"), lines[name]
        else:
            assert lines[name].startswith("FAIL"), lines[name]
            assert fix in lines[name], lines[name]
    assert [name for name, line in lines.items() if line.startswith("FAIL")] == [
        name for name, fix in expected.items() if fix is not None
    ]
    assert not [call for call in cloud.calls() if call[:2] == TF]  # no init, plan or apply


def test_missing_bucket_says_how_to_version_it(
    cloud: FakeCloud, tfvars: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cloud.answer(["gcloud", "storage", "buckets", "describe"], rc=1, stderr="ERROR: not found: 404")

    assert _run(tmp_path, "plan", *_target(tfvars), "--state-bucket", "my-state") == 2

    line = _check_lines(capfd.readouterr().out)["state bucket"]
    assert "gs://my-state not reachable (ERROR: not found: 404)" in line
    assert "gcloud storage buckets update gs://my-state --versioning" in line


def test_every_failure_is_reported_at_once(
    cloud: FakeCloud, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cloud.answer(["terraform", "version", "-json"], stdout='{"terraform_version": "1.4.7"}')

    assert _run(tmp_path, "plan") == 2  # no PROJECT, no REGION, no tfvars, old Terraform

    lines = _check_lines(capfd.readouterr().out)
    assert lines["PROJECT"].startswith("FAIL")
    assert "PROJECT=" in lines["PROJECT"]
    assert lines["REGION"].startswith("FAIL")
    assert "REGION=" in lines["REGION"]
    assert lines["terraform"].startswith("FAIL")
    assert "1.4.7" in lines["terraform"]
    assert lines["state bucket"].startswith("--")
    missing = sorted(set(variables_without_default(REPO_ROOT / "terraform")) - {"project_id"})
    assert lines["terraform variables"].startswith("FAIL")
    assert f"no value for {', '.join(missing)}" in lines["terraform variables"]
    assert "TFVARS=" in lines["terraform variables"]


def test_variables_may_come_from_the_environment(
    cloud: FakeCloud,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in variables_without_default(REPO_ROOT / "terraform"):
        monkeypatch.setenv(f"TF_VAR_{name}", "x")

    assert _run(tmp_path, "plan", *_target(None)) == 0

    assert _check_lines(capfd.readouterr().out)["terraform variables"].startswith("ok")


def test_a_missing_tfvars_file_is_named(
    cloud: FakeCloud, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, "plan", *_target(tmp_path / "nope.tfvars")) == 2

    line = _check_lines(capfd.readouterr().out)["terraform variables"]
    assert line.startswith("FAIL")
    assert "nope.tfvars not found" in line


@pytest.mark.parametrize(
    ("version", "constraint", "ok"),
    [
        ("1.11.4", ">= 1.5", True),
        ("1.4.7", ">= 1.5", False),
        ("1.5.0", ">= 1.5, < 2.0", True),
        ("2.0.0", ">= 1.5, < 2.0", False),
        ("1.9.1", "~> 1.5", True),
        ("2.1.0", "~> 1.5", False),
        ("1.5.9", "~> 1.5.2", True),
        ("1.6.0", "~> 1.5.2", False),
        ("1.12.0-beta1", ">= 1.12", True),
        ("1.11.4", "!= 1.11.4", False),
    ],
)
def test_terraform_version_constraints(version: str, constraint: str, ok: bool) -> None:
    assert satisfies(version, constraint) is ok


# -- plan and deploy ------------------------------------------------------------------------


def test_plan_bundles_then_inits_the_backend_and_saves_a_plan(
    cloud: FakeCloud, tfvars: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, "plan", *_target(tfvars)) == 0

    plan_file = (tmp_path / "run" / "terraform.tfplan").resolve()
    assert cloud.calls() == [
        *_preflight_calls(),
        _init(),
        [*TF, "plan", "-input=false", f"-out={plan_file}", *_var_args(tmp_path, tfvars)],
    ]
    out = capfd.readouterr().out
    assert all(line.startswith("ok") for line in _check_lines(out).values())
    for function in ("intake", "sync", "channels"):
        assert (tmp_path / "run" / "bundle" / f"{function}.zip").is_file()
        assert f"{function}.zip" in out
        assert "sha256" in out
    assert f"plan saved to {plan_file}" in out


def test_deploy_applies_then_configures_nothing_outside_terraform(
    cloud: FakeCloud, tfvars: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Delivery (push subscriptions, retry, dead letters) is Terraform's: after ``apply`` the
    deploy only reads the outputs, and never patches a subscription with gcloud."""
    assert _run(tmp_path, "deploy", *_target(tfvars), "--state-bucket", "my-state") == 0

    assert cloud.calls() == [
        *_preflight_calls("my-state"),
        _init("my-state"),
        *_secrets_calls(tmp_path, tfvars),
        [*TF, "apply", *_var_args(tmp_path, tfvars)],
        [*TF, "output", "-json"],
    ]
    out = capfd.readouterr().out
    assert f"intake URL: {OUTPUTS['intake_url']}" in out
    assert "confsync enroll --subject" in out
    assert "gcloud functions logs read confsync-sync" in out
    assert "client id 112233445566778899" in out
    assert "subscriptions pull confsync-dead-letter-inspect" in out
    env = (tmp_path / "run" / "deploy.env").read_text().splitlines()
    assert f"GOOGLE_CLOUD_PROJECT={PROJECT}" in env
    assert f"CONFSYNC_SCHEDULER_JOB={OUTPUTS['scheduler_job']}" in env
    assert "CONFSYNC_ALLOWED_DOMAINS=example.com,corp.example.com" in env


def test_deploy_needs_no_trigger_output(cloud: FakeCloud, tfvars: Path, tmp_path: Path) -> None:
    outputs = {k: {"value": v} for k, v in OUTPUTS.items() if k != "push_subscriptions"}
    cloud.answer([*TF, "output", "-json"], stdout=json.dumps(outputs))

    assert _run(tmp_path, "deploy", *_target(tfvars), "--auto-approve") == 0

    calls = cloud.calls()
    assert [*TF, "apply", "-auto-approve", *_var_args(tmp_path, tfvars)] in calls
    assert not [
        call for call in calls if call[:2] in (["gcloud", "pubsub"], ["gcloud", "eventarc"])
    ]


def test_a_failed_apply_stops_before_the_post_apply_steps(
    cloud: FakeCloud, tfvars: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cloud.answer(
        [*TF, "apply", f"-var=project_id={PROJECT}"], rc=1, stderr="Error: permission denied\n"
    )

    assert _run(tmp_path, "deploy", *_target(tfvars)) == 1

    assert cloud.calls()[-1] == [*TF, "apply", *_var_args(tmp_path, tfvars)]
    assert "terraform apply failed (exit status 1)" in capfd.readouterr().err
    assert not (tmp_path / "run" / "deploy.env").exists()


def test_deploy_stops_before_the_functions_when_a_secret_has_no_value(
    cloud: FakeCloud, tfvars: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cloud.answer(["gcloud", "secrets", "versions", "list", SECRETS[1]], stdout="")

    assert _run(tmp_path, "deploy", *_target(tfvars)) == 1

    calls = cloud.calls()
    assert calls[-len(_secrets_calls(tmp_path, tfvars)) :] == _secrets_calls(tmp_path, tfvars)
    assert [*TF, "apply", *_var_args(tmp_path, tfvars)] not in calls
    captured = capfd.readouterr()
    assert (
        f"FAIL secret {SECRETS[1]} has no value: add one (read from stdin, never an argument): "
        f"gcloud secrets versions add {SECRETS[1]} --data-file=- --project={PROJECT}"
    ) in captured.out
    assert SECRETS[0] + " has no value" not in captured.out
    assert "1 secret(s) without a value" in captured.err


def test_a_failed_secrets_apply_stops_everything_after_it(
    cloud: FakeCloud, tfvars: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cloud.answer([*TF, "apply", "-target=google_secret_manager_secret.this"], rc=1)

    assert _run(tmp_path, "deploy", *_target(tfvars)) == 1

    assert cloud.calls()[-1][:4] == [*TF, "apply", "-target=google_secret_manager_secret.this"]
    assert "terraform apply of the secrets failed" in capfd.readouterr().err


# -- destroy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "confirm", [[], ["--confirm", "some-other-project"]], ids=["none", "wrong"]
)
def test_destroy_refuses_without_the_project_id(
    cloud: FakeCloud,
    tfvars: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    confirm: list[str],
) -> None:
    assert _run(tmp_path, "destroy", *_target(tfvars), *confirm) == 1

    assert f"not destroyed: type {PROJECT} when asked, or pass CONFIRM={PROJECT}" in (
        capfd.readouterr().err
    )
    assert cloud.calls() == _preflight_calls()


def test_destroy_with_the_project_id_destroys(
    cloud: FakeCloud, tfvars: Path, tmp_path: Path
) -> None:
    assert _run(tmp_path, "destroy", *_target(tfvars), "--confirm", PROJECT) == 0

    assert cloud.calls()[len(_preflight_calls()) :] == [
        _init(),
        [*TF, "destroy", "-auto-approve", "-input=false", *_var_args(tmp_path, tfvars)],
    ]
