"""The KB rule: complete refuses canonical changes outside kb- sessions; check judges all history
since the first init; an acknowledgement is the remedy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Hub, cli, cli_error, git, push_files

from git_sessions.kbrule import ACKNOWLEDGED, canonical
from git_sessions.protocol import INIT_SUBJECT, KNOWLEDGE, SESSIONS

Capsys = pytest.CaptureFixture[str]


def ok(repo: Path, *args: str, capsys: Capsys) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def claimed(hub: Hub, words: str, capsys: Capsys) -> tuple[str, Path]:
    slug = ok(hub.repo, "new", words, capsys=capsys).strip()
    ok(hub.repo, "ready", slug, capsys=capsys)
    out = ok(hub.repo, "claim", slug, "--json", capsys=capsys)
    return slug, Path(json.loads(out)["worktree"])


def commit(wt: Path, files: dict[str, str], message: str) -> None:
    for path, text in files.items():
        (wt / path).parent.mkdir(parents=True, exist_ok=True)
        (wt / path).write_text(text)
        git(wt, "add", path)
    git(wt, "commit", "-qm", message)


def check_code(hub: Hub, capsys: Capsys) -> int:
    return cli(hub.repo, "check", "--deep", capsys=capsys)[0]


def test_canonical_paths() -> None:
    paths = [f"{KNOWLEDGE}/a.md", f"{KNOWLEDGE}/sessions/s/learnings.md", "src/x.py"]
    assert canonical(paths) == [f"{KNOWLEDGE}/a.md"]


def test_complete_refuses_a_canonical_change_outside_a_kb_session(hub: Hub, capsys: Capsys) -> None:
    slug, wt = claimed(hub, "sneaky", capsys)
    commit(wt, {f"{KNOWLEDGE}/guide.md": "my opinion\n", "a.py": "a\n"}, f"[{slug}] feat: a")
    err = cli_error(hub, "complete", slug, code=3, capsys=capsys)
    assert f"{KNOWLEDGE}/guide.md" in err and "kb-" in err
    assert git(wt, "rev-parse", "--abbrev-ref", "HEAD").strip() == f"session/{slug}"
    git(wt, "rm", "-q", f"{KNOWLEDGE}/guide.md")
    git(wt, "commit", "-qm", f"[{slug}] fix: keep the guide for a kb- session")
    ok(hub.repo, "complete", slug, capsys=capsys)
    assert check_code(hub, capsys) == 0


def test_a_kb_session_may_change_the_knowledge_base_and_others_may_merge_it(
    hub: Hub, capsys: Capsys
) -> None:
    slug, wt = claimed(hub, "learner", capsys)
    other, other_wt = claimed(hub, "bystander", capsys)
    ok(wt, "learn", "bcrypt truncates at 72 bytes", capsys=capsys)
    out = json.loads(ok(hub.repo, "complete", slug, "--allow-empty", "--json", capsys=capsys))
    kb = out["kb_session"]
    assert kb.startswith("kb-")
    out = ok(hub.repo, "claim", kb, "--json", capsys=capsys)
    kb_wt = Path(json.loads(out)["worktree"])
    commit(kb_wt, {f"{KNOWLEDGE}/security.md": "- bcrypt: 72 bytes\n"}, f"[{kb}] docs: merge")
    ok(hub.repo, "complete", kb, capsys=capsys)
    # the bystander brings main (with the kb change) into its branch: that is not its change
    git(other_wt, "fetch", "-q", "origin")
    git(other_wt, "merge", "-q", "--no-edit", "-m", f"[{other}] chore: merge main", "origin/main")
    commit(other_wt, {"b.py": "b\n"}, f"[{other}] feat: b")
    ok(hub.repo, "complete", other, capsys=capsys)
    assert check_code(hub, capsys) == 0


def test_a_rerun_or_forged_init_hides_no_violation(hub: Hub, capsys: Capsys) -> None:
    push_files(hub.repo, {f"{KNOWLEDGE}/guide.md": "x\n"}, "[2025-10-14-x] docs: kb edit")
    readme = f"{SESSIONS}/SESSIONS-README.md"
    push_files(hub.repo, {readme: None}, "lose a scaffold file")
    out = ok(hub.repo, "init", capsys=capsys)
    assert "initialised" in out  # a second init commit
    assert git(hub.hub, "log", "-1", "--format=%s", "main").startswith(INIT_SUBJECT)
    assert check_code(hub, capsys) == 3
    push_files(hub.repo, {"note.txt": "x\n"}, INIT_SUBJECT)
    assert check_code(hub, capsys) == 3


def test_acknowledging_a_violation_is_the_remedy(hub: Hub, capsys: Capsys) -> None:
    bad = push_files(hub.repo, {f"{KNOWLEDGE}/guide.md": "x\n"}, "[2025-10-14-x] docs: kb edit")
    data = json.loads(cli(hub.repo, "check", "--json", capsys=capsys)[1])
    assert [v["commit"] for v in data["violations"]] == [bad]
    innocent = git(hub.hub, "rev-parse", "main~1").strip()
    err = cli_error(hub, "acknowledge", innocent[:10], "-r", "x", code=1, capsys=capsys)
    assert "not a knowledge violation" in err
    cli_error(hub, "acknowledge", bad[:10], "-r", " ", code=1, capsys=capsys)
    out = ok(hub.repo, "acknowledge", bad[:10], "--reason", "reviewed by Ana", capsys=capsys)
    assert "acknowledged" in out
    assert git(hub.hub, "show", f"main:{ACKNOWLEDGED}") == f"{bad} reviewed by Ana\n"
    assert check_code(hub, capsys) == 0
    assert "already" in ok(hub.repo, "acknowledge", bad, "-r", "again", capsys=capsys)
    # a later violation is still caught
    push_files(hub.repo, {f"{KNOWLEDGE}/guide.md": "y\n"}, "[2025-10-14-y] docs: again")
    assert check_code(hub, capsys) == 3
