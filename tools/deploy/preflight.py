"""What ``make plan`` / ``deploy`` / ``destroy`` check before touching a project, and the runner.

A deployment that stops halfway (no credentials for Terraform, no state bucket, a variable
missing) is slower to recover from than one refused up front, so every check runs, each prints
one line (``ok`` or how to fix it), and the caller stops with exit 2 if any failed. A check that
depends on one that failed says "not checked" instead of piling up a second error.

:class:`Runner` is the only way the deploy tooling starts a program, so tests can put fake
``gcloud`` and ``terraform`` scripts on its ``PATH`` and record every command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Check",
    "Completed",
    "Runner",
    "Target",
    "bucket_fix",
    "preflight",
    "satisfies",
]

_SUPPLIED_BY_FLAGS = frozenset({"project_id", "region"})  # from PROJECT and REGION


@dataclass(frozen=True, slots=True)
class Completed:
    """A finished command: exit status and what it printed (empty when not captured)."""

    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def reason(self) -> str:
        """The last non-empty line of stderr (gcloud and terraform put the cause there)."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.returncode}"


class Runner:
    """Starts external programs from ``cwd`` with ``env`` (default: this process's)."""

    def __init__(self, cwd: Path, env: Mapping[str, str] | None = None) -> None:
        self.cwd = cwd
        self.env = dict(os.environ if env is None else env)

    def which(self, program: str) -> str | None:
        """Where ``program`` is on this runner's ``PATH``, or None."""
        return shutil.which(program, path=self.env.get("PATH", ""))

    def capture(self, argv: Sequence[str]) -> Completed:
        """Run with output captured and no input (a prompt fails instead of hanging)."""
        try:
            done = subprocess.run(  # noqa: S603 - argv is built by this tooling, never a shell
                list(argv),
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                check=False,
            )
        except FileNotFoundError:
            return Completed(127, "", f"{argv[0]}: not found")
        return Completed(done.returncode, done.stdout, done.stderr)

    def stream(self, argv: Sequence[str]) -> int:
        """Run attached to the terminal (``terraform apply`` shows its plan and asks)."""
        try:
            return subprocess.run(  # noqa: S603 - as above
                list(argv), cwd=self.cwd, env=self.env, check=False
            ).returncode
        except FileNotFoundError:
            return 127


@dataclass(frozen=True, slots=True)
class Target:
    """Where to deploy: project, region, the Terraform state's bucket and prefix, a tfvars file."""

    project: str
    region: str
    state_bucket: str
    state_prefix: str
    tfvars: Path | None = None


@dataclass(frozen=True, slots=True)
class Check:
    """One preflight line. ``skip``: not checked because something it needs failed."""

    name: str
    status: Literal["ok", "fail", "skip"]
    detail: str

    def line(self) -> str:
        mark = {"ok": "ok  ", "fail": "FAIL", "skip": "--  "}[self.status]
        return f"{mark}  {self.name}: {self.detail}"


# -- Terraform version constraints ----------------------------------------------------------


def _numbers(version: str) -> tuple[int, ...]:
    core = version.strip().lstrip("v").split("-")[0].split("+")[0]
    return tuple(int(part) for part in core.split("."))


def _pad(numbers: tuple[int, ...], width: int) -> tuple[int, ...]:
    return numbers + (0,) * (width - len(numbers))


def _one(version: tuple[int, ...], clause: str) -> bool:
    match = re.fullmatch(r"\s*(~>|>=|<=|!=|=|>|<)?\s*v?([0-9][0-9.]*)\s*", clause)
    if match is None:
        raise ValueError(f"unsupported version constraint {clause!r}")
    op, wanted = match.group(1) or "=", _numbers(match.group(2))
    width = max(len(version), len(wanted), 3)
    have, want = _pad(version, width), _pad(wanted, width)
    if op == "~>":  # the rightmost given part may grow: ~> 1.5 is >= 1.5, < 2.0
        prefix = len(wanted) - 1 if len(wanted) > 1 else 1
        return have >= want and have[:prefix] == want[:prefix]
    return {
        "=": have == want,
        "!=": have != want,
        ">": have > want,
        ">=": have >= want,
        "<": have < want,
        "<=": have <= want,
    }[op]


def satisfies(version: str, constraint: str) -> bool:
    """Whether ``version`` (``1.11.4``) meets a Terraform constraint (``>= 1.5, < 2``)."""
    numbers = _numbers(version)
    return all(_one(numbers, clause) for clause in constraint.split(",") if clause.strip())


# -- reading the module ---------------------------------------------------------------------


def _load_hcl(path: Path) -> dict[str, Any]:
    if path.name.endswith(".json"):
        loaded = json.loads(path.read_text())
        return loaded if isinstance(loaded, dict) else {}
    import hcl2  # noqa: PLC0415 - takes about a second: only the deploy commands pay it

    options = hcl2.SerializationOptions(strip_string_quotes=True)
    return hcl2.loads(path.read_text(), serialization_options=options)


def required_version(terraform_dir: Path) -> str | None:
    """The ``required_version`` constraint of the module's ``terraform`` block."""
    for block in _load_hcl(terraform_dir / "versions.tf").get("terraform", []):
        if "required_version" in block:
            return str(block["required_version"])
    return None


def variables_without_default(terraform_dir: Path) -> list[str]:
    """Names of the module's variables that must be given a value."""
    names: list[str] = []
    for path in sorted(terraform_dir.glob("*.tf")):
        for block in _load_hcl(path).get("variable", []):
            names += [name for name, body in block.items() if "default" not in body]
    return sorted(names)


def _auto_tfvars(terraform_dir: Path) -> list[Path]:
    """The files Terraform loads by itself from its working directory."""
    found = [terraform_dir / "terraform.tfvars", terraform_dir / "terraform.tfvars.json"]
    found += sorted(terraform_dir.glob("*.auto.tfvars")) + sorted(
        terraform_dir.glob("*.auto.tfvars.json")
    )
    return [path for path in found if path.is_file()]


# -- the checks -----------------------------------------------------------------------------


def _gcloud_checks(runner: Runner) -> tuple[list[Check], bool]:
    """gcloud present, logged in, and application-default credentials (Terraform's)."""
    path = runner.which("gcloud")
    if path is None:
        fix = "not found on PATH: install the Google Cloud CLI, then `gcloud auth login`"
        skip = "not checked (no gcloud)"
        return [
            Check("gcloud", "fail", fix),
            Check("gcloud credentials", "skip", skip),
            Check("application-default credentials", "skip", skip),
        ], False
    checks = [Check("gcloud", "ok", path)]
    user = runner.capture(["gcloud", "auth", "print-access-token"])
    checks.append(
        Check("gcloud credentials", "ok", "authenticated")
        if user.ok
        else Check("gcloud credentials", "fail", "not authenticated: run `gcloud auth login`")
    )
    adc = runner.capture(["gcloud", "auth", "application-default", "print-access-token"])
    checks.append(
        Check("application-default credentials", "ok", "present (Terraform uses them)")
        if adc.ok
        else Check(
            "application-default credentials",
            "fail",
            "none (Terraform needs them): run `gcloud auth application-default login`",
        )
    )
    return checks, user.ok


def _terraform_check(runner: Runner, terraform_dir: Path) -> Check:
    if runner.which("terraform") is None:
        return Check("terraform", "fail", "not found on PATH: install Terraform (HashiCorp)")
    constraint = required_version(terraform_dir) or ""
    answer = runner.capture(["terraform", "version", "-json"])
    try:
        version = str(json.loads(answer.stdout)["terraform_version"])
    except (ValueError, KeyError, TypeError):
        return Check("terraform", "fail", f"`terraform version -json` failed: {answer.reason()}")
    if constraint and not satisfies(version, constraint):
        return Check(
            "terraform",
            "fail",
            f"version {version} does not meet {constraint!r}: install one that does",
        )
    return Check("terraform", "ok", f"version {version} (module needs {constraint or 'any'})")


def _setting_checks(target: Target) -> list[Check]:
    checks = []
    for name, value, example in (
        ("PROJECT", target.project, "my-gcp-project"),
        ("REGION", target.region, "europe-west1"),
    ):
        checks.append(
            Check(name, "ok", value)
            if value
            else Check(name, "fail", f"not set: add {name}={example} to the make command")
        )
    return checks


def bucket_fix(target: Target) -> str:
    """The commands that create the state bucket, versioned so old states can be recovered."""
    bucket = f"gs://{target.state_bucket}"
    location = target.region or "REGION"
    return (
        f"gcloud storage buckets create {bucket} --project={target.project} "
        f"--location={location} --uniform-bucket-level-access --public-access-prevention "
        f"&& gcloud storage buckets update {bucket} --versioning"
    )


def _bucket_check(runner: Runner, target: Target, gcloud_ready: bool) -> Check:
    name = "state bucket"
    if not target.project:
        return Check(name, "skip", "not checked (PROJECT not set)")
    if not gcloud_ready:
        return Check(
            name,
            "skip",
            f"gs://{target.state_bucket} not checked (gcloud missing or not logged in)",
        )
    answer = runner.capture(
        [
            "gcloud",
            "storage",
            "buckets",
            "describe",
            f"gs://{target.state_bucket}",
            f"--project={target.project}",
            "--format=value(name)",
        ]
    )
    if answer.ok:
        return Check(name, "ok", f"gs://{target.state_bucket} reachable")
    return Check(
        name,
        "fail",
        f"gs://{target.state_bucket} not reachable ({answer.reason()}); "
        f"create it (or set STATE_BUCKET): {bucket_fix(target)}",
    )


def _variables_check(target: Target, terraform_dir: Path, env: Mapping[str, str]) -> Check:
    name = "terraform variables"
    files = _auto_tfvars(terraform_dir)
    if target.tfvars is not None:
        if not target.tfvars.is_file():
            return Check(name, "fail", f"TFVARS file {target.tfvars} not found")
        files.append(target.tfvars)
    given = set(_SUPPLIED_BY_FLAGS)
    given |= {key[len("TF_VAR_") :] for key in env if key.startswith("TF_VAR_")}
    for path in files:
        try:
            given |= set(_load_hcl(path))
        except Exception as err:  # any parse failure (hcl2 raises several kinds) is one line
            return Check(name, "fail", f"{path} cannot be read: {type(err).__name__}: {err}")
    missing = [var for var in variables_without_default(terraform_dir) if var not in given]
    if missing:
        example = ", ".join(f'{var} = "..."' for var in missing)
        return Check(
            name,
            "fail",
            f"no value for {', '.join(missing)}: write them in a file ({example}) "
            "and pass TFVARS=that-file",
        )
    source = ", ".join(str(path) for path in files) or "PROJECT and REGION"
    return Check(name, "ok", f"every required variable has a value ({source})")


def preflight(runner: Runner, target: Target, terraform_dir: Path) -> list[Check]:
    """Run every check (none stops the others) and return them in a fixed order."""
    gcloud, gcloud_ready = _gcloud_checks(runner)
    return [
        *gcloud,
        _terraform_check(runner, terraform_dir),
        *_setting_checks(target),
        _bucket_check(runner, target, gcloud_ready),
        _variables_check(target, terraform_dir, runner.env),
    ]
