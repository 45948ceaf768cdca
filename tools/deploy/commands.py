"""``devstack plan | deploy | destroy``: the production stack, driven through Terraform.

Each command runs the preflight (:mod:`devstack.preflight`: every check, one line each, exit 2 if
any failed), builds the function zips (:mod:`devstack.bundle`; Terraform uploads them by hash,
and even ``destroy`` reads them), initialises the ``gcs`` backend with the state bucket, then:

- ``plan``: ``terraform plan -out`` into the run directory, to review;
- ``deploy``: first the secrets alone (``apply -target``: Terraform creates each secret, never its
  value), then a check that every secret has an enabled version: the functions read them when
  they start, so a deploy without values would fail half-way. A secret without one stops the
  deploy with the command that adds it. Then ``terraform apply`` (Terraform shows the plan and
  asks), which declares everything, the push subscriptions of ``sync`` and ``channels`` with their
  retry and dead-letter policies included: nothing is configured after it. Last, the intake URL
  and what to do next;
- ``destroy``: only after the project id is typed back (or ``--confirm PROJECT``).

Every program is started through one :class:`~devstack.preflight.Runner`. Exit codes: 0 done,
1 a command failed or destroy was not confirmed, 2 the preflight failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.bundle import FUNCTIONS, BundleError, build_bundles, print_bundles
from deploy.preflight import Runner, Target, preflight

__all__ = [
    "Deployment",
    "add_parsers",
]

_DEFAULT_BUNDLE = Path("..") / ".run" / "bundle"  # variables.tf's function_sources default
SECRETS_TARGET = "google_secret_manager_secret.this"  # terraform/secrets.tf
DEPLOY_ENV = "deploy.env"
PLAN_FILE = "terraform.tfplan"


class DeployError(Exception):
    """A step failed; the message says which and what to do."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """One checkout's Terraform module, run against one :class:`Target`."""

    runner: Runner
    target: Target
    repo_root: Path
    run_dir: Path

    @property
    def terraform_dir(self) -> Path:
        return self.repo_root / "terraform"

    def terraform(self, *args: str) -> list[str]:
        return ["terraform", "-chdir=terraform", *args]

    def var_args(self) -> list[str]:
        """The variables on the command line: project, region, the tfvars file, the zips."""
        args = [f"-var=project_id={self.target.project}", f"-var=region={self.target.region}"]
        if self.target.tfvars is not None:  # -chdir moves Terraform: give it an absolute path
            args.append(f"-var-file={self.target.tfvars.resolve()}")
        bundle_dir = (self.run_dir / "bundle").resolve()
        if bundle_dir != (self.terraform_dir / _DEFAULT_BUNDLE).resolve():
            sources = {name: str(bundle_dir / f"{name}.zip") for name in sorted(FUNCTIONS)}
            args.append(f"-var=function_sources={json.dumps(sources)}")
        return args

    # -- steps ------------------------------------------------------------------------------

    def check(self) -> bool:
        checks = preflight(self.runner, self.target, self.terraform_dir)
        for check in checks:
            print(check.line())
        failed = [check.name for check in checks if check.status == "fail"]
        if failed:  # a skipped check always follows a failed one
            print(f"preflight failed ({', '.join(failed)}): nothing was changed", file=sys.stderr)
        return not failed

    def bundle(self) -> None:
        try:
            print_bundles(build_bundles(self.repo_root, self.run_dir / "bundle"))
        except BundleError as err:
            raise DeployError(f"bundle: {err}") from err

    def _stream(self, argv: list[str], what: str) -> None:
        print("+ " + " ".join(argv), flush=True)
        status = self.runner.stream(argv)
        if status != 0:
            raise DeployError(f"{what} failed (exit status {status}); see its output above")

    def init(self) -> None:
        self._stream(
            self.terraform(
                "init",
                "-input=false",
                "-reconfigure",  # a new bucket or prefix is a new state, never a migration
                f"-backend-config=bucket={self.target.state_bucket}",
                f"-backend-config=prefix={self.target.state_prefix}",
            ),
            "terraform init",
        )

    def plan(self) -> Path:
        plan_file = (self.run_dir / PLAN_FILE).resolve()
        self._stream(
            self.terraform("plan", "-input=false", f"-out={plan_file}", *self.var_args()),
            "terraform plan",
        )
        return plan_file

    def apply(self, *, auto_approve: bool) -> None:
        approve = ["-auto-approve"] if auto_approve else []
        self._stream(self.terraform("apply", *approve, *self.var_args()), "terraform apply")

    def apply_secrets(self, *, auto_approve: bool) -> None:
        """Create the secrets alone (a no-op once they exist), so they can be given values."""
        approve = ["-auto-approve"] if auto_approve else []
        self._stream(
            self.terraform("apply", f"-target={SECRETS_TARGET}", *approve, *self.var_args()),
            "terraform apply of the secrets",
        )

    def secret_ids(self) -> list[str]:
        """The secret ids in the Terraform state (``terraform show -json``)."""
        answer = self.runner.capture(self.terraform("show", "-json"))
        try:
            state = json.loads(answer.stdout) if answer.ok else None
        except ValueError:
            state = None
        if not isinstance(state, dict):
            raise DeployError(f"`terraform show -json` failed: {answer.reason()}")
        resources = (state.get("values") or {}).get("root_module", {}).get("resources", [])
        return sorted(
            str(resource["values"]["secret_id"])
            for resource in resources
            if resource.get("type") == "google_secret_manager_secret"
            and isinstance(resource.get("values"), dict)
            and resource["values"].get("secret_id")
        )

    def require_secret_values(self) -> None:
        """Stop, naming each secret without an enabled version and the command that adds one."""
        project = f"--project={self.target.project}"
        empty = []
        for secret in self.secret_ids():
            answer = self.runner.capture(
                [
                    "gcloud",
                    "secrets",
                    "versions",
                    "list",
                    secret,
                    project,
                    "--filter=state=ENABLED",
                    "--limit=1",
                    "--format=value(name)",
                ]
            )
            if not answer.ok:
                raise DeployError(
                    f"could not read the versions of secret {secret}: {answer.reason()}"
                )
            if not answer.stdout.strip():
                empty.append(secret)
        for secret in empty:
            print(
                f"FAIL secret {secret} has no value: add one (read from stdin, never an "
                f"argument): gcloud secrets versions add {secret} --data-file=- {project}"
            )
        if empty:
            raise DeployError(
                f"{len(empty)} secret(s) without a value (the functions read them at start; "
                "docs/deploying.md says what each holds); add them, then `make deploy` again"
            )
        print("ok   every secret has a value")

    def destroy(self) -> None:
        self._stream(
            self.terraform("destroy", "-auto-approve", "-input=false", *self.var_args()),
            "terraform destroy",
        )

    def outputs(self) -> dict[str, Any]:
        answer = self.runner.capture(self.terraform("output", "-json"))
        try:
            raw = json.loads(answer.stdout) if answer.ok else None
        except ValueError:
            raw = None
        if not isinstance(raw, dict):
            raise DeployError(f"`terraform output -json` failed: {answer.reason()}")
        return {name: entry.get("value") for name, entry in raw.items() if isinstance(entry, dict)}

    def next_steps(self, outputs: Mapping[str, Any]) -> None:
        """The intake URL, a ready environment for the confsync CLI, and what to do next."""
        env = {
            "GOOGLE_CLOUD_PROJECT": self.target.project,
            "CONFSYNC_SYNC_TOPIC": outputs.get("sync_requests_topic") or "sync-requests",
            "CONFSYNC_CHANNEL_COMMANDS_TOPIC": outputs.get("channel_commands_topic")
            or "channel-commands",
        }
        if outputs.get("scheduler_job"):
            env["CONFSYNC_SCHEDULER_JOB"] = str(outputs["scheduler_job"])
        if outputs.get("allowed_domains"):  # what `confsync enroll` checks subjects against
            env["CONFSYNC_ALLOWED_DOMAINS"] = str(outputs["allowed_domains"])
        env_path = self.run_dir / DEPLOY_ENV
        env_path.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
        names = outputs.get("function_names")
        sync_name = names.get("sync") if isinstance(names, dict) else None
        inspect = outputs.get("dead_letter_subscription") or "DEAD_LETTER_SUBSCRIPTION"
        project = f"--project={self.target.project}"
        for line in (
            f"\ndeployed to {self.target.project} ({self.target.region})",
            f"intake URL: {outputs.get('intake_url', '(not in the outputs)')}",
            "next steps:",
            *self._delegation_step(outputs),
            f"  point the confsync CLI at it:  set -a; . {env_path}; set +a",
            "  enroll a calendar:  .venv/bin/confsync enroll --subject USER@DOMAIN"
            " --calendar primary --wait 120",
            "  see every calendar:  .venv/bin/confsync status",
            "  prove it works end to end:  make smoke  (docs/runbooks/smoke-test-a-deployment.md)",
            f"  logs:  gcloud functions logs read {sync_name or 'FUNCTION'} --gen2"
            f" --region={self.target.region} {project}",
            f"  dead letters:  gcloud pubsub subscriptions pull {inspect} {project}",
        ):
            print(line)

    @staticmethod
    def _delegation_step(outputs: Mapping[str, Any]) -> list[str]:
        """With delegated credentials, nothing syncs until a Workspace admin authorizes."""
        client_id, scopes = outputs.get("delegation_client_id"), outputs.get("delegation_scopes")
        if not client_id:
            return []
        listed = ",".join(scopes) if isinstance(scopes, list) else str(scopes)
        return [
            "  authorize domain-wide delegation (Workspace admin console, API controls):"
            f"  client id {client_id}, scopes {listed}"
        ]


# -- the commands ---------------------------------------------------------------------------


def _confirmed(target: Target, confirm: str | None) -> bool:
    """Whether the user typed the project id (or passed it as ``--confirm``)."""
    if confirm:
        return confirm == target.project
    if not sys.stdin.isatty():
        return False
    try:
        answer = input(
            f"destroy every confsync resource in {target.project}? type the project id: "
        )
    except EOFError:
        return False
    return answer.strip() == target.project


def _run(deployment: Deployment, steps: Callable[[Deployment], None]) -> int:
    if not deployment.check():
        return 2
    try:
        steps(deployment)
    except DeployError as err:
        print(f"devstack: {err}", file=sys.stderr)
        return 1
    return 0


def _plan_steps(deployment: Deployment) -> None:
    deployment.bundle()
    deployment.init()
    plan_file = deployment.plan()
    print(f"plan saved to {plan_file}; review it, then `make deploy` with the same variables")


def _deploy_steps(deployment: Deployment, *, auto_approve: bool) -> None:
    deployment.bundle()
    deployment.init()
    deployment.apply_secrets(auto_approve=auto_approve)
    deployment.require_secret_values()
    deployment.apply(auto_approve=auto_approve)
    deployment.next_steps(deployment.outputs())


def _destroy_steps(deployment: Deployment, confirm: str | None) -> None:
    if not _confirmed(deployment.target, confirm):
        project = deployment.target.project
        raise DeployError(f"not destroyed: type {project} when asked, or pass CONFIRM={project}")
    deployment.bundle()
    deployment.init()
    deployment.destroy()
    print(f"destroyed confsync in {deployment.target.project}; the state bucket is kept")


def deployment_from_args(
    args: argparse.Namespace, repo_root: Path, env: Mapping[str, str] | None = None
) -> Deployment:
    project: str = args.project.strip()
    target = Target(
        project=project,
        region=args.region.strip(),
        state_bucket=args.state_bucket.strip() or f"{project or 'PROJECT'}-tfstate",
        state_prefix=args.state_prefix.strip() or "confsync",
        tfvars=Path(args.tfvars) if args.tfvars.strip() else None,
    )
    return Deployment(Runner(repo_root, env), target, repo_root, args.run_dir)


def run_command(
    args: argparse.Namespace, repo_root: Path, env: Mapping[str, str] | None = None
) -> int:
    """Handle ``plan``, ``deploy`` or ``destroy`` (``args.command``)."""
    deployment = deployment_from_args(args, repo_root, env)
    deployment.run_dir.mkdir(parents=True, exist_ok=True)
    if args.command == "plan":
        return _run(deployment, _plan_steps)
    if args.command == "deploy":
        return _run(deployment, lambda d: _deploy_steps(d, auto_approve=args.auto_approve))
    return _run(deployment, lambda d: _destroy_steps(d, args.confirm))


def run_bundle(repo_root: Path, run_dir: Path) -> int:
    """Handle ``bundle``: build the zips, print path, size and hash of each."""
    try:
        print_bundles(build_bundles(repo_root, run_dir / "bundle"))
    except BundleError as err:
        print(f"devstack: {err}", file=sys.stderr)
        return 1
    return 0


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", default="", help="project to deploy into (PROJECT)")
    parser.add_argument("--region", default="", help="region of the functions (REGION)")
    parser.add_argument(
        "--state-bucket", default="", help="Terraform state bucket (default: PROJECT-tfstate)"
    )
    parser.add_argument("--state-prefix", default="confsync", help="state prefix (%(default)s)")
    parser.add_argument("--tfvars", default="", help="a .tfvars file with the required variables")


def add_parsers(commands: Any) -> None:
    """Add ``bundle``, ``plan``, ``deploy`` and ``destroy`` to devstack's subcommands."""
    commands.add_parser("bundle", help="build the function zips into RUN_DIR/bundle")
    _target_options(commands.add_parser("plan", help="preflight, bundle, terraform plan"))
    deploy = commands.add_parser("deploy", help="preflight, bundle, secrets check, terraform apply")
    _target_options(deploy)
    deploy.add_argument("--auto-approve", action="store_true", help="apply without asking")
    destroy = commands.add_parser("destroy", help="terraform destroy, after confirmation")
    _target_options(destroy)
    destroy.add_argument("--confirm", default="", help="the project id, to skip the question")


def handlers(repo_root: Path) -> dict[str, Callable[[argparse.Namespace], int]]:
    """devstack's handlers of the commands :func:`add_parsers` adds."""

    def deploy_handler(args: argparse.Namespace) -> int:
        return run_command(args, repo_root)

    return {
        "bundle": lambda args: run_bundle(repo_root, args.run_dir),
        "plan": deploy_handler,
        "deploy": deploy_handler,
        "destroy": deploy_handler,
    }
