"""frontmatter.fast_load: whenever it answers, it answers exactly what the YAML loader would."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import yaml

from git_sessions.frontmatter import fast_load

VALUES = [
    "",
    "~",
    "null",
    "Null",
    "0",
    "7",
    "-3",
    "012",
    "0x1F",
    "1_000",
    "1:30",
    "1.5",
    "1e3",
    ".inf",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "true",
    "task 2",
    "fix the login page (again), for real",
    "a/b+c-d.e",
    "a: b",
    "a #b",
    "trailing ",
    "'2026-12-02'",
    "'it''s'",
    "'a \\\\ b'",
    '"quoted"',
    '"esc\\\\n"',
    "2026-12-02",
    "2026-13-45",
    "2026-12-02 10:00:00",
    "[]",
    "[python, security]",
    "[2026-01-01-auth-system, kb-2026-01-01-merge-x]",
    "[yes, no]",
    "[1, 2]",
    "['a']",
    "[a, [b]]",
    "&anchor x",
    "*alias",
    "!!str x",
    "|",
    "{a: 1}",
    "caf\u00e9 cr\u00e8me",
    "x\u2028y",
    "'x\u0085y'",
]


def yaml_load(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return "ERROR"


@pytest.mark.parametrize("value", VALUES)
def test_each_value_shape_matches_yaml(value: str) -> None:
    for text in (f"title: {value}", f"title: {value}\npriority: 1\n", f"k:{value}"):
        fast = fast_load(text)
        if fast is not None:
            assert fast == yaml_load(text), text


def test_pairs_of_lines_match_yaml() -> None:
    answered = 0
    for a, b in itertools.product(VALUES[:30], repeat=2):
        text = f"title: {a}\ncapabilities: {b}\n"
        fast = fast_load(text)
        if fast is not None:
            answered += 1
            assert fast == yaml_load(text), text
    assert answered > 100  # the subset covers the common shapes


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2",  # duplicate key
        "yes: 1",  # a key YAML 1.1 reads as a boolean
        "list:\n  - a",  # block list
        "  indented: 1",
        "a: 1 # comment",
        "a:\tb",
    ],
)
def test_outside_the_subset_defers_to_yaml(text: str) -> None:
    assert fast_load(text) is None


def test_what_new_writes_is_in_the_subset() -> None:
    text = (
        "title: auth system\ncapabilities: [python, security]\npriority: 5\n"
        "depends_on: [2025-10-14-db-schema]\nparent: null\ncreated: '2025-10-14'\n"
    )
    assert fast_load(text) == yaml.safe_load(text)


def test_remembered_lines_give_fresh_lists_and_the_same_values() -> None:
    first = fast_load("depends_on: [a, b]\ncreated: 2026-01-01\ntitle: one")
    assert first is not None
    first["depends_on"].append("changed")
    second = fast_load("depends_on: [a, b]\ncreated: 2026-01-01\ntitle: two")
    assert second == {
        "depends_on": ["a", "b"],
        "created": dt.date(2026, 1, 1),
        "title": "two",
    }
    assert fast_load("title: one\ntitle: one") is None  # a repeated key, even when remembered
