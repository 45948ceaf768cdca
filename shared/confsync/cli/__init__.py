"""The ``confsync`` command line: operators' commands against production or the local stack.

Not part of any function: the function zips leave this package out (``tools/deploy/bundle.py``),
and no product module imports it. :mod:`confsync.cli.commands` holds the commands and
:func:`main` (the console script ``confsync``), :mod:`confsync.cli.grants` the ``grant`` command,
:mod:`confsync.cli.reencrypt` the ``re-encrypt-grants`` command,
:mod:`confsync.cli.deletes` the ``release-deletes`` command,
:mod:`confsync.cli.enroll_bulk_command` ``enroll`` for many calendars (its entries checked by
:mod:`confsync.cli.enroll_plan`, published by :mod:`confsync.cli.bulk_enroll` through
:mod:`confsync.cli.rate`, shown by :mod:`confsync.cli.progress` and
:mod:`confsync.cli.bulk_report`, listed by :mod:`confsync.cli.directory`),
:mod:`confsync.cli.status` the operators' read model of Firestore, and
:mod:`confsync.cli.scheduler` the Cloud Scheduler job (the ``cli`` extra).
"""

from confsync.cli.commands import main

__all__ = ["main"]
