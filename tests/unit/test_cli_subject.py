"""``confsync enroll --subject`` (and the other commands' ``--subject``) takes an e-mail address
only: anything else exits 2 naming the option, nothing published (issue 13, L9)."""

from __future__ import annotations

import pytest

from confsync.messages import EnrollCommand
from tests.unit.test_cli import ENV, Fakes, _run


@pytest.mark.parametrize(
    "subject",
    [
        "alice",
        "alice@",
        "@example.com",
        "alice@example",
        "alice@@example.com",
        "alice@example.com\nbob@example.com",
        "alice@example.com,bob@example.com",
        "Alice <alice@example.com>",
        "alice smith@example.com",
        "alice@exa mple.com",
        "alice@-example.com",
        "a" * 65 + "@example.com",
        "alice@" + "a" * 250 + ".com",
        "alïce@example.com",
    ],
)
def test_enroll_refuses_a_subject_that_is_not_an_e_mail_address(
    subject: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes = Fakes()
    with pytest.raises(SystemExit) as exited:
        _run(fakes, "enroll", "--subject", subject, "--calendar", "primary")
    assert exited.value.code == 2
    assert "--subject" in capsys.readouterr().err
    assert fakes.commands.published == []


@pytest.mark.parametrize("command", ["unenroll", "resync", "status"])
def test_the_other_commands_refuse_it_too(command: str) -> None:
    with pytest.raises(SystemExit) as exited:
        _run(Fakes(), command, "--subject", "alice", "--calendar", "primary")
    assert exited.value.code == 2


@pytest.mark.parametrize(
    "subject",
    [
        "alice@example.com",
        " Alice.Smith+cal@Mail.Example.CO.uk ",
        "robot@my-project.iam.gserviceaccount.com",
        "o'brien@example.ie",
    ],
)
def test_enroll_takes_an_e_mail_address(subject: str) -> None:
    fakes = Fakes()
    env = {**ENV, "CONFSYNC_ALLOWED_DOMAINS": "*"}
    assert _run(fakes, "enroll", "--subject", subject, "--calendar", "primary", env=env) == 0
    [published] = fakes.commands.published
    address = subject.strip().lower()  # primary is the user's own address
    assert published == EnrollCommand(subject=address, calendar_id=address)
