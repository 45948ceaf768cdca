"""Production tooling: reproducible function zips, preflight checks, and the terraform plan /
apply / destroy sequences behind ``make bundle``, ``make plan``, ``make deploy`` and
``make destroy``.

Nothing here runs in a deployed function, and nothing here starts a local emulator.
"""
