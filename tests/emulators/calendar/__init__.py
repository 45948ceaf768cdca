"""Conformance tests of the Google Calendar API v3 emulator."""
