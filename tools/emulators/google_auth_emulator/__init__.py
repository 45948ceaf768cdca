"""Local stand-in of Google's OAuth 2.0 token endpoint and the IAM Credentials API.

It lets confsync's ``delegated`` and ``oauth`` Calendar credentials run end to end on one machine:
``signJwt`` signs with an RSA key per service account, ``/token`` verifies JWT-bearer assertions
against those keys and exchanges refresh tokens, ``/oauth2/v1/certs`` publishes the key of the
ID tokens it signs (on refresh, and on request for a user, as an add-on gets one to enrol them
at intake's ``/v1/enroll``), and an admin API sets up who may do what, mints ID tokens, injects
faults and counts calls. Run it with ``google-auth-emulator`` or in-process with
:class:`google_auth_emulator.server.GoogleAuthServer`; see its README for every endpoint.
"""

__all__: list[str] = []
