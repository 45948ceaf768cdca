"""Every relative link in the repository's Markdown points at a file or folder that exists, so a
moved module or document cannot leave a dead link behind in the README, the design notes, the
decision records or an emulator's documentation."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.paths import REPO_ROOT

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)\s]*)?\)")
EXTERNAL = ("http://", "https://", "mailto:")
PLACEHOLDERS = {"..."}  # the decision-record template's "superseded by [...](...)"


def _markdown_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return [REPO_ROOT / name for name in listed if (REPO_ROOT / name).is_file()]


def test_the_repository_has_markdown_to_check() -> None:
    names = {path.relative_to(REPO_ROOT).as_posix() for path in _markdown_files()}
    assert {"README.md", "docs/DESIGN.md"} <= names


def test_every_relative_markdown_link_resolves() -> None:
    dead = [
        f"{path.relative_to(REPO_ROOT)}: {target}"
        for path in _markdown_files()
        for target in LINK.findall(path.read_text(encoding="utf-8"))
        if not target.startswith(EXTERNAL)
        and target not in PLACEHOLDERS
        and not (path.parent / target).exists()
    ]
    assert not dead, "dead relative links:\n  " + "\n  ".join(dead)
