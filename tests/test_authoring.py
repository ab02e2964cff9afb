"""The authoring commands through the CLI, in process: init, new, ready, unready, list, show."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from conftest import Hub, cli, cli_error, git

from git_sessions.protocol import CONFIG_FILE, LOCK_FILE, SESSIONS, STATES

Capsys = pytest.CaptureFixture[str]


def ok(repo: Path, *args: str, capsys: Capsys) -> str:
    """Run a command that must succeed; its stdout."""
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    assert "Traceback" not in err
    return out


def new(hub: Hub, *words: str, capsys: Capsys) -> str:
    return ok(hub.repo, "new", *words, "--date", "2025-10-14", capsys=capsys).strip()


def hub_files(hub: Hub, rev: str = "main") -> dict[str, str]:
    """path -> mode of every file on the hub at `rev`."""
    listing = git(hub.hub, "ls-tree", "-r", rev)
    return {line.split("\t")[1]: line.split()[0] for line in listing.splitlines()}


def status(repo: Path) -> tuple[str, str, str]:
    """Everything init must leave alone: HEAD, the index and the working tree."""
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "ls-files", "--stage"),
        git(repo, "status", "--porcelain", "--untracked-files=all"),
    )


def dirty(repo: Path) -> None:
    """Leave uncommitted work of every kind in `repo`."""
    (repo / "README.md").write_text("# edited, not staged\n")
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    (repo / "untracked.txt").write_text("untracked\n")


# --------------------------------------------------------------------------- init


def test_the_whole_flow(plain: Hub, capsys: Capsys) -> None:
    """init, new, ready, list, show, check: what a user does first."""
    out = ok(plain.repo, "init", capsys=capsys)
    assert "initialised" in out

    out = ok(
        plain.repo, "new", "auth", "system", "--capability", "python", "--priority", "5",
        capsys=capsys,
    )  # fmt: skip
    slug = f"{dt.date.today().isoformat()}-auth-system"
    assert out == f"{slug}\n"

    assert slug in ok(plain.repo, "ready", slug, capsys=capsys)

    listed = json.loads(ok(plain.repo, "list", "--json", capsys=capsys))["sessions"]
    assert len(listed) == 1
    assert {k: listed[0][k] for k in ("slug", "state", "title", "capabilities", "priority")} == {
        "slug": slug,
        "state": "planned",
        "title": "auth system",
        "capabilities": ["python"],
        "priority": 5,
    }

    shown = json.loads(ok(plain.repo, "show", slug, "--json", capsys=capsys))
    assert shown["slug"] == slug and shown["state"] == "planned"
    assert shown["main"] == plain.main()
    assert f"# Session: {slug}" in shown["files"]["SESSION.md"]

    assert "ok: main" in ok(plain.repo, "check", capsys=capsys)


def test_init_scaffolds_main_in_one_commit(plain: Hub, capsys: Capsys) -> None:
    before = plain.main()
    ok(plain.repo, "init", capsys=capsys)
    after = plain.main()
    assert git(plain.hub, "rev-list", "--parents", "-1", after).split() == [after, before]
    assert git(plain.hub, "log", "-1", "--format=%s", after).strip() == (
        "[_AGENTS] chore: initialise git-sessions"
    )
    files = hub_files(plain)
    for state in STATES:
        assert f"{SESSIONS}/{state}/.gitkeep" in files
    for path in (LOCK_FILE, CONFIG_FILE, f"{SESSIONS}/SESSIONS-README.md"):
        assert files[path] == "100644"
    assert files[f"{SESSIONS}/_bin/claim-session"] == "100755"
    assert files[f"{SESSIONS}/_bin/complete-session"] == "100755"
    assert f"{SESSIONS}/_templates/SESSION.md.j2" in files
    assert "_AGENTS/knowledge/README.md" in files
    assert ".worktrees/" in git(plain.hub, "show", "main:.gitignore").splitlines()
    assert git(plain.hub, "show", f"main:{LOCK_FILE}") == ""
    assert ".worktrees/" in (plain.repo / ".git/info/exclude").read_text().splitlines()


def test_init_is_idempotent(plain: Hub, capsys: Capsys) -> None:
    ok(plain.repo, "init", capsys=capsys)
    first = plain.main()
    out = ok(plain.repo, "init", capsys=capsys)
    assert "already initialised" in out
    assert plain.main() == first
    data = json.loads(ok(plain.repo, "init", "--json", capsys=capsys))
    assert data["changed"] is False and data["commit"] == first
    assert (plain.repo / ".git/info/exclude").read_text().count(".worktrees/") == 1


def test_init_completes_a_partial_scaffold_without_overwriting(hub: Hub, capsys: Capsys) -> None:
    (hub.repo / CONFIG_FILE).write_text("remote: origin\nlease_ttl: 5m\n")
    git(hub.repo, "rm", "-q", f"{SESSIONS}/_bin/claim-session")
    git(hub.repo, "commit", "-qam", "customise")
    git(hub.repo, "push", "-q")
    ok(hub.repo, "init", capsys=capsys)
    assert git(hub.hub, "show", f"main:{CONFIG_FILE}") == "remote: origin\nlease_ttl: 5m\n"
    assert hub_files(hub)[f"{SESSIONS}/_bin/claim-session"] == "100755"
    assert git(hub.hub, "diff", "--name-only", "main~1", "main").split() == [
        f"{SESSIONS}/_bin/claim-session"
    ]


def test_init_never_touches_the_working_tree_or_index(plain: Hub, capsys: Capsys) -> None:
    dirty(plain.repo)
    before = status(plain.repo)
    ok(plain.repo, "init", capsys=capsys)
    assert status(plain.repo) == before
    assert not (plain.repo / "_AGENTS").exists()
    ok(plain.repo, "init", capsys=capsys)
    assert status(plain.repo) == before


def test_init_hub_creates_a_bare_hub_and_sets_origin(plain: Hub, capsys: Capsys) -> None:
    git(plain.repo, "remote", "remove", "origin")
    dirty(plain.repo)
    before = status(plain.repo)
    head = git(plain.repo, "rev-parse", "HEAD").strip()
    new_hub = plain.repo.parent / "new-hub.git"
    code, out, err = cli(plain.repo, "init", "--hub", str(new_hub), capsys=capsys)
    assert code == 0, err
    assert f"created hub {new_hub}" in err
    assert git(new_hub, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(new_hub, "config", "receive.denyNonFastForwards").strip() == "true"
    assert git(plain.repo, "remote", "get-url", "origin").strip() == str(new_hub)
    # main on the new hub is our history plus the scaffold commit, and nothing else.
    assert git(new_hub, "rev-parse", "main~1").strip() == head
    assert git(new_hub, "for-each-ref", "--format=%(refname)").split() == ["refs/heads/main"]
    assert f"{SESSIONS}/sessions.lock" in git(new_hub, "ls-tree", "-r", "--name-only", "main")
    assert status(plain.repo) == before
    # Again, naming the same hub: nothing to do.
    tip = git(new_hub, "rev-parse", "main").strip()
    git(new_hub, "config", "--unset", "receive.denyNonFastForwards")
    out = ok(plain.repo, "init", "--hub", str(new_hub), capsys=capsys)
    assert "already initialised" in out
    assert git(new_hub, "rev-parse", "main").strip() == tip
    assert git(new_hub, "config", "receive.denyNonFastForwards").strip() == "true", "ensured"
    # And the clone works against it.
    git(plain.repo, "stash", "-q", "--include-untracked")
    git(plain.repo, "pull", "-q", "origin", "main")
    assert (plain.repo / LOCK_FILE).exists()


def test_init_hub_relative_to_the_c_directory(
    plain: Hub, capsys: Capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(plain.repo, "remote", "remove", "origin")
    elsewhere = tmp_path / "some" / "where"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    ok(plain.repo, "init", "--hub", "../hubs/relative.git", capsys=capsys)
    expected = plain.repo.parent / "hubs" / "relative.git"
    assert git(plain.repo, "remote", "get-url", "origin").strip() == str(expected)
    assert git(expected, "rev-parse", "--is-bare-repository").strip() == "true"
    assert list((tmp_path / "some").iterdir()) == [elsewhere]


def test_init_hub_in_a_repository_without_commits(tmp_path: Path, capsys: Capsys) -> None:
    repo = tmp_path / "fresh"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    code, _, err = cli(repo, "init", "--hub", str(tmp_path / "hub.git"), capsys=capsys)
    assert code == 0, err
    assert git(tmp_path / "hub.git", "rev-list", "main").count("\n") == 1
    # the hub refuses a rewind of main, whoever pushes it (git's own receive-pack)
    git(repo, "pull", "-q", "origin", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "next")
    git(repo, "push", "-q", "origin", "HEAD:main")
    rewind = subprocess.run(
        ["git", "push", "-f", "origin", "HEAD~1:main"], cwd=repo, capture_output=True, text=True
    )
    assert rewind.returncode != 0 and "non-fast-forward" in rewind.stderr, rewind.stderr
    git(repo, "pull", "-q", "origin", "main")
    assert (repo / LOCK_FILE).exists()


def test_init_without_a_remote_or_hub_fails_with_a_hint(plain: Hub, capsys: Capsys) -> None:
    git(plain.repo, "remote", "remove", "origin")
    err = cli_error(plain, "init", code=1, capsys=capsys)
    assert "origin" in err
    assert "hint: " in err and "--hub" in err


def test_init_hub_refuses_to_replace_another_remote(plain: Hub, capsys: Capsys) -> None:
    other = plain.repo.parent / "other.git"
    err = cli_error(plain, "init", "--hub", str(other), code=1, capsys=capsys)
    assert "already points to" in err
    assert not other.exists()
    assert git(plain.repo, "remote", "get-url", "origin").strip() == str(plain.hub)


def test_init_outside_a_repository(tmp_path: Path, capsys: Capsys) -> None:
    code, _, err = cli(tmp_path, "init", capsys=capsys)
    assert code == 1
    assert err.startswith("error: not a git repository")


# --------------------------------------------------------------------------- new


def test_new_drafts_a_session(hub: Hub, capsys: Capsys) -> None:
    before = hub.main()
    slug = new(hub, "Fix", "the", "DB's", "pool!", capsys=capsys)
    assert slug == "2025-10-14-fix-the-db-s-pool"
    assert git(hub.hub, "rev-parse", "main~1").strip() == before
    assert git(hub.hub, "log", "-1", "--format=%s").strip() == f"[{slug}] chore: draft session"
    added = git(hub.hub, "diff", "--name-status", "main~1", "main").splitlines()
    folder = f"{SESSIONS}/drafting/{slug}"
    assert sorted(added) == [
        f"A\t{SESSIONS}/INDEX.md",  # the index follows every transition
        *(
            f"A\t{folder}/{name}"
            for name in ("SESSION.md", "active-plan.md", "subsessions.md", "worklog.md")
        ),
    ]


def test_new_fills_the_plan(hub: Hub, capsys: Capsys) -> None:
    base = new(hub, "base", capsys=capsys)
    title = 'Auth: "quoted" title # with: colons'
    out = ok(
        hub.repo, "new", "child", "--date", "2025-10-14", "--title", title,
        "-c", "python", "-c", "docs", "-p", "-2", "--depends-on", base, "--parent", base,
        "--context", "Some context.", "--problem", "It is broken.",
        "--criteria", "tests pass", "--criteria", "docs: written",
        "--agent", "Planner", "--email", "planner@example.com", "--json",
        capsys=capsys,
    )  # fmt: skip
    data = json.loads(out)
    assert data["slug"] == "2025-10-14-child" and data["state"] == "drafting"
    assert data["commit"] == hub.main()
    shown = json.loads(ok(hub.repo, "show", "2025-10-14-child", "--json", capsys=capsys))
    assert shown["title"] == title
    assert shown["capabilities"] == ["python", "docs"]
    assert shown["priority"] == -2
    assert shown["depends_on"] == [base] and shown["parent"] == base
    assert shown["created"] == dt.date.today().isoformat()
    assert shown["problems"] == []
    plan = shown["files"]["SESSION.md"]
    assert "- [ ] tests pass\n- [ ] docs: written\n" in plan
    assert "Some context." in plan and "It is broken." in plan
    assert git(hub.hub, "log", "-1", "--format=%an <%ae>").strip() == (
        "Planner <planner@example.com>"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--date", "2025-13-40"], "invalid --date"),
        (["!!!", "--"], "a session needs a name"),
        (["x", "--capability", "Bad Cap"], "invalid capability"),
        (["x", "--depends-on", "2025-01-01-missing"], "no session '2025-01-01-missing'"),
        (["x", "--depends-on", "../../etc"], "invalid session slug"),
        (["x", "--parent", "2025-01-01-x/../../y"], "invalid session slug"),
        (["x", "--agent", "Evil <x>", "--email", "e@x"], "angle brackets"),
    ],
)
def test_new_rejects_bad_input(hub: Hub, capsys: Capsys, args: list[str], message: str) -> None:
    err = cli_error(hub, "new", *args, code=1, capsys=capsys)
    assert message in err


def test_new_needs_an_initialised_main(plain: Hub, capsys: Capsys) -> None:
    err = cli_error(plain, "new", "too", "early", code=1, capsys=capsys)
    assert err == "error: git-sessions is not initialised on main\nhint: run: git sessions init\n"


def test_new_refuses_a_slug_in_use(hub: Hub, capsys: Capsys) -> None:
    slug = new(hub, "twice", capsys=capsys)
    ok(hub.repo, "ready", slug, capsys=capsys)
    err = cli_error(hub, "new", "twice", "--date", "2025-10-14", code=1, capsys=capsys)
    assert "already exists (planned)" in err


# --------------------------------------------------------------------------- ready, unready


def test_ready_and_unready_move_the_folder(hub: Hub, capsys: Capsys) -> None:
    slug = new(hub, "move", "me", capsys=capsys)
    out = ok(hub.repo, "ready", slug, "--agent", "Lead", "--email", "lead@x.org", capsys=capsys)
    assert out.startswith(f"{slug} is planned (")
    assert git(hub.hub, "log", "-1", "--format=%s|%an").strip() == (
        f"[{slug}] chore: ready session|Lead"
    )
    changed = git(hub.hub, "diff", "--name-status", "-M", "main~1", "main").splitlines()
    assert f"M\t{SESSIONS}/INDEX.md" in changed  # the index follows every transition
    renames = [r for r in changed if not r.endswith("INDEX.md")]
    assert len(renames) == 4
    assert all(
        r.startswith("R100\t") and f"/drafting/{slug}/" in r and f"/planned/{slug}/" in r
        for r in renames
    )
    data = json.loads(ok(hub.repo, "unready", slug, "--json", capsys=capsys))
    assert data == {
        "schema": "git-sessions/transition/v1",
        "slug": slug,
        "state": "drafting",
        "commit": hub.main(),
        "parent": None,
    }
    assert git(hub.hub, "log", "-1", "--format=%s").strip() == f"[{slug}] chore: unready session"
    assert json.loads(ok(hub.repo, "show", slug, "--json", capsys=capsys))["state"] == "drafting"


def test_readying_a_planned_session_is_a_conflict(hub: Hub, capsys: Capsys) -> None:
    slug = new(hub, "once", capsys=capsys)
    ok(hub.repo, "ready", slug, capsys=capsys)
    err = cli_error(hub, "ready", slug, code=3, capsys=capsys)
    assert f"error: session {slug} is planned; it cannot move to planned" in err
    assert "hint: " in err


def test_unreadying_a_draft_is_a_conflict(hub: Hub, capsys: Capsys) -> None:
    slug = new(hub, "draft", capsys=capsys)
    cli_error(hub, "unready", slug, code=3, capsys=capsys)


@pytest.mark.parametrize("command", ["ready", "unready", "show"])
def test_unknown_session(hub: Hub, capsys: Capsys, command: str) -> None:
    err = cli_error(hub, command, "2025-01-01-nope", code=1, capsys=capsys)
    assert "no session '2025-01-01-nope'" in err
    assert "hint: see the sessions with: git sessions list" in err


@pytest.mark.parametrize("command", ["ready", "unready", "show"])
def test_path_like_slugs_are_bad_input(hub: Hub, capsys: Capsys, command: str) -> None:
    new(hub, "x", capsys=capsys)  # so that 2025-10-14-x/... names a real folder's child
    for slug in ("../../etc", "2025-10-14-x/../../y", "2025-10-14-x/SESSION.md", "..", "a b"):
        err = cli_error(hub, command, slug, code=1, capsys=capsys)
        assert f"error: invalid session slug {slug!r}" in err


# --------------------------------------------------------------------------- list, show


def test_list(hub: Hub, capsys: Capsys) -> None:
    assert ok(hub.repo, "list", capsys=capsys) == "no sessions\n"
    assert json.loads(ok(hub.repo, "list", "--json", capsys=capsys))["sessions"] == []
    first = new(hub, "first", "-c", "python", capsys=capsys)
    second = new(hub, "second", capsys=capsys)
    ok(hub.repo, "ready", second, capsys=capsys)
    table = ok(hub.repo, "list", capsys=capsys).splitlines()
    assert table[0].split() == ["SLUG", "STATE", "PRI", "CAPABILITIES", "HOLDER", "AGE", "TITLE"]
    assert table[1].split() == [first, "drafting", "0", "python", "-", "-", "first"]
    assert table[2].split() == [second, "planned", "0", "-", "-", "-", "second"]
    planned = json.loads(ok(hub.repo, "list", "--state", "planned", "--json", capsys=capsys))[
        "sessions"
    ]
    assert [s["slug"] for s in planned] == [second]


def test_list_reads_main_not_the_checkout(hub: Hub, capsys: Capsys) -> None:
    slug = new(hub, "remote", "only", capsys=capsys)
    assert not (hub.repo / SESSIONS / "drafting" / slug).exists()
    local = hub.repo / SESSIONS / "planned" / "2025-10-14-local-only"
    local.mkdir(parents=True)
    (local / "SESSION.md").write_text("---\ntitle: local\n---\n")
    listed = json.loads(ok(hub.repo, "list", "--json", capsys=capsys))["sessions"]
    assert [s["slug"] for s in listed] == [slug]


def test_list_unknown_state_is_a_usage_error(hub: Hub, capsys: Capsys) -> None:
    before = hub.main()
    code, out, err = cli(hub.repo, "list", "--state", "done", capsys=capsys)
    assert code == 2
    assert out == ""
    assert "Invalid value" in err and "'done'" in err
    assert "Traceback" not in err
    assert hub.main() == before


def test_show(hub: Hub, capsys: Capsys) -> None:
    slug = new(hub, "shown", "-c", "go", "-p", "7", capsys=capsys)
    out = ok(hub.repo, "show", slug, capsys=capsys)
    assert out.startswith(f"{slug}  [drafting]  priority 7\n")
    assert "capabilities: go\n" in out
    assert f"path:         {SESSIONS}/drafting/{slug}\n" in out
    assert f"# Session: {slug}" in out
    data = json.loads(ok(hub.repo, "show", slug, "--json", capsys=capsys))
    assert set(data["files"]) == {"SESSION.md", "worklog.md", "active-plan.md", "subsessions.md"}
    assert all(text for text in data["files"].values())


def test_show_reports_a_broken_plan(hub: Hub, capsys: Capsys) -> None:
    slug = new(hub, "broken", capsys=capsys)
    git(hub.repo, "pull", "-q")
    (hub.repo / SESSIONS / "drafting" / slug / "SESSION.md").write_text("---\npriority: x\n")
    git(hub.repo, "commit", "-qam", "break it")
    git(hub.repo, "push", "-q")
    out = ok(hub.repo, "show", slug, capsys=capsys)
    assert "problem:      SESSION.md front matter" in out
