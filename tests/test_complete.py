"""complete, abandon, drift and learn, end to end against a real bare hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Hub, cli, git, run_process


def planned(hub: Hub, capsys: pytest.CaptureFixture[str], *words: str, **opts: str) -> str:
    args = [*words]
    for key, value in opts.items():
        args += [f"--{key.replace('_', '-')}", value]
    code, out, err = cli(hub.repo, "new", *args, "--date", "2026-03-03", capsys=capsys)
    assert code == 0, err
    slug = out.strip()
    assert cli(hub.repo, "ready", slug, capsys=capsys)[0] == 0
    return slug


def claimed(hub: Hub, capsys: pytest.CaptureFixture[str], slug: str, *args: str) -> Path:
    code, out, err = cli(hub.repo, "claim", slug, "--json", *args, capsys=capsys)
    assert code == 0, err
    return Path(json.loads(out)["worktree"])


def commit(wt: Path, message: str, files: dict[str, bytes | None]) -> None:
    for name, data in files.items():
        path = wt / name
        if data is None:
            git(wt, "rm", "-q", name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        git(wt, "add", name)
    git(wt, "commit", "-qm", message)


def test_complete_end_to_end(hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    slug = planned(
        hub,
        capsys,
        "login",
        "flow",
        criteria="users can log in",
        context="Change `src/auth.py` and `docs/`.",
    )
    wt = claimed(hub, capsys, slug)
    claim_commit = hub.main()
    commit(wt, f"[{slug}] feat: login", {"src/auth.py": b"def login():\n    return True\n"})
    commit(wt, f"[{slug}] feat: logo", {"logo.png": bytes(range(256)) * 4})
    git(wt, "mv", "README.md", "README.txt")
    git(wt, "commit", "-qm", f"[{slug}] refactor: rename readme")
    code, _, err = cli(
        hub.repo, "learn", "merge_trees wants trees", "--session", slug, capsys=capsys
    )
    assert code == 0, err
    assert git(wt, "status", "--porcelain") == ""
    worklog = wt / f"_AGENTS/sessions/active/{slug}/worklog.md"
    worklog.write_text(worklog.read_text() + "- [x] users can log in\n")
    git(wt, "commit", "-qam", f"[{slug}] docs: worklog")
    tip = git(wt, "rev-parse", "HEAD").strip()
    tip_tree = git(wt, "rev-parse", "HEAD^{tree}").strip()

    code, out, err = cli(hub.repo, "complete", slug, "--json", capsys=capsys)
    assert code == 0, err
    result = json.loads(out)

    # one squash commit with one parent, the agreed message, subjects in the body; its end
    # record follows it (on main's tip)
    squash = result["commit"]
    assert git(hub.hub, "rev-parse", "main^").strip() == squash
    parents = git(hub.hub, "rev-list", "--parents", "-n1", squash).split()[1:]
    assert parents == [claim_commit]
    message = git(hub.hub, "log", "-1", "--format=%B", squash)
    assert message.startswith(f"[{slug}] feat: login flow\n\n")
    for subject in ("feat: login", "feat: logo", "refactor: rename readme", "docs: capture"):
        assert subject in message
    files = git(hub.hub, "ls-tree", "-r", "--name-only", squash).split()
    assert {"src/auth.py", "logo.png", "README.txt"} <= set(files)
    assert "README.md" not in files
    done = f"_AGENTS/sessions/completed/{slug}"
    assert f"{done}/{slug}.patch" in files and f"{done}/drift.md" in files
    assert f"{done}/.session-env" not in files
    assert not any(f.startswith(f"_AGENTS/sessions/active/{slug}") for f in files)
    assert git(hub.hub, "show", f"{squash}:_AGENTS/sessions/sessions.lock") == ""

    # the code patch is one message, without journal files; git am of it on the squash's
    # parent gives the code that landed, and the journal series on top gives the branch's tree
    check = tmp_path / "am"
    git(tmp_path, "clone", "-q", str(hub.hub), str(check))
    git(check, "checkout", "-q", claim_commit)
    code_patch = git(hub.hub, "show", f"{squash}:{done}/{slug}.patch")
    assert code_patch.count("\nSubject: ") == 1 and "_AGENTS/" not in code_patch
    assert f"base-commit: {claim_commit}" in code_patch
    patch = tmp_path / "session.patch"
    patch.write_text(code_patch)
    git(check, "am", "-q", "--keep-non-patch", str(patch))
    assert git(check, "log", "-1", "--format=%s").strip() == f"[{slug}] feat: login flow"
    assert git(check, "diff", "HEAD", squash, "--", ".", ":(exclude)_AGENTS") == ""
    journal = git(hub.hub, "show", f"{squash}:{done}/{slug}.journal.patch")
    assert "diff --git a/src/auth.py" not in journal and journal.count("\nSubject: ") == 5
    patch.write_text(journal)
    # code-only commits stay in the record with no diff: git am stops at each, --allow-empty
    # records it and goes on
    git(check, "am", "-q", "--keep-non-patch", str(patch), check=False)
    for _ in range(5):
        if not (check / ".git/rebase-apply").exists():
            break
        git(check, "am", "-q", "--allow-empty", check=False)
    assert not (check / ".git/rebase-apply").exists()
    assert git(check, "diff", "--stat", "HEAD", tip) == ""
    assert git(check, "rev-parse", "HEAD^{tree}").strip() == tip_tree

    # drift.md is right
    code, out, _ = cli(hub.repo, "drift", slug, "--json", capsys=capsys)
    assert code == 0
    report = json.loads(out)
    assert report["criteria"] == [{"text": "users can log in", "checked": True}]
    assert report["planned_files"] == ["docs", "src/auth.py"]
    assert report["untouched_planned_files"] == ["docs"]
    assert set(report["unplanned_files"]) == {"logo.png", "README.md", "README.txt"}
    assert report["commits"] == 5

    # a kb- session is planned and names its source
    kb = result["kb_session"]
    assert kb and kb.startswith("kb-") and kb.endswith("-merge-login-flow")
    code, out, _ = cli(hub.repo, "show", kb, "--json", capsys=capsys)
    data = json.loads(out)
    assert data["state"] == "planned" and data["parent"] == slug
    assert slug in data["files"]["SESSION.md"]

    # the worktree and the branch are gone, here and on the hub
    assert not wt.exists()
    assert git(hub.repo, "branch", "--list", f"session/{slug}") == ""
    assert f"session/{slug}" not in git(hub.hub, "branch", "--list")
    assert run_process(hub.repo, "check").returncode == 0


def test_conflicting_complete_exits_3_and_changes_nothing(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    slug = planned(hub, capsys, "conflict")
    wt = claimed(hub, capsys, slug)
    commit(wt, f"[{slug}] feat: mine", {"README.md": b"session version\n", "a.txt": b"a\n"})
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(hub.hub), str(other))
    commit(other, "main moves on", {"README.md": b"main version\n"})
    git(other, "push", "-q", "origin", "main")
    before = hub.main()
    branch_before = git(hub.repo, "rev-parse", f"session/{slug}")
    code, _, err = cli(hub.repo, "complete", slug, capsys=capsys)
    assert code == 3
    assert err.splitlines()[0] == f"error: completing {slug} conflicts with main in: README.md"
    assert hub.main() == before
    assert wt.is_dir() and git(hub.repo, "rev-parse", f"session/{slug}") == branch_before


def test_uncommitted_changes_refuse_and_keep_everything(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = planned(hub, capsys, "dirty")
    wt = claimed(hub, capsys, slug)
    (wt / "README.md").write_text("edited, not committed\n")
    before = hub.main()
    code, _, err = cli(hub.repo, "complete", slug, capsys=capsys)
    assert code == 1 and "README.md" in err and "commit" in err
    assert hub.main() == before
    assert (wt / "README.md").read_text() == "edited, not committed\n"


def test_two_agents_completing_at_once_both_land(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    slugs = [planned(hub, capsys, "parallel", str(n)) for n in range(4)]
    for n, slug in enumerate(slugs):
        wt = claimed(hub, capsys, slug)
        commit(wt, f"[{slug}] feat: part {n}", {f"part{n}.txt": f"{n}\n".encode()})
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "git_sessions", "-C", str(hub.repo), "complete", slug, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for slug in slugs
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    files = git(hub.hub, "ls-tree", "-r", "--name-only", "main").split()
    for n, slug in enumerate(slugs):
        assert f"part{n}.txt" in files
        assert f"_AGENTS/sessions/completed/{slug}/drift.md" in files
    subjects = git(hub.hub, "log", "--format=%s", "main").splitlines()
    # each squash is followed by its end record
    assert sum(s.endswith(": parallel " + s.split()[-1]) for s in subjects[:8]) == 4
    assert sum(" record: ended in " in s for s in subjects[:8]) == 4
    assert run_process(hub.repo, "check").returncode == 0


def test_abandon_keeps_the_work(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    slug = planned(hub, capsys, "dead", "end")
    wt = claimed(hub, capsys, slug)
    commit(wt, f"[{slug}] feat: half", {"half.txt": b"half done\n"})
    tip = git(wt, "rev-parse", "HEAD").strip()
    code, _, err = cli(hub.repo, "abandon", slug, "--reason", "approach is wrong", capsys=capsys)
    assert code == 0, err
    gone = f"_AGENTS/sessions/abandoned/{slug}"
    files = git(hub.hub, "ls-tree", "-r", "--name-only", "main").split()
    assert f"{gone}/{slug}.patch" in files and "half.txt" not in files
    assert "half.txt" in git(hub.hub, "show", f"main:{gone}/{slug}.patch")
    assert "Reason: approach is wrong" in git(hub.hub, "show", f"main:{gone}/worklog.md")
    assert git(hub.hub, "show", "main:_AGENTS/sessions/sessions.lock") == ""
    assert git(hub.repo, "rev-parse", f"session/{slug}").strip() == tip
    assert git(hub.hub, "rev-parse", f"session/{slug}").strip() == tip
    assert not wt.exists()
    assert run_process(hub.repo, "check").returncode == 0
    code, _, err = cli(hub.repo, "abandon", slug, "--reason", "again", capsys=capsys)
    assert code == 3


def test_abandon_needs_a_reason(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    slug = planned(hub, capsys, "reasonless")
    claimed(hub, capsys, slug)
    before = hub.main()
    assert cli(hub.repo, "abandon", slug, capsys=capsys)[0] == 2
    assert cli(hub.repo, "abandon", slug, "--reason", " ", capsys=capsys)[0] == 1
    assert hub.main() == before


def test_learn_commits_on_the_session_branch_as_the_agent(
    hub: Hub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = planned(hub, capsys, "learner")
    wt = claimed(hub, capsys, slug, "--agent", "Ada", "--email", "ada@x.test")
    (wt / "scratch.txt").write_text("staged but not mine\n")
    git(wt, "add", "scratch.txt")
    monkeypatch.setenv("SESSION_ID", slug)
    code, _, err = cli(hub.repo, "learn", "first insight", capsys=capsys)
    assert code == 0, err
    assert cli(hub.repo, "learn", "second insight", capsys=capsys)[0] == 0
    log = git(wt, "log", "-2", "--format=%an|%s").splitlines()
    assert log == [f"Ada|[{slug}] docs: capture learning"] * 2
    text = (wt / f"_AGENTS/knowledge/sessions/{slug}/learnings.md").read_text()
    assert text.startswith(f"# Learnings: {slug}\n") and "first insight" in text
    assert "second insight" in text
    assert git(wt, "status", "--porcelain") == "A  scratch.txt\n"
    assert "scratch.txt" not in git(wt, "show", "--stat", "HEAD")


def test_session_defaults_from_environment_and_refusals(
    hub: Hub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(hub.repo, "complete", capsys=capsys)
    assert code == 1 and err.startswith("error: no current session")
    drafted = cli(hub.repo, "new", "never", "claimed", capsys=capsys)[1].strip()
    code, _, err = cli(hub.repo, "complete", drafted, capsys=capsys)
    assert code == 3 and "drafting" in err
    assert cli(hub.repo, "complete", "../x", capsys=capsys)[0] == 1


def test_bin_complete_session_wrapper(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    slug = planned(hub, capsys, "wrapped")
    wt = claimed(hub, capsys, slug)
    commit(wt, f"[{slug}] feat: wrapped", {"w.txt": b"w\n"})
    result = subprocess.run(
        [str(ROOT / "bin/complete-session"), slug],
        cwd=hub.repo,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"completed {slug}" in result.stdout


def test_after_merging_main_in_only_the_sessions_commits_are_reported(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    slug = planned(hub, capsys, "catch", "up")
    wt = claimed(hub, capsys, slug)
    commit(wt, f"[{slug}] feat: mine", {"shared.txt": b"session\n"})
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(hub.hub), str(other))
    commit(other, "main moves on", {"shared.txt": b"main\n"})
    git(other, "push", "-q", "origin", "main")
    assert cli(hub.repo, "complete", slug, capsys=capsys)[0] == 3
    git(wt, "fetch", "-q", "origin")
    git(wt, "merge", "-q", "origin/main", check=False)
    (wt / "shared.txt").write_text("both\n")
    git(wt, "add", "shared.txt")
    git(wt, "commit", "-qm", f"[{slug}] fix: merge main")
    code, out, err = cli(hub.repo, "complete", slug, "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["commits"] == 1
    message = git(hub.hub, "log", "-1", "--format=%B", "main^")  # main: the end record
    assert "main moves on" not in message and "feat: mine" in message
    assert git(hub.hub, "show", "main:shared.txt") == "both\n"


def test_untracked_files_refuse_complete_and_keep_everything(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = planned(hub, capsys, "untracked")
    wt = claimed(hub, capsys, slug)
    commit(wt, f"[{slug}] feat: tracked", {"tracked.txt": b"tracked\n"})
    (wt / "forgotten.txt").write_text("never added\n")
    before = hub.main()
    code, _, err = cli(hub.repo, "complete", slug, capsys=capsys)
    assert code == 1 and "forgotten.txt" in err
    assert hub.main() == before
    assert (wt / "forgotten.txt").read_text() == "never added\n"


def test_append_only_logs_written_on_both_sides_merge_by_union(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    """The session's subsessions.md gains a line on its branch while `spawn` adds another on
    main: complete keeps both instead of reporting a conflict."""
    slug = planned(hub, capsys, "parent")
    wt = claimed(hub, capsys, slug)
    subs = wt / f"_AGENTS/sessions/active/{slug}/subsessions.md"
    commit(
        wt, f"[{slug}] docs: scope", {str(subs.relative_to(wt)): subs.read_bytes() + b"- mine\n"}
    )
    code, out, err = cli(hub.repo, "spawn", "child", "--parent", slug, "--json", capsys=capsys)
    assert code == 0, err
    child = json.loads(out)["slug"]
    code, _, err = cli(hub.repo, "complete", slug, "--allow-empty", capsys=capsys)
    assert code == 0, err
    merged = git(hub.hub, "show", f"main:_AGENTS/sessions/completed/{slug}/subsessions.md")
    assert "- mine\n" in merged and f"- {child}: child" in merged


def test_complete_and_drift_do_not_walk_main_back_to_the_claim(
    hub: Hub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import push_files

    from git_sessions.gitrepo import objects

    slug = planned(hub, capsys, "quick", "find")
    wt = claimed(hub, capsys, slug)
    commit(wt, f"[{slug}] feat: one", {"one.txt": b"1\n"})
    for n in range(25):  # main moves on: a walk back to the claim would cross all of these
        push_files(hub.repo, {f"elsewhere/{n}.txt": f"{n}\n"}, f"unrelated {n}")
    steps: list[str | None] = []
    parent = objects.Snapshot.parent

    def counted(self: objects.Snapshot) -> objects.Snapshot | None:
        steps.append(self.commit)
        return parent(self)

    monkeypatch.setattr(objects.Snapshot, "parent", counted)
    code, out, err = cli(hub.repo, "drift", slug, "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["commits"] == 1
    assert len(steps) <= 3, "drift walked main's history"
    steps.clear()
    code, out, err = cli(hub.repo, "complete", slug, "--json", capsys=capsys)
    assert code == 0, err
    # a few steps at the claim (the holder check, the merge), never the 25 commits since
    assert len(steps) <= 8, "complete walked main's history"
    assert git(hub.hub, "show", "main:one.txt") == "1\n"
