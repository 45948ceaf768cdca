"""What more than one test tier needs: builders, stack helpers and fixtures.

No tier imports another tier's modules; whatever two tiers share lives here (or, for fixtures
every tier may use, in ``tests/conftest.py``).

- ``calendar_events``: the one builder of Calendar API event JSON (``event``, ``conference_data``).
- ``paths``: ``REPO_ROOT``.
- ``sync_stack``: a sync stack on local emulators and its fixtures (integration, functions).
- ``google_auth``: the Google auth stand-in's admin client and its service accounts.
- ``devstack``: the project id of the local-stack tests (tools/devstack, e2e).
- ``log_leaks``: the log-leak probe every test runs under (autouse, via ``tests/conftest.py``).
"""
