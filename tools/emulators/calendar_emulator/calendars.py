"""Secondary calendars and their ACL: ``calendars.insert``, ``calendars.get``,
``calendars.delete``, ``acl.insert`` and ``acl.delete``.

A calendar made here gets an id ``<32 hex>@group.calendar.google.com`` (Google's form for
secondary calendars) and its creator as ``owner``. Deleting it forgets its ACL and stops its
channels; from then on every request on it answers 404 (the caller's role is ``none``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .access import ROLES, AccessControl, Caller, caller_of, require_visible
from .channels import ChannelRegistry, Notifier
from .errors import ApiError, invalid_parameter, not_found, parse_error, required
from .model import JSON, Calendar
from .store import Store
from .timeutil import get_zone
from .users import UserAccounts, check_caller, check_user_access

__all__ = ["CALENDAR_ENDPOINTS", "CalendarsApi", "calendars_rules"]

_PREFIX = "/calendar/v3/calendars"
_SECONDARY_DOMAIN = "group.calendar.google.com"
_USER_SCOPE = "user:"

CALENDAR_ENDPOINTS = frozenset(
    {
        "calendar.calendars.insert",
        "calendar.calendars.get",
        "calendar.calendars.delete",
        "calendar.acl.insert",
        "calendar.acl.delete",
    }
)


def calendars_rules() -> list[Rule]:
    """URL rules; each endpoint is the method's discovery id."""
    one = f"{_PREFIX}/<calendar_id>"
    return [
        Rule(_PREFIX, methods=["POST"], endpoint="calendar.calendars.insert"),
        Rule(one, methods=["GET"], endpoint="calendar.calendars.get"),
        Rule(one, methods=["DELETE"], endpoint="calendar.calendars.delete"),
        Rule(f"{one}/acl", methods=["POST"], endpoint="calendar.acl.insert"),
        Rule(f"{one}/acl/<rule_id>", methods=["DELETE"], endpoint="calendar.acl.delete"),
    ]


def _etag(payload: object) -> str:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f'"{int(digest[:13], 16)}"'


def _body(request: Request) -> JSON:
    raw = request.get_data(cache=True)
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise parse_error() from exc
    if not isinstance(parsed, dict):
        raise parse_error()
    return parsed


def _json(payload: JSON) -> Response:
    return Response(json.dumps(payload), content_type="application/json; charset=UTF-8")


def _resource(calendar: Calendar) -> JSON:
    resource: JSON = {
        "kind": "calendar#calendar",
        "id": calendar.id,
        "summary": calendar.summary,
        "timeZone": calendar.time_zone,
        "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
    }
    resource["etag"] = _etag(resource)
    return resource


def _forbidden() -> ApiError:
    return ApiError(403, "forbidden", "Forbidden")


def _time_zone(body: JSON) -> str:
    zone = body.get("timeZone")
    if zone in (None, ""):
        return "UTC"
    try:
        get_zone(str(zone))
    except ValueError as exc:
        raise invalid_parameter("Invalid time zone definition.", "timeZone") from exc
    return str(zone)


def _acl_rule(calendar_id: str, user: str, role: str) -> JSON:
    rule: JSON = {
        "kind": "calendar#aclRule",
        "id": f"{_USER_SCOPE}{user}",
        "scope": {"type": "user", "value": user},
        "role": role,
    }
    rule["etag"] = _etag({"calendar": calendar_id, **rule})
    return rule


@dataclass
class CalendarsApi:
    """Handlers of the calendars and acl routes."""

    store: Store
    access: AccessControl
    channels: ChannelRegistry
    notifier: Notifier
    users: UserAccounts

    def handler(self, endpoint: str) -> Callable[[Request, dict[str, str]], Response]:
        return {
            "calendar.calendars.insert": self.insert,
            "calendar.calendars.get": self.get,
            "calendar.calendars.delete": self.delete,
            "calendar.acl.insert": self.insert_rule,
            "calendar.acl.delete": self.delete_rule,
        }[endpoint]

    def _owned(self, request: Request, args: dict[str, str]) -> tuple[Caller, str]:
        """(caller, calendar id) of a request that needs ``owner``: 404 for a calendar the
        caller cannot see, 403 ``forbidden`` for one they see without owning it."""
        caller, calendar_id, role = self._visible(request, args)
        if role != "owner":
            raise _forbidden()
        return caller, calendar_id

    def _visible(self, request: Request, args: dict[str, str]) -> tuple[Caller, str, str]:
        caller = caller_of(request.headers.get("Authorization"))
        calendar_id = caller.calendar_id(args["calendar_id"])
        check_user_access(self.users, caller.user, calendar_id)
        role = self.access.role(caller, calendar_id)
        require_visible(role)
        return caller, calendar_id, role

    def insert(self, request: Request, args: dict[str, str]) -> Response:
        del args
        caller = caller_of(request.headers.get("Authorization"))
        check_caller(self.users, caller.user)
        body = _body(request)
        summary = body.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            raise required("Missing title.")
        zone = _time_zone(body)
        calendar_id = f"{secrets.token_hex(16)}@{_SECONDARY_DOMAIN}"
        calendar = self.store.calendar(calendar_id)
        calendar.summary, calendar.time_zone = summary, zone
        if caller.user is not None:
            self.access.set_role(calendar_id, caller.user, "owner")
        return _json(_resource(calendar))

    def get(self, request: Request, args: dict[str, str]) -> Response:
        _, calendar_id, _ = self._visible(request, args)
        return _json(_resource(self.store.calendar(calendar_id)))

    def delete(self, request: Request, args: dict[str, str]) -> Response:
        caller, calendar_id = self._owned(request, args)
        if calendar_id == caller.user or not calendar_id.endswith(f"@{_SECONDARY_DOMAIN}"):
            raise invalid_parameter("Cannot delete primary calendar.")
        self.access.delete_calendar(calendar_id)
        for channel in self.channels.drop(lambda c: c.calendar_id == calendar_id):
            self.notifier.forget(channel.id)
        return Response(status=204)

    def insert_rule(self, request: Request, args: dict[str, str]) -> Response:
        _, calendar_id = self._owned(request, args)
        body = _body(request)
        scope = body.get("scope")
        role = body.get("role")
        if not isinstance(scope, dict) or not scope.get("type"):
            raise required("Missing scope.", "scope")
        value = scope.get("value")
        if scope.get("type") != "user" or not isinstance(value, str) or not value.strip():
            raise invalid_parameter("Invalid scope value.", "scope")
        if role not in ROLES:
            raise invalid_parameter(f"Invalid role value: {role!r}.", "role")
        user = value.strip()
        self.access.set_role(calendar_id, user, str(role))
        return _json(_acl_rule(calendar_id, user, str(role)))

    def delete_rule(self, request: Request, args: dict[str, str]) -> Response:
        _, calendar_id = self._owned(request, args)
        rule_id = args["rule_id"]
        user = rule_id.removeprefix(_USER_SCOPE)
        if not rule_id.startswith(_USER_SCOPE) or not self.access.remove(calendar_id, user):
            raise not_found()
        return Response(status=204)
