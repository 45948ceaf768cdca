"""Queries of one collection over Firestore's REST API (``runQuery``), built the way
google-cloud-firestore builds them: a projection (``select``), filters (``==``, ``!=``, ``<``,
``<=``, ``>``, ``>=``, ``in``, ``not-in``, ``array_contains``, ``array_contains_any``; ``==`` /
``!=`` on None are ``IS_NULL`` / ``IS_NOT_NULL``), orderings, a limit and a ``start_after``
cursor.

A cursor is the snapshot of the last document of the previous page. As the library does, a
query with a cursor is ordered explicitly: by its orderings, then by each inequality field not
ordered yet, then by the document name (those added in the direction of the last ordering), and
the cursor holds the snapshot's values of those fields, so the next page starts right after
that document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from confsync.adapters.firestore_fields import field_path, split_path
from confsync.adapters.firestore_values import encode_value

if TYPE_CHECKING:
    from confsync.adapters.firestore_http import CollectionReference, DocumentSnapshot

__all__ = ["ASCENDING", "DESCENDING", "FieldFilter", "Query"]

ASCENDING = "ASCENDING"
DESCENDING = "DESCENDING"
NAME = "__name__"

_OPERATORS = {
    "==": "EQUAL",
    "!=": "NOT_EQUAL",
    "<": "LESS_THAN",
    "<=": "LESS_THAN_OR_EQUAL",
    ">": "GREATER_THAN",
    ">=": "GREATER_THAN_OR_EQUAL",
    "in": "IN",
    "not-in": "NOT_IN",
    "array_contains": "ARRAY_CONTAINS",
    "array_contains_any": "ARRAY_CONTAINS_ANY",
}
_INEQUALITIES = frozenset({"!=", "<", "<=", ">", ">=", "not-in"})


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """``field_path op value``."""

    field_path: str
    op_string: str
    value: Any

    def to_json(self) -> dict[str, Any]:
        if self.op_string not in _OPERATORS:
            raise ValueError(f"unknown query operator {self.op_string!r}")
        field = {"fieldPath": _canonical(self.field_path)}
        if self.value is None and self.op_string in ("==", "!="):
            op = "IS_NULL" if self.op_string == "==" else "IS_NOT_NULL"
            return {"unaryFilter": {"op": op, "field": field}}
        listed = self.op_string in ("in", "not-in", "array_contains_any")
        value = list(self.value) if listed else self.value
        op = _OPERATORS[self.op_string]
        return {"fieldFilter": {"field": field, "op": op, "value": encode_value(value)}}


def _canonical(path: str) -> str:
    return path if path == NAME else field_path(*split_path(path))


@dataclass(frozen=True, slots=True)
class Query:
    """An immutable query of ``parent``; each method answers a new one."""

    parent: CollectionReference
    filters: tuple[FieldFilter, ...] = ()
    orders: tuple[tuple[str, str], ...] = ()
    limit_to: int | None = None
    after: DocumentSnapshot | None = None
    fields: tuple[str, ...] | None = None

    def where(self, *, filter: FieldFilter) -> Query:
        return replace(self, filters=(*self.filters, filter))

    def order_by(self, path: str, direction: str = ASCENDING) -> Query:
        if direction not in (ASCENDING, DESCENDING):
            raise ValueError(f"unknown direction {direction!r}")
        return replace(self, orders=(*self.orders, (path, direction)))

    def select(self, paths: Iterable[str]) -> Query:
        """Only these fields of each document (a projection)."""
        return replace(self, fields=tuple(paths))

    def limit(self, count: int) -> Query:
        return replace(self, limit_to=count)

    def start_after(self, snapshot: DocumentSnapshot) -> Query:
        return replace(self, after=snapshot)

    def stream(self) -> Iterator[DocumentSnapshot]:
        """The matching documents, in order (one ``runQuery`` request)."""
        return iter(self.parent.client.run_query(self.parent, self.to_json()))

    def _orders(self) -> list[tuple[str, str]]:
        orders = list(self.orders)
        if self.after is None:
            return orders
        direction = orders[-1][1] if orders else ASCENDING  # of the orderings added
        for clause in self.filters:
            ordered = [_canonical(path) for path, _ in orders]
            inequality = clause.op_string in _INEQUALITIES and clause.value is not None
            if inequality and _canonical(clause.field_path) not in ordered:
                orders.append((clause.field_path, direction))
        if all(path != NAME for path, _ in orders):
            orders.append((NAME, direction))
        return orders

    def to_json(self) -> dict[str, Any]:
        """The ``structuredQuery`` of this query."""
        query: dict[str, Any] = {"from": [{"collectionId": self.parent.id}]}
        if self.fields is not None:
            query["select"] = {"fields": [{"fieldPath": _canonical(p)} for p in self.fields]}
        if len(self.filters) == 1:
            query["where"] = self.filters[0].to_json()
        elif self.filters:
            filters = [f.to_json() for f in self.filters]
            query["where"] = {"compositeFilter": {"op": "AND", "filters": filters}}
        orders = self._orders()
        if orders:
            query["orderBy"] = [
                {"field": {"fieldPath": _canonical(path)}, "direction": direction}
                for path, direction in orders
            ]
        if self.after is not None:
            values = [_cursor_value(self.after, path) for path, _ in orders]
            query["startAt"] = {"values": values, "before": False}
        if self.limit_to is not None:
            query["limit"] = self.limit_to
        return query


def _cursor_value(snapshot: DocumentSnapshot, path: str) -> dict[str, Any]:
    if path == NAME:
        return {"referenceValue": snapshot.reference.name}
    value: Any = snapshot.to_dict() or {}
    for segment in split_path(path):
        if not isinstance(value, dict) or segment not in value:
            raise ValueError(f"the cursor's document has no field {path!r} to order by")
        value = value[segment]
    return encode_value(value)
