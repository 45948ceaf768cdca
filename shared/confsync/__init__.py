"""confsync: keeps a third-party conferencing system in step with Google Calendar."""

__all__ = ["__version__"]

__version__ = "0.1.0"
