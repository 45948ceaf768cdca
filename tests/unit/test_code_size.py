"""The product package stays readable in parts: no class in ``shared/`` longer than 250 lines and
no function longer than 80 (counted from the ``def``/``class`` line to the last line of the
body, as ``ast`` reports them). A part that outgrows this is split by job, as ``confsync.sync``
and ``confsync.channels`` were."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import REPO_ROOT

MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 80
PACKAGE = REPO_ROOT / "shared"


def _lengths(path: Path) -> list[tuple[str, str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            found.append((kind, f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.name}", length))
    return found


def _all_lengths() -> list[tuple[str, str, int]]:
    return [entry for path in sorted(PACKAGE.rglob("*.py")) for entry in _lengths(path)]


def test_the_package_is_measured() -> None:
    kinds = {kind for kind, _, _ in _all_lengths()}
    assert kinds == {"class", "function"}


def test_no_class_longer_than_250_lines() -> None:
    long = [
        f"{where}: {n}"
        for kind, where, n in _all_lengths()
        if kind == "class" and n > MAX_CLASS_LINES
    ]
    assert not long, "split these classes by job:\n  " + "\n  ".join(long)


def test_no_function_longer_than_80_lines() -> None:
    long = [
        f"{where}: {n}"
        for kind, where, n in _all_lengths()
        if kind == "function" and n > MAX_FUNCTION_LINES
    ]
    assert not long, "split these functions:\n  " + "\n  ".join(long)
