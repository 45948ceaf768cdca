"""``google-auth-emulator``: run the stand-in until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from emulator_kit.cli import configure_logging, listen_parser, serve_until_signalled

from .server import GoogleAuthServer

__all__ = ["DEFAULT_PORT", "main", "parse_args"]

PROG = "google-auth-emulator"
DEFAULT_PORT = 8685


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = listen_parser(
        PROG,
        "Local stand-in of Google's OAuth 2.0 token endpoint and the IAM "
        "Credentials API's signJwt, for confsync's delegated and oauth credentials, "
        "and of the ID tokens an add-on sends to enrol its user.",
        default_port=DEFAULT_PORT,
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.log_level)
    return serve_until_signalled(
        PROG, args.host, args.port, lambda: GoogleAuthServer(host=args.host, port=args.port)
    )
