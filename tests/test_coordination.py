"""The coordination layout: `_AGENTS/` on its own hub branch (`protocol_branch`), code on main.

Real hubs, real processes: a local path hub (written in-process) and the same hub behind
git daemon, where the hub's own pre-receive hook runs and guards main.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Hub, cli, git, run_process

Capsys = pytest.CaptureFixture[str]
BRANCH = "sessions"


def rev(hub: Path, ref: str) -> str | None:
    out = git(hub, "rev-parse", "--verify", "-q", ref, check=False).strip()
    return out or None


def on_branch(hub: Path, ref: str, path: str) -> list[str]:
    out = git(hub, "ls-tree", "--name-only", ref, path + "/", check=False)
    return [line.rsplit("/", 1)[-1] for line in out.split("\n") if line]


def split(hub: Hub, capsys: Capsys) -> None:
    """Move the protocol of an initialised hub to BRANCH and pull the new config."""
    code, out, err = cli(hub.repo, "migrate", "--protocol-branch", BRANCH, "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["layout"] == "coordination"
    git(hub.repo, "pull", "-q", "--ff-only")


def plan(repo: Path, capsys: Capsys, *words: str) -> str:
    code, out, err = cli(repo, "new", *words, "--date", "2026-03-03", capsys=capsys)
    assert code == 0, err
    slug = out.strip()
    assert cli(repo, "ready", slug, capsys=capsys)[0] == 0
    return slug


def claim(repo: Path, capsys: Capsys, slug: str) -> Path:
    code, out, err = cli(repo, "claim", slug, "--json", capsys=capsys)
    assert code == 0, err
    return Path(json.loads(out)["worktree"])


def work(wt: Path, slug: str, name: str, text: str) -> None:
    (wt / name).parent.mkdir(parents=True, exist_ok=True)
    (wt / name).write_text(text)
    git(wt, "add", name)
    git(wt, "commit", "-qm", f"[{slug}] feat: {name}")


def test_protocol_commits_never_touch_main(hub: Hub, capsys: Capsys) -> None:
    split(hub, capsys)
    main = hub.main()
    assert on_branch(hub.hub, "main", "_AGENTS") == ["config.yaml"]
    assert "sessions.lock" in on_branch(hub.hub, BRANCH, "_AGENTS/sessions")
    slug = plan(hub.repo, capsys, "login", "flow")
    wt = claim(hub.repo, capsys, slug)
    assert hub.main() == main  # new, ready and claim went to the coordination branch
    assert (wt / "README.md").exists()  # main's code
    assert (wt / f"_AGENTS/sessions/active/{slug}/SESSION.md").exists()  # the session folder
    assert cli(wt, "log", "started", capsys=capsys)[0] == 0
    assert cli(wt, "heartbeat", capsys=capsys)[0] == 0
    work(wt, slug, "src/login.py", "def login():\n    return True\n")
    assert hub.main() == main
    code, out, err = cli(wt, "complete", "--json", capsys=capsys)
    assert code == 0, err
    done = json.loads(out)
    assert done["landing"] is None
    # main got exactly one commit: the code, without any _AGENTS/ change
    assert git(hub.hub, "rev-parse", "main~1").strip() == main
    assert git(hub.hub, "show", "main:src/login.py").startswith("def login")
    changed = git(hub.hub, "diff", "--name-only", main, "main").split()
    assert changed == ["src/login.py"]
    assert done["commit"] == hub.main()
    assert slug in on_branch(hub.hub, BRANCH, "_AGENTS/sessions/completed")
    patch = git(hub.hub, "show", f"{BRANCH}:_AGENTS/sessions/completed/{slug}/{slug}.patch")
    assert "src/login.py" in patch
    assert f"Landed: {hub.main()}" in git(hub.hub, "log", "-1", "--format=%B", BRANCH)
    code, out, err = cli(hub.repo, "check", "--json", capsys=capsys)
    assert code == 0, out + err
    git(hub.hub, "fsck", "--no-progress")
