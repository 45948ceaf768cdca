"""calendar_emulator: a local, in-memory Google Calendar API v3 emulator (see README.md)."""
