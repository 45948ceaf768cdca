"""The ``sync`` Cloud Function."""
