"""Terraform's variables against the code's declarations (:data:`confsync.settings.VARIABLES`).

For every environment variable ``functions.tf`` gives a function from a Terraform variable
(``var.x``, ``var.sync_settings.x``, through ``tostring``/``join`` or a resource attribute such as
``google_firestore_database.main.name``): the Terraform default, converted as Terraform converts
it, is the code's default, and the ``validation`` conditions in ``variables.tf`` allow exactly the
code's range or choices. The numbers are read from both sides, never copied into this file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from confsync.parsers import Choice, Number, Subset
from confsync.settings import VARIABLES, Variable, variable

from .hcl import expression, function_calls, module_environment, root

DECLARED = {v.name for v in VARIABLES}

DEPLOYED_DEFAULTS = {
    "calendar_credentials": (
        "delegated",
        "a deployment calls Google (delegated credentials); the code's default serves the local "
        "stack's emulator, and a deployment that meant emulator must say so",
    ),
}
"""Terraform defaults that differ from the code's on purpose: variable -> (its default, why)."""

UNRESOLVED = {
    "CONFSYNC_INTAKE_URL": "module.intake.url",
    "CONFSYNC_DELEGATION_SERVICE_ACCOUNT": "local.delegated ?",
    "CONFSYNC_OAUTH_CLIENT_ID": "local.oauth ?",
}
"""Variables whose value Terraform computes (not a variable's default): name -> its start."""

_SOURCE = re.compile(
    r"^(?:(?P<convert>tostring|join)\((?:\",\", )?)?"
    r"(?P<ref>var\.(?P<var>\w+)(?:\.(?P<field>\w+))?)\)?$"
)
_RESOURCE = re.compile(r"^(?P<type>google_\w+)\.(?P<name>\w+)\.(?P<attr>\w+)$")
_BOUND = re.compile(r"^(?P<ref>[\w.]+) (?P<op>>=|>|<=|<) (?P<number>-?[0-9.]+)$")


@dataclass(frozen=True)
class Source:
    """Where an environment variable's value comes from: a Terraform variable (or one field of
    the ``sync_settings`` object) and how it is converted to text."""

    var: str
    field: str | None
    convert: str | None

    @property
    def ref(self) -> str:
        return f"var.{self.var}" + (f".{self.field}" if self.field else "")


@dataclass
class Allowed:
    """What a variable's validation conditions allow for one reference."""

    low: tuple[str, float] | None = None
    high: tuple[str, float] | None = None
    whole: bool = False
    choices: set[str] = field(default_factory=set)
    each_of: set[str] = field(default_factory=set)


def source(value: object) -> Source | str | None:
    """A Source, a literal's text, or None for a value Terraform computes."""
    expr = expression(value)
    if expr is None:
        assert isinstance(value, str), value
        return value
    match = _SOURCE.match(expr)
    if match:
        return Source(match["var"], match["field"], match["convert"])
    resource = _RESOURCE.match(expr)
    if resource:  # e.g. google_firestore_database.main.name: that resource's argument
        body = root().resources(resource["type"])[resource["name"]]
        return source(body[resource["attr"]])
    return None


def environments() -> list[tuple[str, str, object]]:
    """(function, environment variable, value) of every plain variable functions.tf sets."""
    found = []
    for function, call in sorted(function_calls().items()):
        plain, _ = module_environment(call)
        found += [(function, name, value) for name, value in sorted(plain.items())]
    return found


def fed_by_variables() -> list[tuple[str, Source]]:
    """(environment variable, Source) of every declared setting a Terraform variable feeds."""
    fed: dict[str, Source] = {}
    for _, name, value in environments():
        found = source(value)
        if name in DECLARED and isinstance(found, Source):
            assert fed.get(name, found) == found, f"{name} comes from two sources"
            fed[name] = found
    return sorted(fed.items())


def _split(text: str, separator: str = ",") -> list[str]:
    """``text`` split at top-level ``separator`` (not inside brackets or strings)."""
    parts, depth, start, quoted = [], 0, 0, False
    for i, char in enumerate(text):
        if char == '"' and text[i - 1 : i] != "\\":
            quoted = not quoted
        elif not quoted and char in "([{":
            depth += 1
        elif not quoted and char in ")]}":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i].strip())
            start = i + len(separator)
    return [*parts, text[start:].strip()]


def optional_defaults(var: str) -> dict[str, Any]:
    """The ``optional(type, default)`` defaults of an object variable's fields."""
    type_expr = expression(root().labelled("variable")[var]["type"])
    assert type_expr is not None
    match = re.fullmatch(r"object\(\{(?P<fields>.*)\}\)", type_expr, re.DOTALL)
    assert match, type_expr
    defaults = {}
    for item in _split(match["fields"]):
        name, _, declared = item.partition(" = ")
        inner = re.fullmatch(r"optional\((?P<args>.*)\)", declared, re.DOTALL)
        assert inner, f"{var}.{name} has no default: {declared}"
        _, default = _split(inner["args"])
        defaults[name] = json.loads(default)
    return defaults


def terraform_default(src: Source) -> tuple[bool, Any]:
    """(has a default, the default) of a variable or of one field of an object variable."""
    body = root().labelled("variable")[src.var]
    if src.field is None:
        return "default" in body, body.get("default")
    assert body.get("default") == {}, f"var.{src.var}: its fields' defaults are the defaults"
    return True, optional_defaults(src.var)[src.field]


def as_text(value: Any, convert: str | None) -> str:
    """``value`` as the function gets it: after ``tostring`` or ``join(",", ...)``."""
    if convert == "join":
        assert isinstance(value, list)
        return ",".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def allowed(src: Source) -> Allowed:
    """What the validation conditions of ``src``'s variable allow for ``src``'s reference."""
    found = Allowed()
    ref = re.escape(src.ref)
    floor = re.compile(rf"^floor\({ref}\) == {ref}$")
    contains = re.compile(rf"^contains\((?P<list>\[.*\]), {ref}\)$")
    each = re.compile(rf"^alltrue\(\[for (\w+) in {ref} : contains\((?P<list>\[.*\]), \1\)\]\)$")
    for validation in root().labelled("variable")[src.var].get("validation", []):
        condition = expression(validation["condition"])
        assert condition is not None
        for term in _split(condition, " && "):
            bound = _BOUND.match(term)
            if bound and bound["ref"] == src.ref:
                side = "low" if bound["op"].startswith(">") else "high"
                setattr(found, side, (bound["op"], float(bound["number"])))
            elif floor.match(term):
                found.whole = True
            elif match := contains.match(term):
                found.choices = set(json.loads(match["list"]))
            elif match := each.match(re.sub(r"\s+", " ", term)):
                found.each_of = set(json.loads(match["list"]))
    return found


def code_allows(declared: Variable) -> Allowed:
    """What the code's parser allows, in the same terms."""
    parse = declared.parse
    if isinstance(parse, Number):
        return Allowed(
            low=(">" if parse.low_open else ">=", float(parse.low)),
            high=("<=", float(parse.high)),
            whole=parse.whole,
        )
    if isinstance(parse, Choice):
        return Allowed(choices=set(parse.options))
    if isinstance(parse, Subset):
        return Allowed(each_of=set(parse.options))
    return Allowed()


FED = fed_by_variables()


def test_the_settings_fed_by_terraform_variables_are_found() -> None:
    names = {name for name, _ in FED}
    for expected in ("CONFSYNC_LEASE_SECONDS", "CONFSYNC_TICK_BATCH", "LOG_LEVEL"):
        assert expected in names
    assert dict(FED)["CONFSYNC_FIRESTORE_DATABASE"] == Source("firestore_database", None, None)
    assert len(FED) >= 25


@pytest.mark.parametrize(("name", "src"), FED, ids=[name for name, _ in FED])
def test_terraform_defaults_are_the_codes(name: str, src: Source) -> None:
    declared = variable(name)
    has_default, default = terraform_default(src)

    assert has_default == (declared.default is not None), (
        f"{src.ref}: required in Terraform exactly when {name} is required by the code"
    )
    if not has_default:
        return
    text = as_text(default, src.convert)
    if src.var in DEPLOYED_DEFAULTS:
        assert text == DEPLOYED_DEFAULTS[src.var][0]
        assert text != declared.default, f"{src.ref} now agrees: drop it from DEPLOYED_DEFAULTS"
        declared.parse(text)
        return
    assert text == declared.default, f"{src.ref}: {text!r}, but {name}: {declared.default!r}"


@pytest.mark.parametrize(("name", "src"), FED, ids=[name for name, _ in FED])
def test_terraform_validation_allows_what_the_code_allows(name: str, src: Source) -> None:
    terraform, code = allowed(src), code_allows(variable(name))

    assert (terraform.low, terraform.high) == (code.low, code.high), f"{src.ref}: range"
    assert terraform.whole == code.whole, f"{src.ref}: whole numbers only (floor check)"
    assert terraform.choices == code.choices, f"{src.ref}: choices"
    assert terraform.each_of == code.each_of, f"{src.ref}: allowed list items"


@pytest.mark.parametrize(("function", "name", "value"), environments())
def test_every_setting_functions_tf_sets_is_declared_and_read_there(
    function: str, name: str, value: object
) -> None:
    if name.startswith("CONFSYNC_"):
        assert name in DECLARED, f"{name} is not declared in confsync.settings"
    if name not in DECLARED:
        return
    assert function in variable(name).used_by, f"{function} does not read {name}"
    found = source(value)
    if found is None:
        expr = expression(value) or ""
        assert expr.startswith(UNRESOLVED[name]), f"{name}: unexpected expression {expr}"
    elif isinstance(found, str):
        variable(name).parse(found)  # a literal the code would refuse fails here


def test_the_exceptions_are_still_needed() -> None:
    sources = dict(FED)
    assert {src.var for src in sources.values()} >= set(DEPLOYED_DEFAULTS)
    computed = {name for _, name, value in environments() if source(value) is None}
    assert computed == set(UNRESOLVED)
