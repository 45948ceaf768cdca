"""Local emulator of the conferencing-system HTTP contract (``docs/conferencing-api.yaml``).

Run it with ``conferencing-emulator`` or in-process with
:class:`conferencing_emulator.server.ConferencingServer`. :mod:`conferencing_emulator.signing`
is dependency-free and shared with confsync's adapter.
"""

__all__: list[str] = []
