"""The layers of ``confsync``, checked on the import graph of the source files (``ast``, nothing is
imported). Every import counts: top-level, inside a function (lazy) and under ``TYPE_CHECKING``.

Modules are sorted by name prefix (a prefix ``p`` holds ``p`` itself and ``p.*``), so a module
that is split into a package keeps its layer:

- **outer** modules, which may reach Google and HTTP:

  - ``confsync.adapters`` (the ports' implementations over Google's and HTTP clients),
  - ``confsync.bootstrap`` and ``confsync.bootstrap_intake`` (every ``confsync.bootstrap*``: the
    composition roots that build the functions' services),
  - ``confsync.cli`` (the operators' command line; in no function zip),
  - ``confsync.testing`` (the tests' fakes; in no function zip),
  - ``confsync.cloud_logging`` (the logging setup the entry points call),
  - ``confsync.config`` (each function's configuration, read from the environment);

- **domain** modules: every other module of ``confsync``. Today: ``confsync`` (the package),
  ``calendars``, ``channel_docs``, ``channel_tokens``, ``channels`` (package), ``conference``,
  ``errors``, ``events``, ``grant_crypto``, ``intake``, ``lazy``, ``messages``, ``planner``,
  ``ports``, ``records``, ``redaction``, ``signing``, ``sync`` (package), and ``parsers`` and
  ``settings`` (the environment variables' declarations, pure). A new module is domain unless it
  is put under an outer prefix.

The rules:

1. a domain module imports no ``confsync.adapters``, ``confsync.bootstrap*``, ``confsync.cli`` or
   ``confsync.testing``, and no Google or HTTP library (:data:`FOREIGN`);
2. no module outside ``confsync.cli`` imports ``confsync.cli``, and none outside
   ``confsync.testing`` imports ``confsync.testing``;
3. an entry point, ``functions/*/main.py``, imports from ``confsync`` only the runtime it is
   handed (:data:`ENTRY_POINT_RUNTIME`): the composition roots ``confsync.bootstrap`` and
   ``confsync.bootstrap_intake``, ``confsync.cloud_logging``, ``confsync.config``,
   ``confsync.errors`` (the errors it sorts into ack or retry), ``confsync.lazy``,
   ``confsync.messages`` (decoding its message) and ``confsync.intake`` (intake's
   ``ALLOWED_METHOD`` for its 405 answer). Its other imports (functions-framework, flask,
   cloudevents, the standard library) are not restricted here.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT / "shared"
PACKAGE = "confsync"

OUTER = (
    "confsync.adapters",
    "confsync.bootstrap*",
    "confsync.cli",
    "confsync.testing",
    "confsync.cloud_logging",
    "confsync.config",
)
"""Prefixes of the modules that are not domain (``*``: any further characters of the name)."""

DOMAIN_MAY_NOT_IMPORT = (
    "confsync.adapters",
    "confsync.bootstrap*",
    "confsync.cli",
    "confsync.testing",
)
"""Prefixes of the ``confsync`` modules no domain module imports."""

FOREIGN = (
    "google",
    "googleapiclient",
    "google_auth_httplib2",
    "httplib2",
    "requests",
    "urllib3",
    "functions_framework",
    "cloudevents",
    "flask",
    "werkzeug",
)
"""Prefixes of the Google and HTTP libraries no domain module imports."""

PRIVATE = ("confsync.cli", "confsync.testing")
"""Prefixes only their own modules (and the tests, tools) import."""

ENTRY_POINT_RUNTIME = (
    "confsync.bootstrap",
    "confsync.bootstrap_intake",
    "confsync.cloud_logging",
    "confsync.config",
    "confsync.errors",
    "confsync.lazy",
    "confsync.messages",
    "confsync.intake",
)
"""Prefixes of the ``confsync`` modules an entry point may import."""


@dataclass(frozen=True, slots=True)
class Import:
    """One imported module: who imports it, and where."""

    importer: str
    module: str
    path: Path
    line: int

    def __str__(self) -> str:
        where = self.path.relative_to(REPO_ROOT).as_posix()
        return f"{self.importer} imports {self.module} ({where}:{self.line})"


def within(module: str, prefixes: Iterable[str]) -> bool:
    """Whether ``module`` is one of ``prefixes`` or inside one (``*`` as in fnmatch)."""
    return any(
        fnmatch.fnmatchcase(module, prefix) or fnmatch.fnmatchcase(module, f"{prefix}.*")
        for prefix in prefixes
    )


def module_name(path: Path) -> str:
    """The dotted name of a source file under ``shared/``."""
    parts = path.relative_to(SHARED).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Every module of ``confsync``, by name."""
    return {
        module_name(path): path
        for path in sorted((SHARED / PACKAGE).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def imports(importer: str, path: Path, known: Iterable[str]) -> Iterator[Import]:
    """Every module ``path`` imports, absolute or relative (``from p import x`` imports ``p``, and
    ``p.x`` too when that is a module of ``known``)."""
    modules = set(known)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(importer, alias.name, path, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            yield Import(importer, source, path, node.lineno)
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    yield Import(importer, f"{source}.{alias.name}", path, node.lineno)


def graph() -> list[Import]:
    """Every import of every ``confsync`` module."""
    known = package_modules()
    return [found for name, path in known.items() for found in imports(name, path, known)]


def domain_modules() -> list[str]:
    return sorted(name for name in package_modules() if not within(name, OUTER))


def _report(broken: list[str], rule: str) -> str:
    return f"{rule}:\n  " + "\n  ".join(broken)


def test_the_domain_is_what_the_docstring_says() -> None:
    domain = domain_modules()
    for core in ("confsync.planner", "confsync.ports", "confsync.messages", "confsync.intake"):
        assert core in domain
    assert any(within(name, ["confsync.sync"]) for name in domain)
    assert any(within(name, ["confsync.channels"]) for name in domain)
    assert not any(within(name, OUTER) for name in domain)


def test_domain_modules_import_no_outer_module_and_no_google_or_http_library() -> None:
    domain = set(domain_modules())
    broken = [
        str(found)
        for found in graph()
        if found.importer in domain
        and (within(found.module, DOMAIN_MAY_NOT_IMPORT) or within(found.module, FOREIGN))
    ]
    assert not broken, _report(
        broken,
        "a domain module imports no confsync.adapters, bootstrap*, cli or testing, and no Google "
        "or HTTP library (tests/unit/test_layering.py says which modules are domain)",
    )


def test_no_product_module_imports_the_cli_or_the_fakes() -> None:
    broken = [
        str(found)
        for found in graph()
        for private in PRIVATE
        if within(found.module, [private]) and not within(found.importer, [private])
    ]
    assert not broken, _report(
        broken, "only confsync.cli imports confsync.cli; only confsync.testing imports it"
    )


def test_entry_points_import_only_the_runtime() -> None:
    mains = sorted((REPO_ROOT / "functions").glob("*/main.py"))
    assert {path.parent.name for path in mains} == {"intake", "sync", "channels"}
    known = package_modules()
    broken = [
        str(found)
        for path in mains
        for found in imports(f"functions.{path.parent.name}.main", path, known)
        if within(found.module, [PACKAGE]) and not within(found.module, ENTRY_POINT_RUNTIME)
    ]
    assert not broken, _report(
        broken,
        "functions/*/main.py import from confsync only " + ", ".join(ENTRY_POINT_RUNTIME),
    )


def test_the_rules_see_what_they_forbid(tmp_path: Path) -> None:
    """The import graph finds relative, lazy and TYPE_CHECKING imports."""
    source = tmp_path / "sync" / "apply.py"
    source.parent.mkdir()
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from ..adapters import calendar_api\n"
        "from . import state\n"
        "if TYPE_CHECKING:\n"
        "    from google.cloud import firestore\n"
        "def f() -> None:\n"
        "    import confsync.cli.commands\n"
    )
    found = {
        item.module for item in imports("confsync.sync.apply", source, {"confsync.sync.state"})
    }
    assert found == {
        "typing",
        "confsync.adapters",
        "confsync.sync",
        "confsync.sync.state",
        "google.cloud",
        "confsync.cli.commands",
    }
    assert within("confsync.bootstrap_intake", DOMAIN_MAY_NOT_IMPORT)
    assert not within("confsync.client", ["confsync.cli"])
    assert within("google.cloud.firestore", FOREIGN)
    assert not within("googleish", FOREIGN)
