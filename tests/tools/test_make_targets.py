"""Every test tier (a folder under tests/ holding tests) has its own make target, and every
``test-<tier>`` target runs exactly its folder; ``make test`` still runs the whole suite."""

from __future__ import annotations

import re

from tests.support.paths import REPO_ROOT

TESTS = REPO_ROOT / "tests"
RULE = re.compile(r"^(?P<name>[a-z0-9-]+):(?P<deps>[^=\n#]*?)(?:##(?P<help>.*))?$")


def _makefile() -> str:
    # continuation lines folded, so that a .PHONY list or a recipe reads as one line
    return (REPO_ROOT / "Makefile").read_text().replace("\\\n", " ")


def _rules() -> dict[str, tuple[list[str], str, list[str]]]:
    """Each rule: its prerequisites, its help text and its recipe lines."""
    rules: dict[str, tuple[list[str], str, list[str]]] = {}
    current: list[str] | None = None
    for line in _makefile().splitlines():
        if line.startswith("\t") and current is not None:
            current.append(line.strip())
            continue
        match = RULE.match(line)
        current = None
        if match:
            current = []
            help_text = (match["help"] or "").strip()
            rules[match["name"]] = (match["deps"].split(), help_text, current)
    return rules


def _phony() -> set[str]:
    names: set[str] = set()
    for line in _makefile().splitlines():
        if line.startswith(".PHONY:"):
            names.update(line.removeprefix(".PHONY:").split())
    return names


def _tiers() -> set[str]:
    """Folders directly under tests/ with at least one test module (tests/support is none)."""
    return {
        folder.name
        for folder in TESTS.iterdir()
        if folder.is_dir() and any(folder.rglob("test_*.py"))
    }


def test_every_tier_has_a_target_and_every_target_a_tier() -> None:
    targets = {name.removeprefix("test-") for name in _rules() if name.startswith("test-")}

    assert targets == _tiers()


def test_each_tier_target_runs_its_folder_after_setup_and_is_listed() -> None:
    rules = _rules()
    phony = _phony()
    for tier in sorted(_tiers()):
        name = f"test-{tier}"
        prerequisites, help_text, recipe = rules[name]
        assert prerequisites == ["setup"], name
        assert help_text, f"{name} has no ## help text"
        assert recipe == [f"$(BIN)/pytest tests/{tier} $(PYTEST_ARGS)"], name
        assert name in phony, f"{name} is not .PHONY"


def test_make_test_still_lints_then_runs_the_whole_suite() -> None:
    prerequisites, _, recipe = _rules()["test"]

    assert prerequisites == ["lint"]
    assert "test" in _phony()
    [run] = [line for line in recipe if "pytest" in line]
    assert "$(BIN)/pytest $(PYTEST_ARGS)" in run  # no folder: every tier
    assert "pytest-exit-code" in run


def test_the_support_package_holds_no_tests() -> None:
    assert not any((TESTS / "support").rglob("test_*.py"))
