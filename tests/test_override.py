"""OVERRIDE: the audited change of a frozen plan, on main and on the session branch."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from conftest import Hub, cli, cli_error, git, push_files

from git_sessions.protocol import SESSIONS

Capsys = pytest.CaptureFixture[str]


def ok(repo: Path, *args: str, capsys: Capsys) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def claimed(hub: Hub, capsys: Capsys, *extra: str) -> tuple[str, Path]:
    slug = ok(hub.repo, "new", "plan", "change", "--criteria", "first goal", capsys=capsys).strip()
    ok(hub.repo, "ready", slug, capsys=capsys)
    out = ok(hub.repo, "claim", slug, "--json", *extra, capsys=capsys)
    return slug, Path(json.loads(out)["worktree"])


def plan_of(wt: Path, slug: str) -> Path:
    return wt / SESSIONS / "active" / slug / "SESSION.md"


def check_ok(hub: Hub, capsys: Capsys) -> bool:
    return cli(hub.repo, "check", capsys=capsys)[0] == 0


def test_override_from_a_file_is_audited_on_main_and_the_branch(
    hub: Hub, capsys: Capsys, tmp_path: Path
) -> None:
    slug, wt = claimed(hub, capsys)
    new_plan = plan_of(wt, slug).read_text().replace("first goal", "second goal")
    (tmp_path / "plan.md").write_text(new_plan)
    args = ("override", slug, "--reason", "the API changed", "--file", str(tmp_path / "plan.md"))
    done = json.loads(ok(hub.repo, *args, "--json", capsys=capsys))
    subject = f"[{slug}] OVERRIDE: the API changed"
    assert git(hub.hub, "log", "-1", "--format=%s", "main").strip() == subject
    path = f"{SESSIONS}/active/{slug}/SESSION.md"
    assert git(hub.hub, "show", f"main:{path}") == new_plan
    assert git(wt, "log", "-1", "--format=%s").strip() == subject
    assert done["main_commit"] == hub.main() and done["branch_commit"]
    assert plan_of(wt, slug).read_text() == new_plan
    assert not plan_of(wt, slug).stat().st_mode & stat.S_IWUSR  # frozen again
    worklog = (wt / SESSIONS / "active" / slug / "worklog.md").read_text()
    assert "OVERRIDE of SESSION.md: the API changed" in worklog
    assert git(wt, "status", "--porcelain") == ""
    assert check_ok(hub, capsys)

    report = json.loads(ok(hub.repo, "drift", slug, "--json", capsys=capsys))
    assert report["plan_changed"] and report["overrides"] == ["the API changed"]
    assert "OVERRIDE: the API changed" in ok(hub.repo, "drift", slug, capsys=capsys)
    ok(hub.repo, "complete", slug, "--allow-empty", capsys=capsys)
    stored = git(hub.hub, "show", f"main:{SESSIONS}/completed/{slug}/drift.md")
    assert "by 1 OVERRIDE(s)" in stored and "- OVERRIDE: the API changed" in stored


def test_unlock_then_edit_then_override(hub: Hub, capsys: Capsys) -> None:
    slug, wt = claimed(hub, capsys)
    path = Path(ok(wt, "override", "--unlock", capsys=capsys).strip())
    assert path == plan_of(wt, slug)
    path.write_text(path.read_text() + "\n## Amended\nmore scope\n")
    ok(wt, "override", "-r", "scope grew", capsys=capsys)
    assert "more scope" in git(hub.hub, "show", f"main:{SESSIONS}/active/{slug}/SESSION.md")
    assert check_ok(hub, capsys)


def test_override_runs_the_editor(
    hub: Hub, capsys: Capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug, wt = claimed(hub, capsys)
    editor = tmp_path / "editor"
    editor.write_text('#!/bin/sh\nprintf -- "- [ ] edited goal\\n" >> "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    ok(wt, "override", "--reason", "edited", capsys=capsys)
    assert "- [ ] edited goal" in git(hub.hub, "show", f"main:{SESSIONS}/active/{slug}/SESSION.md")


def test_a_failed_editor_changes_nothing_and_refreezes(
    hub: Hub, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug, wt = claimed(hub, capsys)
    monkeypatch.setenv("EDITOR", "false")
    cli_error(hub, "override", slug, "--reason", "x", code=1, capsys=capsys, repo=wt)
    assert not plan_of(wt, slug).stat().st_mode & stat.S_IWUSR


def test_override_needs_a_reason_a_change_and_the_holder(
    hub: Hub, capsys: Capsys, tmp_path: Path
) -> None:
    slug, wt = claimed(hub, capsys)
    same = tmp_path / "same.md"
    same.write_text(plan_of(wt, slug).read_text())
    assert "reason" in cli_error(hub, "override", slug, "--file", str(same), code=1, capsys=capsys)
    err = cli_error(hub, "override", slug, "-r", "x", "--file", str(same), code=1, capsys=capsys)
    assert "same" in err
    other = tmp_path / "other.md"
    other.write_text("---\ntitle: t\n---\nnew\n")
    args = ("override", slug, "-r", "x", "--file", str(other))
    err = cli_error(hub, *args, "--agent", "B", "--email", "b@x", code=3, capsys=capsys)
    assert "held by" in err


def test_check_refuses_an_unaudited_plan_change_and_accepts_a_later_override(
    hub: Hub, capsys: Capsys, tmp_path: Path
) -> None:
    slug, _ = claimed(hub, capsys)
    path = f"{SESSIONS}/active/{slug}/SESSION.md"
    git(hub.repo, "pull", "-q")
    edited = (hub.repo / path).read_text() + "sneaky\n"
    push_files(hub.repo, {path: edited}, f"[{slug}] docs: edit the plan")
    assert not check_ok(hub, capsys)
    # a message that only mentions OVERRIDE somewhere is not audited
    push_files(hub.repo, {path: edited + "more\n"}, f"[{slug}] docs: not an OVERRIDE: x")
    assert not check_ok(hub, capsys)
    (tmp_path / "p.md").write_text(edited)
    ok(hub.repo, "override", slug, "-r", "make it official", "--file", str(tmp_path / "p.md"),
       capsys=capsys)  # fmt: skip
    assert check_ok(hub, capsys)
    assert cli(hub.repo, "check", "--deep", capsys=capsys)[0] == 0  # the commits audited
    # the default check compares with the plan `.override` records: a later edit is caught
    push_files(hub.repo, {path: edited + "again\n"}, f"[{slug}] docs: edit it again")
    code, out, _ = cli(hub.repo, "check", capsys=capsys)
    assert code == 3 and "changed since its OVERRIDE" in out
    assert cli(hub.repo, "check", "--deep", capsys=capsys)[0] == 3


def test_the_commit_msg_hook_accepts_an_override(hub: Hub, capsys: Capsys) -> None:
    slug, wt = claimed(hub, capsys)
    ok(hub.repo, "hooks", "install", capsys=capsys)
    (wt / "x.txt").write_text("x\n")
    git(wt, "add", "x.txt")
    git(wt, "commit", "-qm", f"[{slug}] OVERRIDE: by hand")
    assert f"Session: {slug}" in git(wt, "log", "-1", "--format=%B")
