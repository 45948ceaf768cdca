"""Command line: `calendar-emulator --host 127.0.0.1 --port 8683`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .server import EmulatorServer
from .store import DEFAULT_SYNC_TOKEN_TTL

__all__ = ["main", "parse_args"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="calendar-emulator", description="Local in-memory Google Calendar API v3 emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=8683, help="port to bind; 0 picks a free port")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="DEBUG logs every request and notification delivery",
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
    server = EmulatorServer(host=args.host, port=args.port, sync_token_ttl=args.sync_token_ttl)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server.start()
    print(f"calendar-emulator listening on {server.base_url}", flush=True)
    try:
        stopping.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
