"""The serving kit shared by the stand-ins: a free port on ``port=0``, a URL that reaches the app,
a stop that releases the port, and the console scripts' start-up, failure and signal contract."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Self

import pytest
import requests
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from calendar_emulator.cli import parse_args as calendar_args
from conferencing_emulator.cli import parse_args as conferencing_args
from emulator_kit.cli import listen_parser, serve_until_signalled
from emulator_kit.routing import NoRoute, match_route
from emulator_kit.serving import BackgroundServer
from google_auth_emulator.cli import parse_args as google_auth_args

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def echo_path(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """A WSGI app that answers with the path it was asked for."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(environ["PATH_INFO"]).encode()]


def _refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def _server(port: int = 0) -> BackgroundServer:
    return BackgroundServer(echo_path, "127.0.0.1", port, thread_name="kit-test")


# --- serving ----------------------------------------------------------------------------------


def test_port_zero_picks_a_free_port_that_base_url_reaches() -> None:
    with _server() as server:
        assert server.port != 0
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        answer = requests.get(f"{server.base_url}/some/path", timeout=10)

    assert answer.status_code == 200
    assert answer.text == "/some/path"


def test_stop_releases_the_port() -> None:
    with _server() as server:
        requests.get(server.base_url, timeout=10).raise_for_status()
        port = server.port

    assert _refuses_connections(port)


def test_stop_without_start_releases_the_port() -> None:
    server = _server()

    server.stop()

    assert _refuses_connections(server.port)


def test_a_taken_port_fails_on_construction_with_exit_code_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _server() as server, pytest.raises(SystemExit) as exited:
        _server(server.port)

    assert exited.value.code == 1
    assert f"Port {server.port} is in use" in capsys.readouterr().err


def test_start_again_keeps_serving() -> None:
    with _server() as server:
        assert server.start() is server
        assert requests.get(f"{server.base_url}/again", timeout=10).text == "/again"


def test_an_ipv6_host_is_bracketed_in_base_url() -> None:
    try:
        server = BackgroundServer(echo_path, "::1", 0, thread_name="kit-test")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert server.base_url == f"http://[::1]:{server.port}"
    finally:
        server.stop()


# --- routing -----------------------------------------------------------------------------------

URLS = Map([Rule("/v1/things/<id>", methods=["GET", "PUT"], endpoint="api.get")])


def _request(method: str, path: str) -> Request:
    return Request(EnvironBuilder(method=method, path=path).get_environ())


def test_a_matching_request_gets_its_endpoint_and_values() -> None:
    assert match_route(URLS, _request("GET", "/v1/things/t1")) == ("api.get", {"id": "t1"})


def test_a_wrong_method_is_a_405_naming_the_allowed_ones() -> None:
    answer = match_route(URLS, _request("DELETE", "/v1/things/t1"))

    assert answer == NoRoute(
        405, "method_not_allowed", "DELETE is not allowed here", {"Allow": "GET, HEAD, PUT"}
    )


def test_an_unknown_path_is_a_404_naming_it() -> None:
    answer = match_route(URLS, _request("GET", "/v1/nothing"))

    assert answer == NoRoute(404, "not_found", "no route for /v1/nothing")


# --- the command-line runner ------------------------------------------------------------------


class SignalledOnStart(BackgroundServer):
    """Sends this process a signal as soon as it serves, as an operator's Ctrl-C would."""

    def __init__(self, signum: signal.Signals) -> None:
        super().__init__(echo_path, "127.0.0.1", 0, thread_name="kit-test")
        self.signum = signum

    def start(self) -> Self:
        super().start()
        os.kill(os.getpid(), self.signum)
        return self


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_until_signalled_then_exits_zero(
    signum: signal.Signals, capsys: pytest.CaptureFixture[str]
) -> None:
    before = signal.getsignal(signum)
    server = SignalledOnStart(signum)

    code = serve_until_signalled("kit-emulator", "127.0.0.1", 0, lambda: server)

    assert code == 0
    assert capsys.readouterr().out == f"kit-emulator listening on {server.base_url}\n"
    assert _refuses_connections(server.port)
    assert signal.getsignal(signum) == before


def test_an_error_opening_the_server_is_named_and_exits_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def cannot_open() -> BackgroundServer:
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

    code = serve_until_signalled("kit-emulator", "192.0.2.1", 8999, cannot_open)

    assert code == 1
    output = capsys.readouterr()
    assert output.out == ""
    assert output.err == (
        "kit-emulator: cannot listen on 192.0.2.1:8999: "
        f"[Errno {errno.EADDRNOTAVAIL}] Cannot assign requested address\n"
    )


def test_listen_options_default_and_accept_any_case_log_level() -> None:
    parser = listen_parser(
        "kit-emulator", "test", default_port=8999, default_log_level="INFO", log_level_help="-"
    )

    defaults = parser.parse_args([])
    chosen = parser.parse_args(["--host", "0.0.0.0", "--port", "0", "--log-level", "debug"])

    assert (defaults.host, defaults.port, defaults.log_level) == ("127.0.0.1", 8999, "INFO")
    assert (chosen.host, chosen.port, chosen.log_level) == ("0.0.0.0", 0, "DEBUG")
    with pytest.raises(SystemExit):
        parser.parse_args(["--log-level", "chatty"])


@pytest.mark.parametrize(
    ("parse", "port", "log_level"),
    [
        (calendar_args, 8683, "INFO"),
        (conferencing_args, 8684, "WARNING"),
        (google_auth_args, 8685, "WARNING"),
    ],
)
def test_each_emulator_keeps_its_default_port_and_log_level(
    parse: Callable[[list[str]], argparse.Namespace], port: int, log_level: str
) -> None:
    args = parse([])

    assert (args.host, args.port, args.log_level) == ("127.0.0.1", port, log_level)
