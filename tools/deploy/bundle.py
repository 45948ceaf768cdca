"""``devstack bundle``: the three Cloud Function source zips, byte for byte reproducible.

Each zip holds what the Python buildpack needs at its root: the function's ``main.py``, the
``confsync`` package (without bytecode, and without :data:`EXCLUDED_SUBPACKAGES`: ``confsync/cli``,
the operators' command line, and ``confsync/testing``, which only tests use), and
``requirements.txt``, a copy of ``requirements/runtime.txt`` (the runtime closure, exact
versions). Terraform names each uploaded object by its zip's SHA-256, so the zips must depend on
their content only: entries are sorted, every entry has the same timestamp (1980-01-01, the
earliest a zip can hold), mode 0644, no directory entries and no extra fields. Then an unchanged
tree gives the same hash and the function is not rebuilt, and any change gives a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EXCLUDED_SUBPACKAGES",
    "FUNCTIONS",
    "Bundle",
    "BundleError",
    "BundleFile",
    "build_bundles",
    "bundle_files",
    "write_zip",
]

FUNCTIONS = ("intake", "sync", "channels")
PACKAGE = "confsync"
EXCLUDED_SUBPACKAGES = frozenset({"cli", "testing"})
"""Subpackages of ``confsync`` no function imports, left out of every zip: the operators' command
line (it needs the ``cli`` extra, which the runtime pins leave out) and the tests' fakes."""
RUNTIME_REQUIREMENTS = Path("requirements") / "runtime.txt"
MANIFEST = "manifest.json"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_MODE = 0o100644  # a regular file, rw-r--r--
_UNIX = 3  # "made by" system: Unix, so the mode above is read
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo"})


class BundleError(Exception):
    """A bundle cannot be built (a source is missing); the message says what to do."""


@dataclass(frozen=True, slots=True)
class BundleFile:
    """One entry of a zip: its path inside the archive and its bytes."""

    arcname: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Bundle:
    """One written zip: which function, where, how big, and its SHA-256 (hex)."""

    function: str
    path: Path
    size: int
    sha256: str
    entries: int


def _package_files(package_dir: Path) -> list[BundleFile]:
    """Every file of the package except the excluded subpackages, caches, bytecode and hidden
    files."""
    files: list[BundleFile] = []
    for path in package_dir.rglob("*"):
        relative = path.relative_to(package_dir)
        if not path.is_file() or relative.parts[0] in EXCLUDED_SUBPACKAGES:
            continue
        if any(part in _SKIPPED_DIRS or part.startswith(".") for part in relative.parts):
            continue
        if path.suffix in _SKIPPED_SUFFIXES:
            continue
        files.append(BundleFile(f"{PACKAGE}/{relative.as_posix()}", path.read_bytes()))
    return files


def bundle_files(repo_root: Path, function: str) -> list[BundleFile]:
    """The entries of ``function``'s zip, sorted by name."""
    main = repo_root / "functions" / function / "main.py"
    package_dir = repo_root / "shared" / PACKAGE
    requirements = repo_root / RUNTIME_REQUIREMENTS
    for needed in (main, package_dir / "__init__.py"):
        if not needed.is_file():
            raise BundleError(f"{needed} is missing: is {repo_root} a confsync checkout?")
    if not requirements.is_file():
        raise BundleError(f"{requirements} is missing: run `make lock` to pin the runtime closure")
    files = [
        BundleFile("main.py", main.read_bytes()),
        BundleFile("requirements.txt", requirements.read_bytes()),
        *_package_files(package_dir),
    ]
    return sorted(files, key=lambda entry: entry.arcname)


def write_zip(path: Path, files: list[BundleFile]) -> None:
    """Write ``files`` to ``path`` with fixed metadata, atomically (a reader never sees half)."""
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for entry in sorted(files, key=lambda item: item.arcname):
            info = zipfile.ZipInfo(entry.arcname, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = _UNIX
            info.external_attr = _MODE << 16
            archive.writestr(info, entry.data, compresslevel=9)
    os.replace(partial, path)


def _describe(function: str, path: Path, entries: int) -> Bundle:
    data = path.read_bytes()
    return Bundle(function, path, len(data), hashlib.sha256(data).hexdigest(), entries)


def build_bundles(repo_root: Path, out_dir: Path) -> list[Bundle]:
    """Build every function's zip into ``out_dir`` and write ``manifest.json`` beside them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    bundles: list[Bundle] = []
    for function in FUNCTIONS:
        files = bundle_files(repo_root, function)
        path = out_dir / f"{function}.zip"
        write_zip(path, files)
        bundles.append(_describe(function, path, len(files)))
    manifest = {
        bundle.function: {
            "file": bundle.path.name,
            "size": bundle.size,
            "sha256": bundle.sha256,
            "entries": bundle.entries,
        }
        for bundle in bundles
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return bundles


def print_bundles(bundles: list[Bundle]) -> None:
    """One line per zip: path, size and SHA-256."""
    for bundle in bundles:
        print(f"{bundle.path}  {bundle.size} bytes  sha256 {bundle.sha256}")
    if bundles:
        print(f"manifest: {bundles[0].path.parent / MANIFEST}")
