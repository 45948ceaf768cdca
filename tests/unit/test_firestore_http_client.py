"""The REST Firestore client's retries and failures, on a scripted transport (no emulator).

Reads are retried at once on 429 / 5xx / a failed connection, three attempts in all; a commit is
sent once (a retried increment could count twice); a token that cannot be had, or an answer that
is not what the API documents, is an error the stores translate, never a crash of another kind.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
import urllib3
from google.auth.exceptions import RefreshError

from confsync.adapters.firestore_errors import FirestoreError, NotFoundError, UnavailableError
from confsync.adapters.firestore_http import Client

_DOCS = "projects/p/databases/(default)/documents"


class ScriptedHttp:
    """Answers requests from ``script`` in turn: a (status, JSON body) or an exception."""

    def __init__(self, *script: Any) -> None:
        self._script = list(script)
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def request(self, method: str, url: str, *, body: bytes, **_: Any) -> Any:
        self.sent.append((url.rsplit(":", 1)[-1], json.loads(body)))
        step = self._script.pop(0)
        if isinstance(step, Exception):
            raise step
        status, answer = step
        return SimpleNamespace(status=status, data=json.dumps(answer).encode())


def _unavailable(code: int = 503) -> tuple[int, Any]:
    return code, {"error": {"code": code, "status": "UNAVAILABLE", "message": "try again"}}


def test_a_read_is_retried_after_a_5xx_and_a_failed_connection() -> None:
    found = {"found": {"name": f"{_DOCS}/c/d", "fields": {"n": {"integerValue": "3"}}}}
    http = ScriptedHttp(_unavailable(), urllib3.exceptions.ProtocolError("reset"), (200, [found]))
    client = Client("p", http=http)
    counted: list[int] = []
    client.on_request.append(lambda: counted.append(1))

    snapshot = client.collection("c").document("d").get()

    assert snapshot.to_dict() == {"n": 3}
    assert [method for method, _ in http.sent] == ["batchGet"] * 3
    assert counted == [1]  # one round trip for the caller, however many attempts


def test_a_read_gives_up_after_three_attempts() -> None:
    http = ScriptedHttp(_unavailable(), _unavailable(429), _unavailable())
    with pytest.raises(UnavailableError, match="HTTP 503"):
        list(Client("p", http=http).collection("c").stream())


def test_a_commit_is_sent_once() -> None:
    http = ScriptedHttp(_unavailable())
    with pytest.raises(UnavailableError):
        Client("p", http=http).collection("c").document("d").set({"a": 1})
    assert len(http.sent) == 1


def test_a_refusal_is_not_retried() -> None:
    missing = (404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "no document"}})
    http = ScriptedHttp(missing)
    with pytest.raises(NotFoundError):
        Client("p", http=http).collection("c").document("d").update({"a": 1})
    assert len(http.sent) == 1


def test_a_token_that_cannot_be_had_is_unavailable() -> None:
    http = ScriptedHttp(RefreshError("metadata server unreachable"))
    with pytest.raises(UnavailableError, match="metadata server"):
        Client("p", http=http).collection("c").document("d").get()


@pytest.mark.parametrize(
    "answer",
    [
        {"not": "a list"},
        [{"found": {"name": f"{_DOCS}/c/other"}}],  # a document nobody asked for
        [{"found": {"name": f"{_DOCS}/c/d", "fields": {"n": {"integerValue": "x"}}}}],
        [{"found": {"name": f"{_DOCS}/c/d", "updateTime": "yesterday"}}],
    ],
)
def test_an_answer_of_another_shape_is_a_firestore_error(answer: Any) -> None:
    http = ScriptedHttp((200, answer))
    with pytest.raises(FirestoreError, match="batchGet"):
        Client("p", http=http).collection("c").document("d").get()


def test_the_emulator_is_called_as_its_owner_over_plain_http() -> None:
    client = Client.from_environment("p", env={"FIRESTORE_EMULATOR_HOST": "127.0.0.1:9"})
    recorded: list[tuple[str, dict[str, str]]] = []

    def request(method: str, url: str, *, headers: dict[str, str], **_: Any) -> Any:
        recorded.append((url, headers))
        return SimpleNamespace(status=200, data=b"[]")

    client._http._http = SimpleNamespace(request=request)  # the pool under the owner's header
    client.get_all([client.collection("c").document("d")])

    assert recorded == [
        (
            f"http://127.0.0.1:9/v1/{_DOCS}:batchGet",
            {"Content-Type": "application/json", "Authorization": "Bearer owner"},
        )
    ]
