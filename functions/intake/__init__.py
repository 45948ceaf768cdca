"""The ``intake`` Cloud Function."""
