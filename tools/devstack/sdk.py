"""Locate the gcloud SDK and the emulator jars it ships.

The Firestore and Pub/Sub emulators come with the gcloud CLI as components (Debian packages
``google-cloud-cli-firestore-emulator`` and ``google-cloud-cli-pubsub-emulator``). We run their jars
directly with ``java`` so that each emulator is exactly one process with one PID: killing the
``gcloud emulators ...`` wrapper would leave its Java child behind.

The SDK root is found, in order, from ``CLOUDSDK_ROOT_DIR``, from the real location of the
``gcloud`` executable on ``PATH``, and finally from ``gcloud info``. No path is hard-coded.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MissingPrerequisiteError",
    "SdkJars",
    "find_jars",
    "find_sdk_root",
    "java_major_version",
]

_INSTALL_HINT = {
    "firestore": (
        "install the gcloud component: 'gcloud components install cloud-firestore-emulator' "
        "or the Debian package google-cloud-cli-firestore-emulator"
    ),
    "pubsub": (
        "install the gcloud component: 'gcloud components install pubsub-emulator' "
        "or the Debian package google-cloud-cli-pubsub-emulator"
    ),
}


class MissingPrerequisiteError(RuntimeError):
    """A tool the local emulators need is not installed; the message says how to get it."""


@dataclass(frozen=True)
class SdkJars:
    """The emulator jars of one gcloud SDK installation."""

    sdk_root: Path
    firestore: Path
    pubsub: Path


def find_sdk_root(environ: dict[str, str] | None = None) -> Path:
    """Return the gcloud SDK root directory, or raise MissingPrerequisiteError."""
    env = os.environ if environ is None else environ
    override = env.get("CLOUDSDK_ROOT_DIR")
    if override:
        root = Path(override)
        if (root / "platform").is_dir():
            return root
        raise MissingPrerequisiteError(f"CLOUDSDK_ROOT_DIR={override} has no platform/ folder")
    gcloud = shutil.which("gcloud", path=env.get("PATH"))
    if gcloud is None:
        raise MissingPrerequisiteError(
            "gcloud CLI not found on PATH: install the Google Cloud CLI, "
            "or set CLOUDSDK_ROOT_DIR to its root"
        )
    candidate = Path(gcloud).resolve().parent.parent
    if (candidate / "platform").is_dir():
        return candidate
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [gcloud, "info", "--format=value(installation.sdk_root)"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    root = Path(result.stdout.strip())
    if result.returncode != 0 or not (root / "platform").is_dir():
        raise MissingPrerequisiteError(
            "could not determine the gcloud SDK root ('gcloud info' failed)"
        )
    return root


def _newest(paths: list[Path]) -> Path:
    def version_key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.name))

    return max(paths, key=version_key)


def find_jars(environ: dict[str, str] | None = None) -> SdkJars:
    """Return the Firestore and Pub/Sub emulator jars, or raise one MissingPrerequisiteError
    whose message has one line per missing piece."""
    root = find_sdk_root(environ)
    problems: list[str] = []
    firestore = root / "platform" / "cloud-firestore-emulator" / "cloud-firestore-emulator.jar"
    if not firestore.is_file():
        problems.append(f"Firestore emulator missing: {_INSTALL_HINT['firestore']}")
    pubsub_jars = sorted((root / "platform" / "pubsub-emulator" / "lib").glob("*-all.jar"))
    if not pubsub_jars:
        problems.append(f"Pub/Sub emulator missing: {_INSTALL_HINT['pubsub']}")
    if problems:
        raise MissingPrerequisiteError("\n".join(problems))
    return SdkJars(sdk_root=root, firestore=firestore, pubsub=_newest(pubsub_jars))


def java_major_version(java: str = "java") -> int:
    """Return the major version of the Java runtime on PATH, or raise MissingPrerequisiteError."""
    executable = shutil.which(java)
    if executable is None:
        raise MissingPrerequisiteError(
            "Java runtime not found: install Java 11 or newer (Debian: default-jre-headless)"
        )
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [executable, "-version"], capture_output=True, text=True, check=False, timeout=60
    )
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        raise MissingPrerequisiteError(
            f"could not read the Java version from '{executable} -version'"
        )
    major = int(match.group(1))
    # Java 8 and older report "1.8.0_xxx".
    return int(match.group(2) or 0) if major == 1 else major
