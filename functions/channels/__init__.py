"""The ``channels`` Cloud Function."""
