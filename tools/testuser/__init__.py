"""The Workspace test user that the checks against real Google act as (``make conformance-live``
and ``make smoke``): its variables (:mod:`testuser.variables`) and its access tokens
(:mod:`testuser.tokens`). One loader, so both tools read the same ``CONFSYNC_TEST_*`` variables
the same way."""
