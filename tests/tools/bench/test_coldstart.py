"""The cold-start figures: confsync's own share of a cold start, apart from the framework's."""

from __future__ import annotations

import pytest

from bench.coldstart import cold_figures


def _served(first_request_s: float) -> dict[str, float]:
    return {"boot_s": 1.0, "first_request_s": first_request_s, "second_request_ms": 5.0}


def test_own_cold_start_is_the_import_beyond_the_framework_plus_the_first_request() -> None:
    imports = [(0.4, 1.0), (0.5, 1.5), (0.3, 0.6)]  # own imports: 0.6, 1.0, 0.3
    serves = [_served(0.2), _served(0.1), _served(0.4)]  # own cold: 0.8, 1.1, 0.7

    figures = cold_figures(imports, serves)

    assert figures["own_cold_s"] == 0.8
    assert figures["framework_import_s"] == 0.4
    assert figures["import_s"] == 1.0
    assert figures["first_request_s"] == 0.2
    assert figures["boot_s"] == 1.0


def test_an_import_moved_into_the_first_request_does_not_lower_the_own_cold_start() -> None:
    at_import = cold_figures([(0.4, 1.4)], [_served(0.1)])
    at_first_request = cold_figures([(0.4, 0.9)], [_served(0.6)])

    assert at_import["own_cold_s"] == at_first_request["own_cold_s"] == 1.1


def test_samples_must_pair_up() -> None:
    with pytest.raises(ValueError, match="as many"):
        cold_figures([(0.4, 1.0)], [])
