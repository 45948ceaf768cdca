"""``firestore_transport``: the emulator's CPU per request, counted over the measured requests
only, and a row the report accepts."""

from __future__ import annotations

from bench import report
from bench.transport import _row, measure


class _Server:
    """A server that spends 2 ms of CPU on every request it answers."""

    def __init__(self) -> None:
        self.cpu_s = 0.0
        self.answered = 0

    def answer(self) -> None:
        self.cpu_s += 0.002
        self.answered += 1


def test_the_warm_up_is_sent_but_not_counted() -> None:
    server = _Server()

    costs = measure(server.answer, lambda: server.cpu_s, warm_up=30, requests=50)

    assert server.answered == 80
    assert costs["emulator_cpu_ms"] == 2.0
    assert set(costs) == {"emulator_cpu_ms", "client_cpu_ms", "wall_ms"}
    assert costs["wall_ms"] >= 0


def test_the_row_has_every_figure_for_both_transports_with_its_unit() -> None:
    costs = {"emulator_cpu_ms": 2.2, "client_cpu_ms": 0.5, "wall_ms": 1.6}
    row = _row({"get": costs, "commit": costs}, {"get": costs, "commit": costs})

    assert report.problems([row], required=["firestore_transport"]) == []
    assert row["get_emulator_cpu_ms"] == row["baseline"]["commit_emulator_cpu_ms"] == 2.2
