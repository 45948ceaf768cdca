"""The functions' service container is built once, on first use, even under concurrent calls."""

from __future__ import annotations

import threading
import time

from confsync.lazy import Lazy


def test_nothing_is_built_until_the_first_call() -> None:
    built: list[int] = []

    def build() -> str:
        built.append(1)
        return "service"

    lazy = Lazy(build)

    assert built == []
    assert lazy() == "service"
    assert lazy() == "service"
    assert built == [1]


def test_concurrent_first_calls_build_once() -> None:
    built: list[int] = []

    def slow_build() -> object:
        built.append(1)
        time.sleep(0.05)
        return object()

    lazy = Lazy(slow_build)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(lazy())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert built == [1]
    assert len({id(r) for r in results}) == 1
