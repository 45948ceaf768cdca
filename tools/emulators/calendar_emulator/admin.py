"""The admin API under /emulator/v1/: reset, sync-token invalidation, bulk loading, the ACL,
users who leave (deleted, suspended), faults, channels, the notification log and request
counters."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .access import AccessControl
from .api import json_response
from .channels import ChannelRegistry, Notifier
from .errors import ApiError
from .faults import FaultRegistry
from .metrics import RequestCounters
from .store import Store
from .users import UserAccounts, UserStatus, user_address_problem

__all__ = ["ADMIN_PREFIX", "AdminApi", "admin_rules"]

ADMIN_PREFIX = "/emulator/v1"


def admin_rules() -> list[Rule]:
    p = ADMIN_PREFIX
    return [
        Rule(f"{p}/reset", methods=["POST"], endpoint="admin.reset"),
        Rule(
            f"{p}/calendars/<calendar_id>/invalidate-sync-tokens",
            methods=["POST"],
            endpoint="admin.invalidate",
        ),
        Rule(
            f"{p}/calendars/<calendar_id>/events",
            methods=["POST"],
            endpoint="admin.load",
        ),
        Rule(f"{p}/calendars/<calendar_id>/acl", methods=["GET"], endpoint="admin.acl.list"),
        Rule(f"{p}/calendars/<calendar_id>/acl/<user>", methods=["PUT"], endpoint="admin.acl.set"),
        Rule(
            f"{p}/calendars/<calendar_id>/acl/<user>",
            methods=["DELETE"],
            endpoint="admin.acl.remove",
        ),
        Rule(f"{p}/users/<user>", methods=["DELETE"], endpoint="admin.users.delete"),
        Rule(f"{p}/users/<user>:undelete", methods=["POST"], endpoint="admin.users.undelete"),
        Rule(f"{p}/users/<user>:suspend", methods=["POST"], endpoint="admin.users.suspend"),
        Rule(f"{p}/users/<user>:unsuspend", methods=["POST"], endpoint="admin.users.unsuspend"),
        Rule(f"{p}/faults", methods=["POST"], endpoint="admin.faults.add"),
        Rule(f"{p}/faults", methods=["GET"], endpoint="admin.faults.get"),
        Rule(f"{p}/faults", methods=["DELETE"], endpoint="admin.faults.clear"),
        Rule(f"{p}/channels", methods=["GET"], endpoint="admin.channels"),
        Rule(f"{p}/notifications", methods=["GET"], endpoint="admin.notifications"),
        Rule(f"{p}/requests", methods=["GET"], endpoint="admin.requests"),
        Rule(f"{p}/requests/reset", methods=["POST"], endpoint="admin.requests.reset"),
        Rule(f"{p}/stats", methods=["GET"], endpoint="admin.stats"),
    ]


def _admin_error(status: int, message: str) -> Response:
    return json_response({"error": {"code": status, "message": message}}, status=status)


@dataclass
class AdminApi:
    """Handlers of the admin routes."""

    store: Store
    channels: ChannelRegistry
    notifier: Notifier
    faults: FaultRegistry
    counters: RequestCounters
    access: AccessControl
    users: UserAccounts = field(default_factory=UserAccounts)

    def handler(self, endpoint: str) -> Callable[[Request, dict[str, str]], Response]:
        handlers: dict[str, Callable[[Request, dict[str, str]], Response]] = {
            "admin.reset": self.reset,
            "admin.invalidate": self.invalidate,
            "admin.load": self.load,
            "admin.acl.list": self.list_acl,
            "admin.acl.set": self.set_acl,
            "admin.acl.remove": self.remove_acl,
            "admin.users.delete": self.delete_user,
            "admin.users.undelete": self.undelete_user,
            "admin.users.suspend": self.suspend_user,
            "admin.users.unsuspend": self.unsuspend_user,
            "admin.faults.add": self.add_faults,
            "admin.faults.get": self.get_faults,
            "admin.faults.clear": self.clear_faults,
            "admin.channels": self.list_channels,
            "admin.notifications": self.notifications,
            "admin.requests": self.requests,
            "admin.requests.reset": self.reset_requests,
            "admin.stats": self.stats,
        }
        return handlers[endpoint]

    def reset(self, request: Request, args: dict[str, str]) -> Response:
        self.channels.clear()
        self.notifier.reset()
        self.faults.clear()
        self.counters.reset()
        self.access.reset()
        self.users.reset()
        self.store.reset()
        return json_response({"reset": True})

    def invalidate(self, request: Request, args: dict[str, str]) -> Response:
        self.store.invalidate_sync_tokens(args["calendar_id"])
        return json_response({"calendarId": args["calendar_id"], "invalidated": True})

    def load(self, request: Request, args: dict[str, str]) -> Response:
        """Insert many events at once, each exactly as ``events.insert`` with
        ``conferenceDataVersion=1`` would (validation, change log, notifications)."""
        try:
            payload = json.loads(request.get_data() or b"{}")
        except ValueError as exc:
            return _admin_error(400, f"body is not JSON: {exc}")
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            return _admin_error(400, 'body must be {"events": [...]}')
        for index, event in enumerate(events):
            if not isinstance(event, dict):
                return _admin_error(400, f"events[{index}] is not an object ({index} inserted)")
            try:
                self.store.insert(args["calendar_id"], event, 1)
            except ApiError as err:
                return _admin_error(400, f"events[{index}]: {err.message} ({index} inserted)")
        return json_response({"inserted": len(events)})

    def _acl(self, calendar_id: str) -> Response:
        return json_response({"calendarId": calendar_id, "rules": self.access.rules(calendar_id)})

    def list_acl(self, request: Request, args: dict[str, str]) -> Response:
        return self._acl(args["calendar_id"])

    def set_acl(self, request: Request, args: dict[str, str]) -> Response:
        """Give ``user`` a role on the calendar (which exists from then on)."""
        try:
            payload = json.loads(request.get_data() or b"{}")
        except ValueError as exc:
            return _admin_error(400, f"body is not JSON: {exc}")
        role = payload.get("role") if isinstance(payload, dict) else None
        try:
            self.access.set_role(args["calendar_id"], args["user"], str(role))
        except ValueError as exc:
            return _admin_error(400, str(exc))
        self.store.calendar(args["calendar_id"])
        return self._acl(args["calendar_id"])

    def remove_acl(self, request: Request, args: dict[str, str]) -> Response:
        """Forget ``user``'s entry: their role is the default again."""
        self.access.remove(args["calendar_id"], args["user"])
        return self._acl(args["calendar_id"])

    def _user_answer(self, user: str, status: UserStatus) -> Response:
        """The user's status; a deleted or suspended user's channels are stopped now."""
        stopped = 0
        if status != "active":
            email = user.lower()
            for channel in self.channels.drop(
                lambda c: email in (c.calendar_id.lower(), (c.watcher or "").lower())
            ):
                self.notifier.forget(channel.id)
                stopped += 1
        return json_response({"user": user, "status": status, "channelsStopped": stopped})

    def delete_user(self, request: Request, args: dict[str, str]) -> Response:
        """The Workspace user is deleted: see :mod:`.users` for what their requests get."""
        user = args["user"]
        problem = user_address_problem(user)
        if problem is not None:
            return _admin_error(400, problem)
        return self._user_answer(user, self.users.delete(user))

    def suspend_user(self, request: Request, args: dict[str, str]) -> Response:
        user = args["user"]
        problem = user_address_problem(user)
        if problem is not None:
            return _admin_error(400, problem)
        status = self.users.suspend(user)
        if status is None:
            return _admin_error(404, f"{user} is deleted; undelete them first")
        return self._user_answer(user, status)

    def _restore(self, user: str, was: UserStatus) -> Response:
        if not self.users.restore(user, was):
            return _admin_error(404, f"{user} is not {was} (they are {self.users.status(user)})")
        return self._user_answer(user, "active")

    def undelete_user(self, request: Request, args: dict[str, str]) -> Response:
        return self._restore(args["user"], "deleted")

    def unsuspend_user(self, request: Request, args: dict[str, str]) -> Response:
        return self._restore(args["user"], "suspended")

    def add_faults(self, request: Request, args: dict[str, str]) -> Response:
        try:
            payload = json.loads(request.get_data() or b"[]")
            rules = self.faults.add(payload)
        except ValueError as exc:
            return _admin_error(400, str(exc))
        return json_response({"rules": rules})

    def get_faults(self, request: Request, args: dict[str, str]) -> Response:
        return json_response({"rules": self.faults.describe()})

    def clear_faults(self, request: Request, args: dict[str, str]) -> Response:
        self.faults.clear()
        return json_response({"rules": []})

    def list_channels(self, request: Request, args: dict[str, str]) -> Response:
        return json_response({"channels": [c.to_json() for c in self.channels.all()]})

    def notifications(self, request: Request, args: dict[str, str]) -> Response:
        return json_response({"notifications": self.notifier.log()})

    def requests(self, request: Request, args: dict[str, str]) -> Response:
        return json_response({"counts": self.counters.snapshot()})

    def reset_requests(self, request: Request, args: dict[str, str]) -> Response:
        self.counters.reset()
        return json_response({"counts": {}})

    def stats(self, request: Request, args: dict[str, str]) -> Response:
        return json_response({"events": self.store.event_count()})
