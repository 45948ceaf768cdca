"""The Calendar v3 routes: request parsing, dispatch to the store, Google-shaped answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .access import (
    AccessControl,
    caller_of,
    free_busy_view,
    require_visible,
    require_writer,
)
from .calendar_list import calendar_list
from .channels import Channel, ChannelRegistry, Notifier, is_loopback_host
from .clock import Clock
from .errors import ApiError, invalid_parameter, not_found, parse_error, required
from .listing import parse_list_query
from .moving import move_event
from .store import ListPage, Store
from .users import UserAccounts, check_caller, check_user_access
from .validation import parse_conference_version

__all__ = ["API_PREFIX", "CalendarApi", "api_rules", "json_response"]

API_PREFIX = "/calendar/v3"
DEFAULT_TTL_SECONDS = 604800
JSON = dict[str, Any]


def api_rules() -> list[Rule]:
    """URL rules of the Calendar API; each endpoint is the method's discovery id."""
    events = f"{API_PREFIX}/calendars/<calendar_id>/events"
    return [
        Rule(events, methods=["GET"], endpoint="calendar.events.list"),
        Rule(events, methods=["POST"], endpoint="calendar.events.insert"),
        Rule(f"{events}/watch", methods=["POST"], endpoint="calendar.events.watch"),
        Rule(f"{events}/<event_id>", methods=["GET"], endpoint="calendar.events.get"),
        Rule(f"{events}/<event_id>", methods=["PUT"], endpoint="calendar.events.update"),
        Rule(f"{events}/<event_id>", methods=["PATCH"], endpoint="calendar.events.patch"),
        Rule(f"{events}/<event_id>", methods=["DELETE"], endpoint="calendar.events.delete"),
        Rule(
            f"{events}/<event_id>/instances", methods=["GET"], endpoint="calendar.events.instances"
        ),
        Rule(f"{events}/<event_id>/move", methods=["POST"], endpoint="calendar.events.move"),
        Rule(
            f"{API_PREFIX}/users/me/calendarList",
            methods=["GET"],
            endpoint="calendar.calendarList.list",
        ),
        Rule(f"{API_PREFIX}/channels/stop", methods=["POST"], endpoint="calendar.channels.stop"),
    ]


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return Response(
        text, status=status, headers=headers, content_type="application/json; charset=UTF-8"
    )


def error_response(error: ApiError) -> Response:
    return json_response(error.to_json(), status=error.status)


def _body(request: Request) -> JSON:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise parse_error() from exc
    if not isinstance(parsed, dict):
        raise parse_error()
    return parsed


def _page_response(page: ListPage, calendar_id: str, role: str) -> Response:
    meta: JSON = {
        "kind": "calendar#events",
        "etag": page.etag,
        "summary": calendar_id,
        "description": "",
        "updated": page.updated,
        "timeZone": "UTC",
        "accessRole": role,
        "defaultReminders": [],
    }
    if page.next_page_token is not None:
        meta["nextPageToken"] = page.next_page_token
    if page.next_sync_token is not None:
        meta["nextSyncToken"] = page.next_sync_token
    items = page.items
    if role == "freeBusyReader":
        items = [free_busy_view(item) for item in items]
    head = json.dumps(meta)[:-1]
    return json_response(head + ',"items":[' + ",".join(items) + "]}")


@dataclass
class CalendarApi:
    """Handlers of the Calendar routes."""

    store: Store
    channels: ChannelRegistry
    notifier: Notifier
    clock: Clock
    access: AccessControl
    users: UserAccounts = field(default_factory=UserAccounts)

    def handler(self, endpoint: str) -> Callable[[Request, dict[str, str]], Response]:
        handlers: dict[str, Callable[[Request, dict[str, str]], Response]] = {
            "calendar.events.list": self.list_events,
            "calendar.events.insert": self.insert,
            "calendar.events.get": self.get,
            "calendar.events.update": self.update,
            "calendar.events.patch": self.patch,
            "calendar.events.delete": self.delete,
            "calendar.events.instances": self.instances,
            "calendar.events.move": self.move,
            "calendar.calendarList.list": self.calendar_list,
            "calendar.events.watch": self.watch,
            "calendar.channels.stop": self.stop_channel,
        }
        return handlers[endpoint]

    # -- access -------------------------------------------------------------------------------

    def _calendar(
        self, request: Request, args: dict[str, str], write: bool = False
    ) -> tuple[str, str]:
        """(calendar id, the caller's role on it); 401 if made as a deleted or suspended user,
        404 if they cannot see it or it is such a user's, 403 if they may not write to it and
        ``write`` is asked."""
        caller = caller_of(request.headers.get("Authorization"))
        calendar_id = caller.calendar_id(args["calendar_id"])
        check_user_access(self.users, caller.user, calendar_id)
        role = self.access.role(caller, calendar_id)
        if write:
            require_writer(role)
        else:
            require_visible(role)
        return calendar_id, role

    def calendar_list(self, request: Request, args: dict[str, str]) -> Response:
        del args
        caller = caller_of(request.headers.get("Authorization"))
        check_caller(self.users, caller.user)
        answer = calendar_list(
            self.access, caller, request.args.get("minAccessRole"), hidden=self.users.is_gone
        )
        return json_response(answer)

    # -- events ---------------------------------------------------------------------------------

    def list_events(self, request: Request, args: dict[str, str]) -> Response:
        calendar_id, role = self._calendar(request, args)
        query = parse_list_query(request.args.to_dict(flat=False))
        page = self.store.list_events(calendar_id, query)
        return _page_response(page, calendar_id, role)

    def instances(self, request: Request, args: dict[str, str]) -> Response:
        calendar_id, role = self._calendar(request, args)
        raw = request.args.to_dict(flat=False)
        raw.pop("singleEvents", None)
        query = parse_list_query(raw)
        page = self.store.instances(calendar_id, args["event_id"], query)
        return _page_response(page, calendar_id, role)

    def insert(self, request: Request, args: dict[str, str]) -> Response:
        calendar_id, _ = self._calendar(request, args, write=True)
        version = parse_conference_version(request.args.get("conferenceDataVersion"))
        body = _body(request)
        return json_response(self.store.insert(calendar_id, body, version))

    def get(self, request: Request, args: dict[str, str]) -> Response:
        calendar_id, role = self._calendar(request, args)
        resource = self.store.get(calendar_id, args["event_id"])
        etag = str(resource["etag"])
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            wanted = etag.strip('"')
            if any(
                part.strip() == "*" or part.strip().removeprefix("W/").strip('"') == wanted
                for part in if_none_match.split(",")
            ):
                return Response(status=304, headers={"ETag": etag})
        if role == "freeBusyReader":
            return json_response(free_busy_view(json.dumps(resource)), headers={"ETag": etag})
        return json_response(resource, headers={"ETag": etag})

    def _write(self, request: Request, args: dict[str, str], patch: bool) -> Response:
        calendar_id, _ = self._calendar(request, args, write=True)
        version = parse_conference_version(request.args.get("conferenceDataVersion"))
        body = _body(request)
        write = self.store.patch if patch else self.store.update
        resource = write(
            calendar_id,
            args["event_id"],
            body,
            version,
            request.headers.get("If-Match"),
        )
        return json_response(resource, headers={"ETag": str(resource["etag"])})

    def update(self, request: Request, args: dict[str, str]) -> Response:
        return self._write(request, args, patch=False)

    def patch(self, request: Request, args: dict[str, str]) -> Response:
        return self._write(request, args, patch=True)

    def delete(self, request: Request, args: dict[str, str]) -> Response:
        calendar_id, _ = self._calendar(request, args, write=True)
        self.store.delete(calendar_id, args["event_id"], request.headers.get("If-Match"))
        return Response(status=204)

    def move(self, request: Request, args: dict[str, str]) -> Response:
        source_id, _ = self._calendar(request, args, write=True)
        destination = request.args.get("destination")
        if not destination:
            raise required("Required", "destination")
        destination_id, _ = self._calendar(request, {"calendar_id": destination}, write=True)
        moved = move_event(self.store, source_id, args["event_id"], destination_id)
        return json_response(moved, headers={"ETag": str(moved["etag"])})

    # -- channels -------------------------------------------------------------------------------

    def watch(self, request: Request, args: dict[str, str]) -> Response:
        calendar_id, _ = self._calendar(request, args)
        body = _body(request)
        channel_id, address, token = _channel_fields(body)
        now_ms = int(self.clock.now().timestamp() * 1000)
        expiration = now_ms + _ttl_seconds(body) * 1000
        requested = body.get("expiration")
        if requested not in (None, ""):
            try:
                expiration = min(expiration, int(requested))
            except (TypeError, ValueError) as exc:
                raise invalid_parameter("Invalid value for: expiration") from exc
        calendar = self.store.calendar(calendar_id)
        channel = Channel(
            id=channel_id,
            resource_id=calendar.resource_id,
            resource_uri=f"{request.host_url}calendar/v3/calendars/{quote(calendar_id, safe='@')}"
            "/events?alt=json",
            token=token,
            address=address,
            expiration_ms=expiration,
            calendar_id=calendar_id,
            watcher=caller_of(request.headers.get("Authorization")).user or calendar_id,
        )
        if not self.channels.add(channel):
            raise ApiError(400, "channelIdNotUnique", "Channel id not unique")
        self.notifier.send_sync(channel)
        answer: JSON = {
            "kind": "api#channel",
            "id": channel.id,
            "resourceId": channel.resource_id,
            "resourceUri": channel.resource_uri,
        }
        if token is not None:
            answer["token"] = token
        answer["expiration"] = str(channel.expiration_ms)
        return json_response(answer)

    def stop_channel(self, request: Request, args: dict[str, str]) -> Response:
        del args
        check_caller(self.users, caller_of(request.headers.get("Authorization")).user)
        body = _body(request)
        channel_id = body.get("id")
        resource_id = body.get("resourceId")
        if not channel_id:
            raise required("Required", "id")
        if not resource_id:
            raise required("Required", "resourceId")
        if not self.channels.remove(str(channel_id), str(resource_id)):
            raise not_found()
        self.notifier.forget(str(channel_id))
        return Response(status=204)


def _channel_fields(body: JSON) -> tuple[str, str, str | None]:
    channel_id = body.get("id")
    if not isinstance(channel_id, str) or not channel_id:
        raise required("Required", "id")
    if len(channel_id) > 64:
        raise invalid_parameter("Channel id must be at most 64 characters.", "id")
    kind = body.get("type")
    if not isinstance(kind, str) or kind.lower() not in ("web_hook", "webhook"):
        raise invalid_parameter(f"Invalid value for: type ({kind!r})", "type")
    address = body.get("address")
    if not isinstance(address, str) or not address:
        raise required("Required", "address")
    parts = urlsplit(address)
    loopback_http = parts.scheme == "http" and is_loopback_host(parts.hostname or "")
    if not (parts.scheme == "https" and parts.hostname) and not loopback_http:
        raise ApiError(400, "push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}")
    token = body.get("token")
    if token is not None and (not isinstance(token, str) or len(token) > 256):
        raise invalid_parameter("Channel token must be at most 256 characters.", "token")
    return channel_id, address, token


def _ttl_seconds(body: JSON) -> int:
    params = body.get("params") or {}
    raw = params.get("ttl") if isinstance(params, dict) else None
    if raw in (None, ""):
        return DEFAULT_TTL_SECONDS
    try:
        ttl = int(raw)
    except (TypeError, ValueError) as exc:
        raise invalid_parameter(f"Invalid ttl value: {raw!r}", "params.ttl") from exc
    if ttl <= 0:
        raise invalid_parameter(f"Invalid ttl value: {raw!r}", "params.ttl")
    return ttl
