"""Reading ``terraform/`` offline: the root module and ``modules/function``, parsed by python-hcl2.

The Google provider cannot be downloaded here, so nothing is planned or validated by Terraform
itself. These helpers give the tests the declared blocks, with string quotes stripped, and
understand the few expression shapes the configuration uses on purpose so tests can look
through them: ``${...}`` references, ``merge(local.NAME, {...})`` of a local and a literal map,
and module calls of ``./modules/function``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
FUNCTION_MODULE = TERRAFORM / "modules" / "function"
FUNCTION_MODULE_SOURCE = "./modules/function"

Body = dict[str, Any]

_OPTIONS = SerializationOptions(strip_string_quotes=True)
_REFERENCE = re.compile(r"^\$\{(?P<expr>.+)\}$", re.DOTALL)
_MERGE = re.compile(r"^merge\(local\.(?P<local>\w+), (?P<literal>\{.*\})\)$", re.DOTALL)


class Module:
    """The blocks of every ``.tf`` file of one Terraform module (one directory)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.blocks: dict[str, list[Body]] = {}
        for path in sorted(directory.glob("*.tf")):
            with path.open(encoding="utf-8") as handle:
                parsed = hcl2.load(handle, serialization_options=_OPTIONS)
            for kind, blocks in parsed.items():
                self.blocks.setdefault(kind, []).extend(blocks)

    def labelled(self, kind: str) -> dict[str, Body]:
        """Blocks with one label (variable, output, module), by label."""
        found: dict[str, Body] = {}
        for block in self.blocks.get(kind, []):
            found.update(block)
        return found

    def resources(self, rtype: str) -> dict[str, Body]:
        """Resources of one type, by name."""
        found: dict[str, Body] = {}
        for block in self.blocks.get("resource", []):
            found.update(block.get(rtype, {}))
        return found

    def all_resources(self) -> Iterator[tuple[str, str, Body]]:
        for block in self.blocks.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    yield kind, name, body

    def locals(self) -> Body:
        merged: Body = {}
        for block in self.blocks.get("locals", []):
            merged.update({k: v for k, v in block.items() if not k.startswith("__")})
        return merged

    def local(self, name: str) -> Any:
        return self.locals()[name]


@functools.cache
def root() -> Module:
    return Module(TERRAFORM)


@functools.cache
def function_module() -> Module:
    return Module(FUNCTION_MODULE)


def expression(value: object) -> str | None:
    """The expression inside ``${...}``, or None for a literal."""
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    return match.group("expr").strip() if match else None


def one(body: Body, key: str) -> Body:
    """The single nested block ``key`` of ``body``."""
    blocks = body.get(key)
    assert isinstance(blocks, list), f"no {key} block"
    assert len(blocks) == 1, f"expected one {key} block"
    block = blocks[0]
    assert isinstance(block, dict)
    return block


def dynamic(body: Body, key: str) -> Body:
    """The ``dynamic "key"`` block of ``body`` (its ``for_each`` and ``content``)."""
    found = [block[key] for block in body.get("dynamic", []) if key in block]
    assert len(found) == 1, f"expected one dynamic {key} block"
    block = found[0]
    assert isinstance(block, dict)
    return block


def resolve_map(module: Module, value: object) -> dict[str, Any]:
    """A map argument as a dict: a literal map, ``${local.NAME}`` of a literal map, or
    ``${merge(local.NAME, {...})}`` (the local's entries, overridden by the literal's)."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if not k.startswith("__")}
    expr = expression(value)
    assert expr is not None, f"not a map: {value!r}"
    if re.fullmatch(r"local\.\w+", expr):
        return resolve_map(module, module.local(expr.removeprefix("local.")))
    match = _MERGE.match(expr)
    assert match, f"unsupported map expression: {expr}"
    base = resolve_map(module, module.local(match.group("local")))
    literal = hcl2.loads(f"value = {match.group('literal')}\n", serialization_options=_OPTIONS)
    return {**base, **resolve_map(module, literal["value"])}


def function_calls() -> dict[str, Body]:
    """The root module's calls of ``modules/function``, by module name."""
    return {
        name: body
        for name, body in root().labelled("module").items()
        if body.get("source") == FUNCTION_MODULE_SOURCE
    }


def function_resource() -> Body:
    """The module's one ``google_cloudfunctions2_function``."""
    functions = function_module().resources("google_cloudfunctions2_function")
    assert list(functions) == ["this"]
    return functions["this"]


def module_environment(call: Body) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain, secret) environment variables a module call gives its function, as the function
    gets them: the module's own platform variables added; secret values are secret ids."""
    plain = resolve_map(root(), call.get("environment_variables", {}))
    plain.update(function_module().local("platform_environment"))
    secrets = resolve_map(root(), call.get("secret_environment_variables", {}))
    return plain, secrets


def strings(value: object) -> Iterator[str]:
    """Every string inside a parsed value (nested maps and lists included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if not key.startswith("__"):  # python-hcl2's markers and comments
                yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
