"""Stand-in for the Cloud Scheduler job: publish the tick command every ``--interval`` seconds.

No Cloud Scheduler emulator exists. In production a Scheduler job (Terraform) publishes
``{"v":1,"command":"tick","issuedAt":"<RFC3339>"}`` to ``channel-commands`` every few minutes;
locally this small process does the same through the Pub/Sub emulator's REST API::

    python -m devstack.scheduler --pubsub-host 127.0.0.1:8682 --project P \\
        --topic channel-commands --interval 60

Like a cron job it waits one interval before the first tick (``devstack tick`` publishes one
now). It prints one line per tick and stops on SIGTERM or SIGINT. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType

from devstack.pubsub_wiring import PubsubRest, WiringError

__all__ = ["TICK_COMMAND", "main", "publish_tick", "tick_payload"]

TICK_COMMAND = "tick"


def tick_payload(now: datetime | None = None) -> bytes:
    """The Scheduler job's message body, with ``issuedAt`` as RFC3339 UTC (milliseconds, ``Z``)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    issued_at = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {"v": 1, "command": TICK_COMMAND, "issuedAt": issued_at}
    return json.dumps(body, separators=(",", ":")).encode()


def publish_tick(pubsub: PubsubRest, topic: str, now: datetime | None = None) -> str:
    """Publish one tick to ``topic``; return the message id."""
    return pubsub.publish(topic, tick_payload(now))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack.scheduler", description=__doc__)
    parser.add_argument("--pubsub-host", required=True, help="HOST:PORT of the Pub/Sub emulator")
    parser.add_argument("--project", required=True)
    parser.add_argument("--topic", default="channel-commands")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between ticks")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Tick until SIGTERM or SIGINT."""
    args = _parser().parse_args(argv)
    if args.interval <= 0:
        print("scheduler: --interval must be positive", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pubsub = PubsubRest(args.pubsub_host, args.project)
    print(f"scheduler: publishing a tick to {args.topic} every {args.interval:g} s", flush=True)
    while not stop.wait(args.interval):
        try:
            message_id = publish_tick(pubsub, args.topic)
        except WiringError as err:
            print(f"scheduler: tick not published: {err}", flush=True)
            continue
        print(f"scheduler: tick published to {args.topic} (message {message_id})", flush=True)
    print("scheduler: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
