"""Command line: `calendar-emulator --host 127.0.0.1 --port 8683`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from emulator_kit.cli import listen_parser, serve_until_signalled

from .server import EmulatorServer
from .store import DEFAULT_SYNC_TOKEN_TTL

__all__ = ["main", "parse_args"]

PROG = "calendar-emulator"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = listen_parser(
        PROG,
        "Local in-memory Google Calendar API v3 emulator.",
        default_port=8683,
        default_log_level="INFO",
        log_level_help="DEBUG logs every request and notification delivery",
    )
    parser.add_argument(
        "--sync-token-ttl",
        type=float,
        default=DEFAULT_SYNC_TOKEN_TTL,
        help="seconds a sync token stays valid (default: 7 days)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    level = getattr(logging, args.log_level)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(
        logging.DEBUG if level <= logging.DEBUG else logging.WARNING
    )
    return serve_until_signalled(
        PROG,
        args.host,
        args.port,
        lambda: EmulatorServer(host=args.host, port=args.port, sync_token_ttl=args.sync_token_ttl),
    )


if __name__ == "__main__":
    sys.exit(main())
