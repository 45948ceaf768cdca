"""`make bundle`: the function zips Terraform uploads, reproducible and self-sufficient.

Reproducible, because Terraform names each uploaded object by its zip's SHA-256: an unchanged tree
must not rebuild the functions, and any change must. Self-sufficient, because Cloud Build installs
only the zip's ``requirements.txt`` and imports ``main``: the slow test does exactly that in a
clean virtual environment, and a fast one checks that every ``confsync`` module a bundled file
imports is in the zip. Lean, because the operators' command line (``confsync/cli``) and the tests'
fakes (``confsync/testing``) ship in no zip.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from deploy.bundle import FUNCTIONS, build_bundles

REPO_ROOT = Path(__file__).resolve().parents[3]
RUNTIME = REPO_ROOT / "requirements" / "runtime.txt"
TOP_LEVEL = {"main.py", "requirements.txt", "confsync"}
LEFT_OUT = ("cli", "testing")  # subpackages of confsync that no zip may hold
# What each function reads at import (its configuration): dummy values, nothing is contacted.
IMPORT_ENV = {
    "GOOGLE_CLOUD_PROJECT": "bundle-test",
    "CONFSYNC_CALENDAR_CREDENTIALS": "emulator",
    "CALENDAR_API_URL": "http://127.0.0.1:9/calendar/v3/",
    "CONFERENCING_URL": "https://conferencing.invalid",
    "CONFSYNC_JOIN_URL_HOSTS": "conference.invalid",
    "CONFSYNC_CHANNEL_TOKEN_KEYS": "k1:bundle-test-secret-0123456789abcdef",
    "CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY": "k1",
    "CONFSYNC_INTAKE_URL": "https://intake.invalid/",
    "CONFSYNC_ALLOWED_DOMAINS": "example.com",
}


def _copy_sources(dest: Path) -> Path:
    """The parts of the checkout a bundle reads, copied so a test may change them."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for function in FUNCTIONS:
        (dest / "functions" / function).mkdir(parents=True)
        shutil.copy(REPO_ROOT / "functions" / function / "main.py", dest / "functions" / function)
    shutil.copytree(REPO_ROOT / "shared" / "confsync", dest / "shared" / "confsync", ignore=ignore)
    (dest / "requirements").mkdir()
    shutil.copy(RUNTIME, dest / "requirements" / "runtime.txt")
    return dest


def _hashes(out_dir: Path, source: Path) -> dict[str, str]:
    return {bundle.function: bundle.sha256 for bundle in build_bundles(source, out_dir)}


def test_two_builds_give_identical_bytes(tmp_path: Path) -> None:
    first = build_bundles(REPO_ROOT, tmp_path / "first")
    second = build_bundles(REPO_ROOT, tmp_path / "second")
    for one, two in zip(first, second, strict=True):
        assert one.path.read_bytes() == two.path.read_bytes(), one.function
    assert (tmp_path / "first" / "manifest.json").read_text() == (
        tmp_path / "second" / "manifest.json"
    ).read_text()


def test_only_content_changes_the_hash(tmp_path: Path) -> None:
    source = _copy_sources(tmp_path / "src")
    before = _hashes(tmp_path / "out", source)

    for path in source.rglob("*"):  # new timestamps and modes alone change nothing
        os.utime(path, (1_900_000_000, 1_900_000_000))
    (source / "functions" / "sync" / "main.py").chmod(0o755)
    assert _hashes(tmp_path / "out", source) == before

    with (source / "functions" / "sync" / "main.py").open("a") as handle:
        handle.write("# changed\n")
    after_main = _hashes(tmp_path / "out", source)
    assert after_main["sync"] != before["sync"]
    assert {f: after_main[f] for f in ("intake", "channels")} == {
        f: before[f] for f in ("intake", "channels")
    }

    with (source / "shared" / "confsync" / "lazy.py").open("a") as handle:
        handle.write("# changed\n")
    after_package = _hashes(tmp_path / "out", source)
    assert all(after_package[f] != after_main[f] for f in FUNCTIONS)


def test_each_zip_holds_main_the_package_and_the_pins_only(tmp_path: Path) -> None:
    source = _copy_sources(tmp_path / "src")
    litter = source / "shared" / "confsync" / "__pycache__"
    litter.mkdir()
    (litter / "config.cpython-311.pyc").write_bytes(b"\0")
    (source / "shared" / "confsync" / "stray.pyc").write_bytes(b"\0")
    expected_package = {
        "confsync/" + path.relative_to(REPO_ROOT / "shared" / "confsync").as_posix()
        for path in (REPO_ROOT / "shared" / "confsync").rglob("*")
        if path.is_file()
        and path.suffix != ".pyc"
        and "__pycache__" not in path.parts
        and path.relative_to(REPO_ROOT / "shared" / "confsync").parts[0] not in LEFT_OUT
    }

    for bundle in build_bundles(source, tmp_path / "out"):
        with zipfile.ZipFile(bundle.path) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            assert names == sorted(names)
            assert {name.split("/")[0] for name in names} == TOP_LEVEL
            assert set(names) - {"main.py", "requirements.txt"} == expected_package
            assert (
                archive.read("main.py")
                == (REPO_ROOT / "functions" / bundle.function / "main.py").read_bytes()
            )
            assert archive.read("requirements.txt") == RUNTIME.read_bytes()
            for info in infos:
                assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
                assert info.external_attr >> 16 == 0o100644, info.filename
                assert info.extra == b"", info.filename


def test_no_zip_holds_the_cli_or_the_testing_package(tmp_path: Path) -> None:
    for subpackage in LEFT_OUT:  # the sources have them, so leaving them out is the bundle's doing
        assert (REPO_ROOT / "shared" / "confsync" / subpackage / "__init__.py").is_file()
    for bundle in build_bundles(REPO_ROOT, tmp_path):
        with zipfile.ZipFile(bundle.path) as archive:
            names = archive.namelist()
        assert "confsync/__init__.py" in names, bundle.function
        for subpackage in LEFT_OUT:
            held = [name for name in names if name.startswith(f"confsync/{subpackage}/")]
            assert held == [], f"{bundle.function}.zip holds confsync/{subpackage}/: {held}"


def _confsync_imports(tree: ast.AST) -> tuple[set[str], set[str]]:
    """The ``confsync`` modules a source file imports, and the names it imports from them
    (``from confsync import x``: ``confsync.x``, a module or an attribute)."""
    modules: set[str] = set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}

    def ours(found: set[str]) -> set[str]:
        return {name for name in found if name == "confsync" or name.startswith("confsync.")}

    return ours(modules), ours(names)


def _in_zip(module: str, names: set[str]) -> bool:
    """Whether ``module`` is a module or a package of the zip."""
    path = module.replace(".", "/")
    return f"{path}.py" in names or any(name.startswith(f"{path}/") for name in names)


def test_every_confsync_import_of_a_zip_resolves_inside_it(tmp_path: Path) -> None:
    """Nothing bundled imports a left-out module (the CLI, the fakes), even lazily."""
    left_out = [f"confsync.{subpackage}" for subpackage in LEFT_OUT]
    for bundle in build_bundles(REPO_ROOT, tmp_path):
        with zipfile.ZipFile(bundle.path) as archive:
            entries = set(archive.namelist())
            sources = {name: archive.read(name) for name in entries if name.endswith(".py")}
        for name, source in sorted(sources.items()):
            modules, imported = _confsync_imports(ast.parse(source, filename=name))
            for module in sorted(modules | imported):
                where = f"{bundle.function}.zip: {name} imports {module}"
                assert not any(module == p or module.startswith(p + ".") for p in left_out), where
            for module in sorted(modules):
                missing = f"{bundle.function}.zip: {name} imports {module}, not in the zip"
                assert _in_zip(module, entries), missing


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep, f"{path.name}: not an exact pin: {line!r}"
            pins[name.strip().lower()] = version.strip()
    return pins


def _normalise(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_runtime_pins_are_the_dev_pins_without_the_cli_extra() -> None:
    runtime = _pins(RUNTIME)
    constraints = _pins(REPO_ROOT / "requirements" / "constraints.txt")
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]

    assert {name: constraints.get(name) for name in runtime} == runtime
    assert {_normalise(dep) for dep in project["dependencies"]} <= set(runtime)
    for extra in ("cli", "dev"):
        only_there = {_normalise(dep) for dep in project["optional-dependencies"][extra]}
        assert not only_there & (set(runtime) - {"requests"}), extra  # requests: also a runtime dep


def test_runtime_lock_targets_the_python_terraform_deploys() -> None:
    runtime = re.search(
        r'runtime\s*=\s*"python(\d)(\d+)"', (REPO_ROOT / "terraform" / "functions.tf").read_text()
    )
    assert runtime is not None
    makefile = (REPO_ROOT / "Makefile").read_text().replace("\\\n", " ")
    lock_lines = [
        line for line in makefile.splitlines() if "runtime.txt" in line and "compile" in line
    ]
    assert lock_lines, "the lock target must regenerate requirements/runtime.txt"
    assert all(f"--python-version {runtime[1]}.{runtime[2]}" in line for line in lock_lines)


@pytest.mark.slow
def test_each_zip_imports_in_a_clean_virtualenv(tmp_path: Path) -> None:
    """Unpack, install only the zip's requirements.txt, import main: what Cloud Build does."""
    bundles = build_bundles(REPO_ROOT, tmp_path / "bundle")
    unpacked: dict[str, Path] = {}
    for bundle in bundles:
        unpacked[bundle.function] = tmp_path / bundle.function
        with zipfile.ZipFile(bundle.path) as archive:
            archive.extractall(unpacked[bundle.function])
    requirements = {(path / "requirements.txt").read_bytes() for path in unpacked.values()}
    assert len(requirements) == 1, "one shared venv only serves identical requirements"

    uv = str(REPO_ROOT / ".venv" / "bin" / "uv")
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "-r",
            str(unpacked["sync"] / "requirements.txt"),
        ],
        check=True,
    )
    probe = (
        "import sys, main\n"
        "entry = getattr(main, sys.argv[1])\n"
        "assert callable(entry) and entry.__name__ == sys.argv[1], entry\n"
        "import confsync\n"
        "assert confsync.__file__.startswith(sys.argv[2]), confsync.__file__\n"
        "assert 'confsync.testing' not in sys.modules\n"
        "assert 'confsync.cli' not in sys.modules\n"
    )
    for function, where in unpacked.items():
        done = subprocess.run(
            [str(python), "-s", "-E", "-c", probe, function, str(where)],
            cwd=where,
            env={**IMPORT_ENV, "PATH": os.defpath},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"{function}: {done.stderr}"
