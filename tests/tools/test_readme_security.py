"""README's Security section stays complete: what is authenticated how, what is logged, and how
every secret the functions read rotates (a secret added to confsync.settings without a rotation
row fails here)."""

from __future__ import annotations

import re
from pathlib import Path

from confsync.settings import VARIABLES

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(text: str, heading: str, level: str) -> str:
    start = text.index(f"{level} {heading}\n")
    rest = text[start + len(heading) + len(level) + 2 :]
    end = re.search(rf"^{level} ", rest, flags=re.MULTILINE)
    return rest[: end.start()] if end else rest


def test_the_security_section_answers_the_three_questions() -> None:
    security = _section(README.read_text(encoding="utf-8"), "Security", "##")

    for heading in ("What is authenticated, and how", "What is logged", "How each secret rotates"):
        assert f"### {heading}\n" in security, heading


def test_every_secret_the_functions_read_has_a_rotation_row() -> None:
    security = _section(README.read_text(encoding="utf-8"), "Security", "##")
    rotation = _section(security, "How each secret rotates", "###")
    secrets = [v.name for v in VARIABLES if v.secret]

    assert secrets
    missing = [name for name in secrets if f"`{name}`" not in rotation]
    assert not missing, f"no rotation row for {missing}"


def test_the_logging_paragraph_says_what_calendar_keys_reveal() -> None:
    logged = _section(
        _section(README.read_text(encoding="utf-8"), "Security", "##"), "What is logged", "###"
    )

    assert "unsalted" in logged
    assert "e-mail" in logged
