"""``python -m conformance``: the suite against Google (``make conformance-live``)."""

import sys

from conformance.cli import main

sys.exit(main())
