"""``google-auth-emulator``: run the stand-in until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .server import GoogleAuthServer

__all__ = ["DEFAULT_PORT", "main", "parse_args"]

DEFAULT_PORT = 8685


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="google-auth-emulator",
        description="Local stand-in of Google's OAuth 2.0 token endpoint and the IAM "
        "Credentials API's signJwt, for confsync's delegated and oauth credentials.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (%(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port; 0 picks a free one (%(default)s)"
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="INFO logs every request (%(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(args.log_level)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server = GoogleAuthServer(host=args.host, port=args.port)
    except OSError as error:
        print(
            f"google-auth-emulator: cannot listen on {args.host}:{args.port}: {error}",
            file=sys.stderr,
        )
        return 1
    with server:
        print(f"google-auth-emulator listening on {server.base_url}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0
