"""confsync's benchmarks (``make bench``); figures, never pass/fail thresholds."""
