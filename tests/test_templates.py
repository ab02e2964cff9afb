"""templates.py: package templates, repository overrides, strict variables, safe filters."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import Hub, cli, cli_error, push_files

from git_sessions import catalog, sessionenv, templates
from git_sessions.drafting import Draft, session_context
from git_sessions.edits import Identity
from git_sessions.errors import BadInput
from git_sessions.protocol import TEMPLATES_DIR

DAY = dt.date(2025, 10, 14)
OVERRIDE = f"{TEMPLATES_DIR}/SESSION.md.j2"


def no_override(path: str) -> str | None:
    return None


def overrides(files: dict[str, str]) -> Callable[[str], str | None]:
    return lambda path: files.get(path)


def test_every_shipped_template_exists() -> None:
    for name in templates.NAMES:
        assert templates.package_template(name).strip(), name
    assert (templates.package_dir() / "SESSIONS-README.md").is_file()


def test_override_wins_over_the_package() -> None:
    read = overrides({OVERRIDE: "custom {{ SESSION_SLUG }}"})
    assert templates.render("SESSION.md.j2", {"SESSION_SLUG": "s"}, read) == "custom s"


def test_package_template_is_the_fallback() -> None:
    context = session_context("2025-10-14-x", Draft(("x",)), DAY)
    text = templates.render("SESSION.md.j2", context, no_override)
    assert text.startswith("---\n")
    assert "# Session: 2025-10-14-x" in text


def test_missing_variable_is_an_error_not_a_blank() -> None:
    read = overrides({OVERRIDE: "a {{ NOT_PROVIDED }} b"})
    with pytest.raises(BadInput) as info:
        templates.render("SESSION.md.j2", {}, read)
    assert "NOT_PROVIDED" in info.value.message
    assert info.value.hint is not None and OVERRIDE in info.value.hint


@pytest.mark.parametrize(
    "source",
    ["{{ NOPE or 'fallback' }}", "{% if NOPE %}x{% endif %}", "{{ NOPE.attr }}", "{{ NOPE }}"],
)
def test_missing_variable_fails_in_every_use(source: str) -> None:
    with pytest.raises(BadInput):
        templates.render("SESSION.md.j2", {}, overrides({OVERRIDE: source}))


def test_template_syntax_error() -> None:
    read = overrides({OVERRIDE: "line one\n{% if %}\n"})
    with pytest.raises(BadInput) as info:
        templates.render("SESSION.md.j2", {}, read)
    assert "line 2" in info.value.message


def test_unknown_template() -> None:
    with pytest.raises(BadInput) as info:
        templates.render("nope.j2", {}, no_override)
    assert "nope.j2" in info.value.message


def test_trailing_newline_is_kept() -> None:
    assert templates.render("SESSION.md.j2", {}, overrides({OVERRIDE: "x\n"})) == "x\n"


NASTY_TITLES = [
    "plain title",
    'He said: "hi"',
    "it's a colon: here",
    "# not a comment",
    "- not a list",
    "[not, a, list]",
    "{not: a map}",
    "&anchor *alias !tag %directive @at `tick`",
    "null",
    "yes",
    "123",
    "  leading and trailing  ",
    "line one\nline two",
    "x\n---\ninjected: true",
    "tab\there",
    "unicode: é ✓ 漢字",
    "'",
    '"',
    "\\",
]


@pytest.mark.parametrize("title", NASTY_TITLES)
def test_front_matter_survives_any_title(title: str) -> None:
    draft = Draft(("x",), title=title, capabilities=("py",), priority=3, depends_on=())
    text = templates.render(
        "SESSION.md.j2", session_context("2025-10-14-x", draft, DAY), no_override
    )
    session = catalog.parse_session("2025-10-14-x", "drafting", text)
    assert session.problems == ()
    assert session.title == title
    assert session.capabilities == ("py",)
    assert session.priority == 3
    assert session.created == "2025-10-14"


@pytest.mark.parametrize("value", [None, 5, "", ["a", "b: c"], []])
def test_yaml_filter_round_trips(value: object) -> None:
    text = templates.render(
        "SESSION.md.j2", {"V": value}, overrides({OVERRIDE: "v: {{ V | yaml }}\n"})
    )
    assert yaml.safe_load(text) == {"v": value}


EVIL = "$(touch pwned) `touch pwned` ; touch pwned ' \" \\ $HOME"


def test_session_env_makes_shell_syntax_inert(tmp_path: Path) -> None:
    who = Identity(EVIL, "a@b; touch pwned")
    env = sessionenv.make("2025-10-14-x", who, f"/tmp/{EVIL}", 20000)
    env_file = tmp_path / "session-env"
    env_file.write_text(sessionenv.render(env))
    script = (
        '. ./session-env && printf "%s\\0%s\\0%s\\0%s"'
        ' "$SESSION_ID" "$GIT_AUTHOR_NAME" "$GIT_AUTHOR_EMAIL" "$SESSION_WORKTREE"'
    )
    result = subprocess.run(
        ["sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\0") == ["2025-10-14-x", EVIL, "a@b; touch pwned", f"/tmp/{EVIL}"]
    assert not (tmp_path / "pwned").exists()
    assert sessionenv.is_generated(env_file.read_text())


# --------------------------------------------------------------------------- through the CLI


def test_cli_uses_the_override_on_main(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    original = (hub.repo / OVERRIDE).read_text()
    custom = original.replace("## Context", "## Context\nCUSTOM-MARKER {{ SESSION_SLUG }}")
    push_files(hub.repo, {OVERRIDE: custom}, "custom session template")
    code, out, err = cli(hub.repo, "new", "custom", "--date", "2025-10-14", capsys=capsys)
    assert code == 0, err
    code, out, _ = cli(hub.repo, "show", out.strip(), "--json", capsys=capsys)
    assert code == 0
    assert "CUSTOM-MARKER 2025-10-14-custom" in json.loads(out)["files"]["SESSION.md"]


def test_cli_reads_the_override_from_main_not_the_checkout(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    (hub.repo / OVERRIDE).write_text("LOCAL ONLY {{ NOT_PROVIDED }}\n")
    code, _, err = cli(hub.repo, "new", "x", "--date", "2025-10-14", capsys=capsys)
    assert code == 0, err
    _, shown, _ = cli(hub.repo, "show", "2025-10-14-x", "--json", capsys=capsys)
    assert "LOCAL ONLY" not in json.loads(shown)["files"]["SESSION.md"]


def test_cli_missing_variable_in_override_is_exit_1(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    push_files(hub.repo, {OVERRIDE: "---\ntitle: {{ TYPO_TITLE }}\n---\n"}, "broken template")
    err = cli_error(hub, "new", "x", code=1, capsys=capsys)
    assert "TYPO_TITLE" in err
    assert "hint: " in err


def test_cli_falls_back_to_the_package_without_overrides(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    push_files(hub.repo, {TEMPLATES_DIR: None}, "drop the overrides")
    code, _, err = cli(hub.repo, "new", "plain", "--date", "2025-10-14", capsys=capsys)
    assert code == 0, err
    _, shown, _ = cli(hub.repo, "show", "2025-10-14-plain", "--json", capsys=capsys)
    assert json.loads(shown)["files"]["SESSION.md"].startswith("---\ntitle: plain\n")


# --------------------------------------------------------------------------- the sandbox

ATTACKS = [
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self.__init__.__globals__ }}",
    "{% include '/etc/passwd' %}",
    "{% include '../../etc/passwd' %}",
    "{% extends 'x/../../etc/passwd' %}",
    "{% include 'SESSION.md.j2' %}",
    "{{ 'x' * 1000000000 }}",
    "{{ 'x' | center(1000000000) }}",
    "{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('ab') }}",
    "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    "{{ '{:999999999}'.format(1) }}",
    "{{ '%999999999s' % 'x' }}",
    "{{ 10 ** 10 ** 10 }}",
    "{{ 'abc' | replace('', 'x' * 1000000) }}",
    "{% set s = 'x' * 900000 %}{{ [s, s, s] | join }}",
    "{{ lipsum(100000) }}",
    "{{ 1 / 0 }}",
]


@pytest.mark.parametrize("source", ATTACKS)
def test_hostile_templates_are_bad_input_in_bounded_time(source: str) -> None:
    import time

    start = time.monotonic()
    with pytest.raises(BadInput) as info:
        templates.render("SESSION.md.j2", {}, overrides({OVERRIDE: source}))
    assert info.value.message.startswith("template SESSION.md.j2")
    assert time.monotonic() - start < 10  # the budget is 2 s; this is two busy cores


def test_documented_filters_and_methods_work() -> None:
    source = (
        "{{ T | upper }} {{ T.lower() }} {{ L | join(',') }} {{ L | length }} {{ T | yaml }}"
        " {{ (T ~ '!') | replace('!', '?') }} {{ T.startswith('Ab') }}"
    )
    read = overrides({OVERRIDE: source})
    text = templates.render("SESSION.md.j2", {"T": "Ab: c", "L": ["x", "y"]}, read)
    assert text == "AB: C ab: c x,y 2 'Ab: c' Ab: c? True"
