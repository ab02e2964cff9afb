"""What a newcomer meets first: plans without criteria, hints that lead somewhere, the README's
blocks working when pasted."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Hub, cli, cli_error, git

from git_sessions import drift

Capsys = pytest.CaptureFixture[str]


def ok(repo: Path, *args: str, capsys: Capsys) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def test_a_plan_without_criteria_has_none(hub: Hub, capsys: Capsys) -> None:
    slug = ok(hub.repo, "new", "no", "criteria", capsys=capsys).strip()
    plan = git(hub.hub, "show", f"main:_AGENTS/sessions/drafting/{slug}/SESSION.md")
    assert "## Acceptance criteria" in plan
    assert drift.criteria(plan) == []
    ok(hub.repo, "ready", slug, capsys=capsys)
    ok(hub.repo, "claim", slug, capsys=capsys)
    report = json.loads(ok(hub.repo, "drift", slug, "--json", capsys=capsys))
    assert report["criteria"] == [] and report["criteria_met"] == 0


def test_an_old_templates_placeholder_is_not_a_criterion() -> None:
    plan = "# x\n## Acceptance criteria\n- [ ] _Define what done means, one checkable line each._\n"
    assert drift.criteria(plan) == []
    real = "## Acceptance criteria\n- [ ] parse _all_ inputs\n- [x] _emphasis_ first\n"
    assert [c.text for c in drift.criteria(real)] == ["parse _all_ inputs", "_emphasis_ first"]


def test_list_on_an_uninitialised_hub_says_run_init(plain: Hub, capsys: Capsys) -> None:
    err = cli_error(plain, "list", code=1, capsys=capsys)
    assert "not initialised" in err and "run: git sessions init" in err


def test_log_on_a_completed_session_does_not_say_claim_it(hub: Hub, capsys: Capsys) -> None:
    slug = ok(hub.repo, "new", "short", "one", capsys=capsys).strip()
    ok(hub.repo, "ready", slug, capsys=capsys)
    ok(hub.repo, "claim", slug, capsys=capsys)
    ok(hub.repo, "complete", slug, "--allow-empty", capsys=capsys)
    err = cli_error(hub, "log", "late note", "--session", slug, code=1, capsys=capsys)
    assert "completed" in err and "journal is closed" in err and "claim it" not in err


def test_log_on_a_session_claimed_elsewhere_names_the_holder(hub: Hub, capsys: Capsys) -> None:
    slug = ok(hub.repo, "new", "theirs", capsys=capsys).strip()
    ok(hub.repo, "ready", slug, capsys=capsys)
    other = hub.clone("other")
    ok(other, "claim", slug, "--agent", "Other", "--email", "o@example.com", capsys=capsys)
    err = cli_error(hub, "log", "mine?", "--session", slug, code=1, capsys=capsys)
    assert "claimed by Other <o@example.com>" in err and "claim it first" not in err


def test_complete_with_untracked_files_suggests_adding_them(hub: Hub, capsys: Capsys) -> None:
    slug = ok(hub.repo, "new", "untracked", capsys=capsys).strip()
    ok(hub.repo, "ready", slug, capsys=capsys)
    out = ok(hub.repo, "claim", slug, "--json", capsys=capsys)
    (Path(json.loads(out)["worktree"]) / "new.txt").write_text("new\n")
    err = cli_error(hub, "complete", slug, code=1, capsys=capsys)
    assert "add -A" in err and "commit -am" not in err


def test_spawn_takes_the_date_its_hint_suggests(hub: Hub, capsys: Capsys) -> None:
    parent = ok(hub.repo, "new", "parent", capsys=capsys).strip()
    args = ("spawn", "child", "--parent", parent, "--date", "2024-02-29")
    assert ok(hub.repo, *args, capsys=capsys).strip() == "2024-02-29-child"
    err = cli_error(hub, *args, code=1, capsys=capsys)
    assert "--date" in err
    out = ok(hub.repo, *args[:-1], "2024-03-01", "--criteria", "it works", capsys=capsys)
    plan = git(hub.hub, "show", f"main:_AGENTS/sessions/drafting/{out.strip()}/SESSION.md")
    assert "- [ ] it works" in plan


def readme_block(heading: str) -> str:
    """The first ```sh block under `heading` in README.md."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(heading) :]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, heading
    return match.group(1)


def test_the_readme_plan_block_works_when_pasted(hub: Hub) -> None:
    script = readme_block("### Plan sessions") + readme_block("### The life of a session")
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["sh", "-ec", script], cwd=hub.repo, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "ok: main" in result.stdout
    active = git(hub.hub, "ls-tree", "--name-only", "main:_AGENTS/sessions/active/")
    assert active.strip().endswith("-auth-system")
