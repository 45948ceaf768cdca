"""A notification's cold start does not pay for add-on enrolment: the enrolment service, the ID
token checks and their google-auth adapter are imported by the first ``/v1/enroll`` request only."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO_ROOT

ENROLMENT_MODULES = (
    "confsync.enroll_intake",
    "confsync.id_tokens",
    "confsync.id_token_certs",
    "confsync.adapters.google_id_tokens",
)


def test_importing_the_intake_function_imports_no_enrolment_module() -> None:
    env = {
        "GOOGLE_CLOUD_PROJECT": "p",
        "CONFSYNC_CHANNEL_TOKEN_KEYS": "k1:a-secret-of-at-least-thirty-two-bytes",
        "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "k1",
        "CONFSYNC_ALLOWED_DOMAINS": "example.com",
        "CONFSYNC_ENROLL_AUDIENCES": "addon.apps.googleusercontent.com",
        "PUBSUB_EMULATOR_HOST": "127.0.0.1:9",  # the client is built, never used
        "PATH": "/usr/bin:/bin",
    }
    loaded = f"print(sorted(m for m in {ENROLMENT_MODULES!r} if m in sys.modules))"
    probe = "; ".join(
        [
            "import os, sys",
            "sys.path.insert(0, 'functions/intake')",
            "import main",
            loaded,
            "import confsync.bootstrap_intake as b, confsync.config as c",
            "b.build_enroll_service(c.load_intake_config(os.environ))",
            loaded,
        ]
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    before, after = answer.stdout.strip().splitlines()
    assert before == "[]"
    assert after == repr(sorted(ENROLMENT_MODULES))
