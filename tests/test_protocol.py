"""protocol.py: slug rules, states, transitions and the lock file, as pure values."""

from __future__ import annotations

import datetime as dt

import pytest

from git_sessions import protocol
from git_sessions.errors import BadInput, Conflict
from git_sessions.protocol import LockEntry

DAY = dt.date(2025, 10, 14)


@pytest.mark.parametrize(
    "slug",
    [
        "2025-10-14-auth-system",
        "kb-2025-10-14-merge-x",
        "2025-10-14-x",
        "2025-10-14-v2-api-3",
        "2024-02-29-leap-day",
    ],
)
def test_valid_slugs(slug: str) -> None:
    assert protocol.check_slug(slug) == slug
    assert protocol.is_slug(slug)


@pytest.mark.parametrize(
    "slug",
    [
        "",
        "2025-10-14",  # no words
        "2025-10-14-",  # trailing dash
        "2025-10-14-auth-",  # trailing dash
        "2025-10-14--auth",  # empty word
        "2025-10-14-auth--system",  # empty word
        "2025-10-14-Auth-System",  # uppercase
        "2025-10-14-auth system",  # space
        "2025-10-14-auth_system",
        "2025-13-40-bad-date",
        "2025-02-29-not-a-leap-year",
        "25-10-14-short-year",
        "..",
        "../../etc",
        "2025-01-01-x/../../y",
        "2025-01-01-x/y",
        "2025-01-01-x\\y",
        "/2025-01-01-x",
        "2025-01-01-x\n",
        "KB-2025-10-14-x",
        "kb2025-10-14-x",
        "x-2025-10-14-y",
        "\u0662\u0660\u0662\u0665-\u0661\u0660-\u0661\u0664-unicode-digits",
        "2025-10-14-" + "a" * 100,  # too long
    ],
)
def test_invalid_slugs(slug: str) -> None:
    assert not protocol.is_slug(slug)
    with pytest.raises(BadInput) as info:
        protocol.check_slug(slug)
    assert info.value.exit_code == 1
    assert repr(slug) in info.value.message


def test_bad_slug_error_has_a_hint() -> None:
    with pytest.raises(BadInput) as info:
        protocol.check_slug("Auth")
    assert info.value.hint is not None
    assert "2025-10-14-auth-system" in info.value.hint


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["auth", "system"], "2025-10-14-auth-system"),
        (["Auth System"], "2025-10-14-auth-system"),
        (["fix: the", "DB's  pool!"], "2025-10-14-fix-the-db-s-pool"),
        (["../../etc"], "2025-10-14-etc"),
        (["v2", "API"], "2025-10-14-v2-api"),
        (["café"], "2025-10-14-caf"),
    ],
)
def test_make_slug(words: list[str], expected: str) -> None:
    assert protocol.make_slug(words, DAY) == expected


def test_make_slug_kb() -> None:
    assert protocol.make_slug(["merge", "x"], DAY, kb=True) == "kb-2025-10-14-merge-x"


@pytest.mark.parametrize("words", [[], [""], ["!!!", "--"], ["   "]])
def test_make_slug_needs_a_word(words: list[str]) -> None:
    with pytest.raises(BadInput):
        protocol.make_slug(words, DAY)


def test_make_slug_truncates_long_names_to_a_valid_slug() -> None:
    slug = protocol.make_slug(["word"] * 40, DAY)
    assert len(slug) <= protocol.MAX_SLUG
    assert protocol.is_slug(slug)
    assert not slug.endswith("-")
    # A cut that lands just after a dash must not leave it dangling.
    cut = protocol.make_slug(["a" * 88, "b" * 20], DAY)
    assert cut == "2025-10-14-" + "a" * 88 and protocol.is_slug(cut)


def test_check_state() -> None:
    for state in protocol.STATES:
        assert protocol.check_state(state) == state
    with pytest.raises(BadInput) as info:
        protocol.check_state("done")
    assert info.value.hint is not None and "planned" in info.value.hint


def test_session_dir() -> None:
    assert (
        protocol.session_dir("planned", "2025-10-14-x") == "_AGENTS/sessions/planned/2025-10-14-x"
    )
    with pytest.raises(BadInput):
        protocol.session_dir("planned", "../../etc")
    with pytest.raises(BadInput):
        protocol.session_dir("../planned", "2025-10-14-x")


@pytest.mark.parametrize(
    ("src", "dst", "verb"),
    [
        ("drafting", "planned", "ready"),
        ("planned", "drafting", "unready"),
        ("planned", "active", "claim"),
        ("active", "planned", "release"),
        ("active", "completed", "complete"),
        ("active", "abandoned", "abandon"),
    ],
)
def test_legal_transitions(src: str, dst: str, verb: str) -> None:
    assert protocol.transition_verb(src, dst, "2025-10-14-x") == verb


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("planned", "planned"),
        ("drafting", "active"),
        ("drafting", "completed"),
        ("completed", "active"),
        ("abandoned", "planned"),
        ("active", "drafting"),
    ],
)
def test_illegal_transitions_are_conflicts(src: str, dst: str) -> None:
    with pytest.raises(Conflict) as info:
        protocol.transition_verb(src, dst, "2025-10-14-x")
    assert info.value.exit_code == 3
    assert "2025-10-14-x" in info.value.message
    assert info.value.hint


def test_final_states_say_so() -> None:
    with pytest.raises(Conflict) as info:
        protocol.transition_verb("completed", "planned", "2025-10-14-x")
    assert info.value.hint == "completed is final"


def test_commit_message() -> None:
    assert protocol.commit_message("2025-10-14-x", "ready") == "[2025-10-14-x] chore: ready session"


def test_parse_lock() -> None:
    text = "2025-10-14-a:100\n\n  kb-2025-10-14-b:200  \n"
    entries, bad = protocol.parse_lock(text)
    assert entries == [LockEntry("2025-10-14-a", 100), LockEntry("kb-2025-10-14-b", 200)]
    assert bad == []


@pytest.mark.parametrize(
    "line",
    [
        "2025-10-14-a",
        "2025-10-14-a:",
        "2025-10-14-a:abc",
        "2025-10-14-a:-5",
        "2025-10-14-a:1.5",
        ":100",
        "../../etc:100",
        "2025-10-14-a 100",
        "2025-10-14-a:1:2",
        "Auth:100",
    ],
)
def test_parse_lock_reports_malformed_lines(line: str) -> None:
    entries, bad = protocol.parse_lock(f"2025-10-14-ok:1\n{line}\n")
    assert entries == [LockEntry("2025-10-14-ok", 1)]
    assert bad == [line]


def test_lock_round_trip() -> None:
    entries = [LockEntry("2025-10-14-a", 1), LockEntry("2025-10-14-b", 2)]
    text = protocol.format_lock(entries)
    assert text == "2025-10-14-a:1\n2025-10-14-b:2\n"
    assert protocol.parse_lock(text) == (entries, [])
    assert protocol.format_lock([]) == ""


def test_lock_add_and_remove() -> None:
    text = protocol.lock_add("", "2025-10-14-a", 10)
    text = protocol.lock_add(text, "2025-10-14-b", 20)
    assert text == "2025-10-14-a:10\n2025-10-14-b:20\n"
    with pytest.raises(Conflict):
        protocol.lock_add(text, "2025-10-14-a", 30)
    assert protocol.lock_remove(text, "2025-10-14-a") == "2025-10-14-b:20\n"
    assert protocol.lock_remove(text, "2025-10-14-zzz") == text
