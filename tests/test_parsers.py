"""Property-based fuzzing of every parser that reads hub content: they are total.

Whatever bytes a peer pushes, a parser returns a value or raises our typed error (BadInput, or
ValueError where the caller turns it into one), and what we write parses back to what we meant.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_sessions import catalog, drift, events, sessionenv, templates, yamltext
from git_sessions.config import parse_config
from git_sessions.edits import Identity
from git_sessions.errors import BadInput
from git_sessions.patch import parse_patch
from git_sessions.protocol import LockEntry, format_lock, is_slug, parse_lock
from git_sessions.summaries import summarize
from git_sessions.worklog import worklog_lines

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# text with the characters that break naive parsers: line separators, controls, quotes, YAML
NASTY = st.text(
    alphabet=st.sampled_from(
        list("abc019:-_ []{}&*!|>'\"#%@`$()\\;\n\r\t\x00\x0b\x0c\x1b\x1c\x85\u2028\u2029\ufeff")
    )
    | st.characters(),
    max_size=300,
)
YAMLISH = st.lists(
    st.sampled_from(
        [
            "title: x",
            "priority: .inf",
            "priority: -.nan",
            "priority: 1e400",
            "priority: true",
            f"priority: {'9' * 5000}",
            "priority: 0x10",
            "capabilities: [a, {b: c}]",
            "capabilities: &a [x, *a]",
            "depends_on: !!python/object:os.system ls",
            "created: 2026-13-45",
            "created: 2026-01-01",
            "title: &t [*t]",
            "parent: [1]",
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]",
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c]",
            "title: *d",
            "? [a]\n: b",
            "- not a mapping",
        ]
    )
    | NASTY,
    max_size=8,
).map("\n".join)


@FUZZ
@given(YAMLISH)
def test_front_matter_never_raises(body: str) -> None:
    fields = catalog.parse_fields(f"---\n{body}\n---\n# plan\n")
    assert isinstance(fields["priority"], int) and not isinstance(fields["priority"], bool)
    assert abs(fields["priority"]) <= catalog.MAX_PRIORITY
    for text in [fields["title"] or "", *fields["capabilities"], *fields["depends_on"]]:
        assert isinstance(text, str) and len(text) <= catalog.MAX_TEXT
        assert "\x1b" not in text and "\r" not in text


@FUZZ
@given(NASTY)
def test_any_plan_text_parses(text: str) -> None:
    session = catalog.parse_session("2026-01-01-x", "planned", text)
    assert isinstance(session.problems, tuple)


@FUZZ
@given(YAMLISH)
def test_yaml_loader_is_total(text: str) -> None:
    with contextlib.suppress(yamltext.Refused):
        yamltext.load(text)


@FUZZ
@given(st.text(alphabet=st.sampled_from(" \t\r\n#a:\x85\u2028\x01\x7f\ufeff"), max_size=30))
def test_comments_only_yaml_is_what_pyyaml_makes_of_it(text: str) -> None:
    """yamltext answers a document of comments without PyYAML: the same answer, or refusal."""
    import yaml

    def outcome(load: Any) -> object:
        try:
            return load()
        except (yaml.YAMLError, yamltext.Refused):
            return "refused"

    ours = outcome(lambda: yamltext.load(text))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert ours == outcome(lambda: yaml.load(text, Loader=loader)), text
    if yamltext._COMMENTS.fullmatch(text):
        assert ours is None


@FUZZ
@given(
    st.lists(NASTY | st.sampled_from(["2026-01-01-a:1", "2026-01-01-a:" + "9" * 50]), max_size=6)
)
def test_lock_lines_are_total(lines: list[str]) -> None:
    entries, bad = parse_lock("\n".join(lines))
    for entry in entries:
        assert is_slug(entry.slug) and 0 <= entry.since < 10**12
    assert all(isinstance(b, str) for b in bad)


SLUGS = st.builds(
    lambda d, words: f"{d.isoformat()}-{'-'.join(words)}",
    st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
    st.lists(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), min_size=1, max_size=4),
).filter(lambda s: len(s) <= 100)


@FUZZ
@given(st.lists(st.tuples(SLUGS, st.integers(0, 10**11)), max_size=5))
def test_lock_round_trip(pairs: list[tuple[str, int]]) -> None:
    entries = [LockEntry(slug, since) for slug, since in pairs]
    assert parse_lock(format_lock(entries)) == (entries, [])


@FUZZ
@given(YAMLISH)
def test_config_is_total(text: str) -> None:
    import tempfile

    try:
        config = parse_config(text)
    except BadInput:
        return
    with tempfile.TemporaryDirectory() as folder:  # the memo: written, then read back
        memo = Path(folder) / "config-yaml.json"
        assert parse_config(text, memo) == config == parse_config(text, memo)
    assert config.port_base + config.port_block * config.port_slots - 1 <= 65535
    assert not config.worktree_root.startswith("/") and ".." not in config.worktree_root.split("/")


@FUZZ
@given(st.lists(NASTY | st.just('{"time": "2026-01-01T00:00:00Z", "kind": "log", "text": 1}')))
def test_events_are_total(lines: list[str]) -> None:
    for event in events.parse_jsonl("\n".join(lines)):
        worklog_lines(event)
    summarize(events.parse_jsonl("\n".join(lines)))


PLAIN = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80)


@FUZZ
@given(PLAIN, st.integers(0, 2**33 - 1), st.sampled_from([None, *events.CATEGORIES]))
def test_event_round_trip(text: str, when: int, category: str | None) -> None:
    """Any text, even with \\u2028 or \\r inside, survives events.jsonl intact."""
    event = events.Event(when, "log", text, {"category": category} if category else {})
    assert events.parse_jsonl(events.jsonl_line(event) + events.jsonl_line(event)) == [event] * 2


IDENTITY_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Zl", "Zp", "Cs"), blacklist_characters="<>"),
    min_size=1,
    max_size=60,
).filter(str.strip)


@FUZZ
@given(IDENTITY_TEXT, IDENTITY_TEXT, SLUGS, IDENTITY_TEXT, st.integers(1, 65535))
def test_session_env_round_trip(name: str, email: str, slug: str, path: str, port: int) -> None:
    env = sessionenv.make(slug, Identity(name, email), f"/{path}", port)
    text = sessionenv.render(env)
    assert sessionenv.from_text(text) == env
    assert sessionenv.is_generated(text)
    assert not sessionenv.is_generated(text.replace("export ", "export  ", 1))


@FUZZ
@given(NASTY)
def test_session_env_parsing_is_total(text: str) -> None:
    sessionenv.parse(text)
    try:
        env = sessionenv.from_text(text)
    except BadInput:
        return
    lines = sessionenv.export_lines(env).split("\n")
    assert len(lines) == len(sessionenv.NAMES) + 1 and lines[-1] == ""


@pytest.mark.parametrize("char", ["\r", "\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\x1b"])
def test_identities_with_control_characters_are_refused(char: str) -> None:
    with pytest.raises(BadInput):
        sessionenv.check_identity(f"evil{char}export X=$(id)", "e@x")
    with pytest.raises(BadInput):
        sessionenv.check_identity("evil", f"e@x{char}")


@settings(max_examples=25, deadline=None)
@given(IDENTITY_TEXT, IDENTITY_TEXT)
def test_sourced_env_gives_back_exactly_the_values(name: str, email: str) -> None:
    env = sessionenv.make("2026-01-01-x", Identity(name, email), "/w/$(id)", 20000)
    script = sessionenv.render(env) + 'printf "%s\\0%s" "$GIT_AUTHOR_NAME" "$GIT_COMMITTER_EMAIL"'
    done = subprocess.run(["sh", "-c", script], capture_output=True, check=True)
    assert done.stdout.decode() == f"{name}\0{email}"


@FUZZ
@given(YAMLISH)
def test_drift_parse_is_total(body: str) -> None:
    with contextlib.suppress(ValueError):
        drift.parse(f"---\n{body}\n---\n")


@FUZZ
@given(st.lists(NASTY | st.sampled_from(["From: x", "Date: never", "Subject: =?x?q?y?="])))
def test_patch_parse_is_total(lines: list[str]) -> None:
    header = f"From {'a' * 40} Mon Sep 17 00:00:00 2001\n"
    parse_patch(header + "\n".join(lines) + "\n" + header)


TEMPLATE = st.lists(
    st.sampled_from(
        [
            "{{ x }}",
            "{{ ''.__class__ }}",
            "{% for i in range(9) %}{{ i }}{% endfor %}",
            "{{ 'a' * 99 }}",
            "{{ SESSION_SLUG | upper }}",
            "{% include 'x' %}",
            "{{ 1 / 0 }}",
            "{{ ",
            "{% if %}",
            "{{ (SESSION_SLUG ~ SESSION_SLUG) | length }}",
            "{{ SESSION_SLUG.format(1) }}",
            "{{ SESSION_SLUG[0] }}",
        ]
    )
    | NASTY,
    max_size=6,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(TEMPLATE)
def test_any_template_renders_or_is_bad_input(source: str) -> None:
    try:
        out = templates.render("SESSION.md.j2", {"SESSION_SLUG": "s"}, lambda _: source)
    except BadInput as exc:
        assert "SESSION.md.j2" in exc.message
        return
    assert len(out) <= templates.MAX_OUTPUT


def test_the_package_templates_render_in_the_sandbox(tmp_path: Path) -> None:
    from git_sessions.drafting import Draft, session_context

    context = session_context("2026-01-01-x", Draft(("x",)), dt.date(2026, 1, 1))
    for name in ("SESSION.md.j2", "worklog.md.j2", "active-plan.md.j2", "subsessions.md.j2"):
        assert templates.render(name, context, lambda _: None).strip()


def test_the_config_memo_follows_the_text(tmp_path: Path) -> None:
    """config.yaml's parsed YAML is remembered with its exact text: a changed text is parsed
    again, remembered data still goes through every check, a broken memo is ignored."""
    import json

    memo = tmp_path / "git-sessions" / "config-yaml.json"
    assert parse_config("remote: up\n", memo).remote == "up"
    assert json.loads(memo.read_text())["data"] == {"remote": "up"}
    assert parse_config("remote: other\n", memo).remote == "other"
    memo.write_text(json.dumps({"version": 1, "text": "remote: x\n", "data": {"remote": "a b"}}))
    with pytest.raises(BadInput, match="not a remote name"):
        parse_config("remote: x\n", memo)
    memo.write_text("{not json")
    assert parse_config("remote: x\n", memo).remote == "x"
    memo.unlink()
    parse_config("remote: x\nwhen: 2026-01-01\n", memo)  # a date: JSON cannot hold it
    assert not memo.exists()
    parse_config("remote: x\ndeep: " + "[" * 900 + "]" * 900 + "\n", memo)  # json recurses
    assert not memo.exists()
    memo.write_text("[" * 100_000 + "]" * 100_000)
    assert parse_config("remote: x\n", memo).remote == "x"
