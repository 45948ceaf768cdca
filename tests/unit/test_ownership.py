"""The ownership decision (:mod:`confsync.ownership`), pure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confsync.ownership import (
    ownerless_policy,
    ownerless_role,
    role_for,
    role_of_any,
    same_address,
)

_LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_EMAILS = st.builds(
    lambda local, domain: f"{local}@{domain}",
    _LOCAL.filter(bool).map(lambda s: s[:12]),
    st.sampled_from(["example.com", "Example.COM", "group.calendar.google.com", "b.org"]),
)


def _recase(text: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if flip else c for c, flip in zip(text, flips, strict=True))


def _random_case(data: st.DataObject, text: str) -> str:
    return _recase(text, data.draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text))))


@st.composite
def _same_in_random_case(draw: st.DrawFn, base: st.SearchStrategy[str]) -> tuple[str, str]:
    text = draw(base)
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return text, _recase(text, flips)


@given(owner=_EMAILS, subject=_EMAILS, organizer=_EMAILS, data=st.data())
def test_acting_iff_the_owner_is_the_organizer_or_the_subject_ignoring_case(
    owner: str, subject: str, organizer: str, data: st.DataObject
) -> None:
    # Random case on every side, and sometimes the owner itself as organizer or subject.
    if data.draw(st.booleans()):
        organizer = _random_case(data, owner)
    if data.draw(st.booleans()):
        subject = _random_case(data, owner)
    owner_seen = _random_case(data, owner)

    role = role_for(owner_seen, subject, organizer)

    expected = owner.lower() in (subject.lower(), organizer.lower())
    assert (role == "acting") is expected


@given(pair=_same_in_random_case(_EMAILS))
def test_an_address_equals_itself_in_any_case(pair: tuple[str, str]) -> None:
    assert same_address(*pair)
    assert role_for(pair[0], "someone@else.example", pair[1]) == "acting"


def test_none_and_empty_match_nothing() -> None:
    assert not same_address(None, None)
    assert not same_address("", "")
    assert role_for("alice@example.com", "bob@example.com", None) == "reference"


def test_a_record_acts_when_any_of_its_organizers_is_the_owner() -> None:
    owner = "Alice@Example.com"
    assert role_of_any(owner, "bob@example.com", ["bob@example.com", "alice@example.com"]) == (
        "acting"
    )
    assert role_of_any(owner, "bob@example.com", ["bob@example.com", None]) == "reference"
    assert role_of_any(owner, "ALICE@example.com", []) == "acting"


def test_first_claimant_acts_only_when_nobody_else_claimed_it() -> None:
    alice, bob = "alice@example.com", "bob@example.com"
    assert ownerless_role("first-claimant", alice, []) == "acting"
    assert ownerless_role("first-claimant", alice, [("ALICE@example.com", "unknown")]) == "acting"
    for role in ("unknown", "acting", "reference"):
        assert ownerless_role("first-claimant", alice, [(bob, role)]) == "reference"
    # Alice's other calendar acts already: her later calendars act, whatever Bob's copies are.
    assert ownerless_role("first-claimant", alice, [(alice, "acting"), (bob, "reference")]) == (
        "acting"
    )
    assert ownerless_role("first-claimant", alice, [(alice, "unknown"), (bob, "unknown")]) == (
        "reference"
    )
    # A calendar that cannot be told is someone else.
    assert ownerless_role("first-claimant", alice, [(None, "unknown")]) == "reference"


def test_hands_off_never_acts() -> None:
    assert ownerless_role("hands-off", "alice@example.com", []) == "reference"


def test_policies_parse_by_name() -> None:
    assert ownerless_policy("first-claimant") == "first-claimant"
    assert ownerless_policy("hands-off") == "hands-off"
    with pytest.raises(ValueError, match="unknown ownerless policy"):
        ownerless_policy("anyone")
