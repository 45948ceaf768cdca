"""A stand-in for the Admin SDK Directory API's ``users.list``, from the emulator's own users.

``GET /admin/directory/v1/users?domain=D&maxResults=N&pageToken=T`` answers the users of domain
``D`` the emulator knows, ordered by e-mail, in pages: ``{"kind": "admin#directory#users",
"users": [...], "nextPageToken"?}``, each user ``{"kind": "admin#directory#user", "id",
"primaryEmail", "name": {"fullName"}, "suspended": false, "archived": false}``.

The emulator knows a user when a calendar has their e-mail as its id (their primary calendar: it
was used, or given an ACL entry) or when an ACL entry names them. Calendars with other ids (a
group calendar such as ``team@group.calendar.google.com``) have no user of their own and are only
listed under their pseudo-domain if asked for it, which nobody does.

============================================  ================================================
request                                       answer
============================================  ================================================
anonymous (no ``Bearer user:EMAIL``)          401 ``required`` ``Login Required.``
a caller of another domain                    403 ``forbidden`` ``Not Authorized to access
                                              this resource/api`` (Google's answer to a
                                              non-administrator; here any user of the domain
                                              may list it)
no ``domain``                                 400 ``badRequest`` (``customer`` is not offered)
``maxResults`` not 1-500                      400 ``invalid`` (default 100)
a ``pageToken`` it did not issue              400 ``badRequest`` ``Invalid pageToken``
============================================  ================================================
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .access import AccessControl, caller_of, login_required
from .api import error_response, json_response
from .errors import ApiError, invalid_parameter
from .model import JSON
from .store import Store
from .users import UserAccounts

__all__ = ["DIRECTORY_PREFIX", "DirectoryApi", "directory_rules", "known_users"]

DIRECTORY_PREFIX = "/admin/directory/v1"
DEFAULT_PAGE = 100
MAX_PAGE = 500
_PAGE_MARK = "users:"


def directory_rules() -> list[Rule]:
    """The Directory route; its endpoint starts with ``directory.``."""
    return [Rule(f"{DIRECTORY_PREFIX}/users", methods=["GET"], endpoint="directory.users.list")]


def known_users(calendar_ids: Iterable[str], access: AccessControl) -> list[str]:
    """Every user the emulator knows, from its calendars' ids and ACL entries, sorted."""
    users: set[str] = set()
    for calendar_id in calendar_ids:
        if "@" in calendar_id:
            users.add(calendar_id.lower())
        users.update(str(rule["user"]).lower() for rule in access.rules(calendar_id))
    return sorted(user for user in users if "@" in user)


def _domain(email: str) -> str:
    return email.rpartition("@")[2]


def _user(email: str, status: str = "active") -> JSON:
    return {
        "kind": "admin#directory#user",
        "id": str(int(hashlib.sha256(email.encode()).hexdigest()[:15], 16)),
        "primaryEmail": email,
        "name": {"fullName": email.partition("@")[0]},
        "suspended": status == "suspended",
        "archived": False,
    }


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PAGE_MARK}{offset}".encode()).decode()


def _offset(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith(_PAGE_MARK):
            return int(text[len(_PAGE_MARK) :])
    except ValueError:
        pass
    raise ApiError(400, "badRequest", "Invalid pageToken")


def _page_size(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE
    try:
        size = int(text)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE:
        raise invalid_parameter(f"Invalid value for: {text}", "maxResults")
    return size


@dataclass
class DirectoryApi:
    """Handler of ``users.list``; ``users`` answers the known users (see :func:`known_users`)."""

    users: Callable[[], list[str]]
    status: Callable[[str], str] = lambda _email: "active"
    """A user's account status (``active``, ``suspended``, ``deleted``): deleted users are not
    listed, suspended ones are, marked ``suspended`` (as the Directory API does)."""

    @classmethod
    def of(
        cls, store: Store, access: AccessControl, accounts: UserAccounts | None = None
    ) -> DirectoryApi:
        status = accounts.status if accounts is not None else (lambda _email: "active")
        return cls(lambda: known_users(store.calendar_ids(), access), status)

    def list_users(self, request: Request) -> JSON:
        caller = caller_of(request.headers.get("Authorization"))
        if caller.user is None:
            raise login_required()
        domain = (request.args.get("domain") or "").strip().lower()
        if not domain:
            raise ApiError(400, "badRequest", "Bad Request")
        if _domain(caller.user.lower()) != domain:
            raise ApiError(403, "forbidden", "Not Authorized to access this resource/api")
        size = _page_size(request.args.get("maxResults"))
        token = request.args.get("pageToken")
        offset = _offset(token) if token else 0
        users = [
            (user, self.status(user))
            for user in self.users()
            if _domain(user) == domain and self.status(user) != "deleted"
        ]
        page = users[offset : offset + size]
        listed = [_user(user, status) for user, status in page]
        answer: JSON = {"kind": "admin#directory#users", "users": listed}
        if offset + size < len(users):
            answer["nextPageToken"] = _token(offset + size)
        return answer

    def handle(self, request: Request) -> Response:
        try:
            return json_response(self.list_users(request))
        except ApiError as error:
            return error_response(error)
