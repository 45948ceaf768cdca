"""Logger names follow the one rule of :mod:`confsync.cloud_logging`: ``__name__``, or a name of the
monitoring contract declared there, or an entry point's :func:`function_logger`."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from confsync.cloud_logging import CHANNELS_LOGGER, SYNC_LOGGER, function_logger

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACT = {"SYNC_LOGGER": SYNC_LOGGER, "CHANNELS_LOGGER": CHANNELS_LOGGER}
SETUP = REPO_ROOT / "shared" / "confsync" / "cloud_logging.py"  # configures loggers by name


def _sources() -> list[Path]:
    package = sorted((REPO_ROOT / "shared" / "confsync").rglob("*.py"))
    return [p for p in package if p != SETUP and "__pycache__" not in p.parts] + sorted(
        (REPO_ROOT / "functions").glob("*/main.py")
    )


def _named_loggers(path: Path) -> list[tuple[int, ast.expr | None]]:
    """The argument of every ``getLogger(...)`` call in ``path`` (None: no argument)."""
    found: list[tuple[int, ast.expr | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "getLogger":
            found.append((node.lineno, node.args[0] if node.args else None))
    return found


def _acceptable(argument: ast.expr | None) -> bool:
    if isinstance(argument, ast.Name):
        return argument.id == "__name__" or argument.id in CONTRACT
    if isinstance(argument, ast.Attribute):  # cloud_logging.SYNC_LOGGER
        return argument.attr in CONTRACT
    return False  # a literal, even a contract name: the constant is the one declaration


def test_every_logger_is_named_by_the_rule() -> None:
    broken = [
        f"{path.relative_to(REPO_ROOT)}:{line}: getLogger"
        f"({'' if argument is None else ast.unparse(argument)})"
        for path in _sources()
        for line, argument in _named_loggers(path)
        if not _acceptable(argument)
    ]
    assert not broken, (
        "name loggers with __name__, a contract name of confsync.cloud_logging, or "
        "function_logger():\n  " + "\n  ".join(broken)
    )


def test_the_contract_names_are_the_ones_the_metrics_select() -> None:
    """terraform/monitoring.tf and tests/terraform/test_monitoring.py read these names."""
    assert SYNC_LOGGER == "confsync.sync"
    assert CHANNELS_LOGGER == "confsync.channels"


@pytest.mark.parametrize("function", ["sync", "channels", "intake"])
def test_entry_point_loggers_are_kept_alive_by_setup_logging(function: str) -> None:
    """setup_logging re-enables the loggers whose name starts with confsync."""
    logger = function_logger(function)
    assert logger.name == f"confsync.functions.{function}"
    assert logger is logging.getLogger(logger.name)
