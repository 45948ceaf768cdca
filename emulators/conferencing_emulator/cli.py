"""``conferencing-emulator``: run the emulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .server import ConferencingServer

__all__ = ["CREDENTIAL_ENV", "DEFAULT_PORT", "SIGNING_SECRET_ENV", "main", "parse_args"]

DEFAULT_PORT = 8684
CREDENTIAL_ENV = "CONFERENCING_EMULATOR_CREDENTIAL"
SIGNING_SECRET_ENV = "CONFERENCING_EMULATOR_SIGNING_SECRET"  # noqa: S105 - a variable name


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="conferencing-emulator",
        description="Local emulator of confsync's conferencing-system HTTP contract.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (%(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port; 0 picks a free one (%(default)s)"
    )
    parser.add_argument(
        "--credential",
        default=os.environ.get(CREDENTIAL_ENV) or None,
        help=f"require 'Authorization: Bearer CREDENTIAL' (default: ${CREDENTIAL_ENV}; unset: off)",
    )
    parser.add_argument(
        "--signing-secret",
        default=os.environ.get(SIGNING_SECRET_ENV) or None,
        help=f"require signed requests (default: ${SIGNING_SECRET_ENV}; unset: off)",
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
        server = ConferencingServer(
            host=args.host,
            port=args.port,
            credential=args.credential,
            signing_secret=args.signing_secret,
        )
    except OSError as error:
        print(
            f"conferencing-emulator: cannot listen on {args.host}:{args.port}: {error}",
            file=sys.stderr,
        )
        return 1
    with server:
        print(f"conferencing-emulator listening on {server.base_url}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0
