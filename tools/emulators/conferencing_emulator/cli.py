"""``conferencing-emulator``: run the emulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from emulator_kit.cli import configure_logging, listen_parser, serve_until_signalled

from .server import ConferencingServer

__all__ = ["CREDENTIAL_ENV", "DEFAULT_PORT", "SIGNING_SECRET_ENV", "main", "parse_args"]

PROG = "conferencing-emulator"
DEFAULT_PORT = 8684
CREDENTIAL_ENV = "CONFERENCING_EMULATOR_CREDENTIAL"
SIGNING_SECRET_ENV = "CONFERENCING_EMULATOR_SIGNING_SECRET"  # noqa: S105 - a variable name


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = listen_parser(
        PROG,
        "Local emulator of confsync's conferencing-system HTTP contract.",
        default_port=DEFAULT_PORT,
    )
    parser.add_argument(
        "--credential",
        default=os.environ.get(CREDENTIAL_ENV) or None,
        help=f"require 'Authorization: Bearer CREDENTIAL' (default: ${CREDENTIAL_ENV}; unset: off)",
    )
    parser.add_argument(
        "--signing-secret",
        default=os.environ.get(SIGNING_SECRET_ENV) or None,
        help=(
            "require requests signed with SECRET, or with any of several comma-separated ones "
            f"(a rotation) (default: ${SIGNING_SECRET_ENV}; unset: off)"
        ),
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.log_level)
    return serve_until_signalled(
        PROG,
        args.host,
        args.port,
        lambda: ConferencingServer(
            host=args.host,
            port=args.port,
            credential=args.credential,
            signing_secret=args.signing_secret,
        ),
    )
