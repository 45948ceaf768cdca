"""Real adapters of the ports in :mod:`confsync.ports`, one module per external system.

Each adapter translates its vendor's errors into :mod:`confsync.errors` in one place.
"""
