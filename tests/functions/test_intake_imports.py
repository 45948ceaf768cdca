"""Intake's cold start pays only for what intake uses: Pub/Sub, never Firestore."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_intake_function_never_imports_firestore() -> None:
    env = {
        "GOOGLE_CLOUD_PROJECT": "p",
        "CONFSYNC_CHANNEL_TOKEN_KEYS": "k1:a-secret-of-at-least-thirty-two-bytes",
        "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "k1",
        "CONFSYNC_ALLOWED_DOMAINS": "example.com",
        "PATH": "/usr/bin:/bin",
    }
    probe = (
        "import sys; sys.path.insert(0, 'functions/intake'); import main; "
        "print(sorted(m for m in sys.modules if m.startswith('google.cloud.firestore')))"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    assert answer.stdout.strip() == "[]"
