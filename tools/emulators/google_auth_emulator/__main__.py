"""``python -m google_auth_emulator``: same as the ``google-auth-emulator`` command."""

from __future__ import annotations

import sys

from .cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
