"""One Calendar conformance suite, two targets: the Calendar emulator (``make test``) or Google's
Calendar API as a test user (``make conformance-live``). The checks live in tests/conformance;
this package holds what they and the live runner need besides the test user (its variables and
tokens are :mod:`testuser`'s, shared with ``make smoke``): a small counting
HTTP client (:mod:`conformance.target`), the scratch calendars (:mod:`conformance.scratch`) and the
report (:mod:`conformance.report`)."""
