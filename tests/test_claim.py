"""claim, env and release through the CLI, against a real bare hub."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Hub, add_planned, cli, git, run_process


def claim_json(hub: Hub, *args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, out, err = cli(hub.repo, "claim", "--json", *args, capsys=capsys)
    assert code == 0, err
    return dict(json.loads(out))


def new_planned(hub: Hub, capsys: pytest.CaptureFixture[str], *words: str, **opts: str) -> str:
    args = [*words]
    for key, value in opts.items():
        args += [f"--{key.replace('_', '-')}", value]
    code, out, err = cli(hub.repo, "new", *args, "--date", "2026-02-02", capsys=capsys)
    assert code == 0, err
    slug = out.strip()
    assert cli(hub.repo, "ready", slug, capsys=capsys)[0] == 0
    return slug


def test_claim_makes_one_commit_worktree_and_env(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = new_planned(hub, capsys, "auth", "system")
    before = hub.main()
    data = claim_json(hub, slug, capsys=capsys)
    assert git(hub.hub, "rev-parse", "main~1").strip() == before, "exactly one commit"
    assert data["slug"] == slug and data["branch"] == f"session/{slug}"
    assert data["commit"] == hub.main()
    show = git(hub.hub, "show", "--stat", "--format=%an <%ae>%n%s", "main")
    assert show.startswith(f"Test Agent <agent@example.com>\n[{slug}] chore: claim session")
    lock = git(hub.hub, "show", "main:_AGENTS/sessions/sessions.lock")
    assert lock.startswith(f"{slug}:")
    tree = git(hub.hub, "ls-tree", "-r", "--name-only", "main", "_AGENTS/sessions/").split()
    assert f"_AGENTS/sessions/active/{slug}/.session-env" in tree
    assert not any(p.startswith(f"_AGENTS/sessions/planned/{slug}") for p in tree)
    worktree = Path(str(data["worktree"]))
    assert worktree == hub.repo / ".worktrees" / slug
    assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD").strip() == f"session/{slug}"
    assert git(worktree, "rev-parse", "HEAD").strip() == data["commit"]
    assert Path(str(data["env_file"])).is_file()
    assert (worktree / f"_AGENTS/sessions/active/{slug}/SESSION.md").stat().st_mode & 0o222 == 0


def test_human_output_ends_with_cd_and_source(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    slug = new_planned(hub, capsys, "thing")
    code, out, _ = cli(hub.repo, "claim", slug, capsys=capsys)
    assert code == 0
    last = out.strip().splitlines()[-1]
    wt = hub.repo / ".worktrees" / slug
    assert last == f"cd {wt} && source _AGENTS/sessions/active/{slug}/.session-env"
    shell = subprocess.run(
        ["bash", "-c", f"{last} && echo $SESSION_ID && git config user.name; echo $PWD"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout.split("\n")[0] == slug


def test_hostile_identity_is_inert_when_sourced(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    slug = new_planned(hub, capsys, "inject")
    canary = tmp_path / "canary"
    name = f'$(touch {canary}) `touch {canary}` it\'s "quoted"; touch {canary}'
    data = claim_json(hub, slug, "--agent", name, "--email", "evil@x.test", capsys=capsys)
    shell = subprocess.run(
        ["bash", "-c", f'source "{data["env_file"]}" && printf %s "$GIT_AUTHOR_NAME"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout == name
    assert not canary.exists()
    code, out, _ = cli(hub.repo, "env", slug, capsys=capsys)
    assert code == 0
    evaluated = subprocess.run(
        ["bash", "-c", 'eval "$1" && printf %s "$GIT_COMMITTER_NAME|$SESSION_BRANCH"', "_", out],
        capture_output=True,
        text=True,
        check=True,
    )
    assert evaluated.stdout == f"{name}|session/{slug}"
    assert not canary.exists()


def test_env_lines_and_session_id_default(
    hub: Hub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = new_planned(hub, capsys, "envy")
    claim_json(hub, slug, capsys=capsys)
    monkeypatch.setenv("SESSION_ID", slug)
    code, out, _ = cli(hub.repo, "env", capsys=capsys)
    assert code == 0
    names = [line.split("=")[0].removeprefix("export ") for line in out.splitlines()]
    assert names == [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "SESSION_ID",
        "SESSION_SLUG",
        "SESSION_BRANCH",
        "SESSION_WORKTREE",
        "SESSION_DIR",
        "SESSION_PORT",
    ]
    monkeypatch.delenv("SESSION_ID")
    code, _, err = cli(hub.repo, "env", capsys=capsys)
    assert code == 1 and err.startswith("error: no current session")


def test_reclaim_by_holder_is_idempotent_and_repairs_worktree(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = new_planned(hub, capsys, "crashy")
    first = claim_json(hub, slug, capsys=capsys)
    # a crash between the push and the worktree: no worktree, no admin entry, no branch
    shutil.rmtree(Path(str(first["worktree"])))
    git(hub.repo, "worktree", "prune")
    git(hub.repo, "branch", "-D", f"session/{slug}")
    before = hub.main()
    again = claim_json(hub, slug, capsys=capsys)
    assert again["already_held"] is True
    assert hub.main() == before
    assert git(Path(str(again["worktree"])), "rev-parse", "HEAD").strip() == first["commit"]


def test_claim_refusals(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    drafted = cli(hub.repo, "new", "draft", "only", capsys=capsys)[1].strip()
    before = hub.main()
    code, _, err = cli(hub.repo, "claim", drafted, capsys=capsys)
    assert code == 3 and "drafting" in err
    code, _, err = cli(hub.repo, "claim", "2026-01-01-nope", capsys=capsys)
    assert code == 1 and err.startswith("error: no session")
    code, _, err = cli(hub.repo, "claim", "../etc", capsys=capsys)
    assert code == 1 and err.startswith("error: invalid session slug")
    code, _, err = cli(hub.repo, "claim", "--next", capsys=capsys)
    assert code == 1 and err.startswith("error: no claimable session")
    code, _, _ = cli(hub.repo, "claim", capsys=capsys)
    assert code == 2
    assert hub.main() == before


def test_next_orders_by_priority_then_age_and_respects_deps_and_caps(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    low = new_planned(hub, capsys, "low", priority="1")
    high = new_planned(hub, capsys, "high", priority="9", capability="python")
    base = new_planned(hub, capsys, "base", priority="5")
    dependent = new_planned(hub, capsys, "dependent", priority="8", depends_on=base)
    # without python, `high` is out; `dependent` waits for `base`
    assert claim_json(hub, "--next", "--no-worktree", capsys=capsys)["slug"] == base
    assert claim_json(hub, "--next", "-c", "python", "--no-worktree", capsys=capsys)["slug"] == high
    assert claim_json(hub, "--next", "--no-worktree", capsys=capsys)["slug"] == low
    code, _, _ = cli(hub.repo, "claim", "--next", capsys=capsys)
    assert code == 1, f"{dependent} is blocked until {base} completes"


def test_release_gives_the_claim_back(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    slug = new_planned(hub, capsys, "giveback")
    data = claim_json(hub, slug, capsys=capsys)
    code, _, err = cli(hub.repo, "release", slug, capsys=capsys)
    assert code == 0, err
    assert git(hub.hub, "show", "main:_AGENTS/sessions/sessions.lock") == ""
    tree = git(hub.hub, "ls-tree", "-r", "--name-only", "main", "_AGENTS/sessions/").split()
    assert f"_AGENTS/sessions/planned/{slug}/SESSION.md" in tree
    assert f"_AGENTS/sessions/planned/{slug}/.session-env" not in tree
    assert not Path(str(data["worktree"])).exists()
    assert git(hub.repo, "branch", "--list", f"session/{slug}") == ""
    assert run_process(hub.repo, "check").returncode == 0
    assert claim_json(hub, slug, "--agent", "next", "--email", "n@x.test", capsys=capsys)


def test_release_refuses_when_branch_has_work_unless_forced(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = new_planned(hub, capsys, "busy")
    wt = Path(str(claim_json(hub, slug, capsys=capsys)["worktree"]))
    (wt / "code.py").write_text("print('work')\n")
    git(wt, "add", "code.py")
    git(wt, "commit", "-qm", f"[{slug}] feat: work")
    before = hub.main()
    code, _, err = cli(hub.repo, "release", slug, capsys=capsys)
    assert code == 3 and "1 commit" in err
    assert hub.main() == before
    (wt / "code.py").write_text("changed\n")
    code, _, err = cli(hub.repo, "release", slug, "--force", capsys=capsys)
    assert code == 1 and "uncommitted" in err
    git(wt, "checkout", "code.py")
    code, _, err = cli(hub.repo, "release", slug, "--force", capsys=capsys)
    assert code == 0, err
    assert git(hub.repo, "log", "-1", "--format=%s", f"session/{slug}").strip() == (
        f"[{slug}] feat: work"
    )


def test_file_url_hub_is_a_local_hub(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    git(hub.repo, "remote", "set-url", "origin", f"file://{hub.hub}")
    slug = new_planned(hub, capsys, "fileurl")
    assert claim_json(hub, slug, capsys=capsys)["commit"] == hub.main()


def test_bin_claim_session_wrapper(hub: Hub) -> None:
    [slug] = add_planned(hub.repo, 1)
    env = dict(os.environ)
    result = subprocess.run(
        [str(ROOT / "bin/claim-session"), slug, "--no-worktree"],
        cwd=hub.repo,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"claimed {slug}" in result.stdout
    wrapper = hub.repo / "_AGENTS/sessions/_bin/claim-session"
    assert os.access(wrapper, os.X_OK)


def test_explicit_claim_waits_for_dependencies(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    base = new_planned(hub, capsys, "first")
    later = new_planned(hub, capsys, "second", depends_on=base)
    before = hub.main()
    code, _, err = cli(hub.repo, "claim", later, capsys=capsys)
    assert code == 1 and f"depends on {base}" in err
    assert hub.main() == before


def test_reclaim_after_forced_release_continues_the_kept_branch(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = new_planned(hub, capsys, "handover")
    wt = Path(str(claim_json(hub, slug, capsys=capsys)["worktree"]))
    worklog = wt / f"_AGENTS/sessions/active/{slug}/worklog.md"
    worklog.write_text(worklog.read_text() + "- first agent was here\n")
    (wt / "work.txt").write_text("first\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", f"[{slug}] feat: first half")
    assert cli(hub.repo, "release", slug, "--force", capsys=capsys)[0] == 0
    data = claim_json(hub, slug, "--agent", "Second", "--email", "second@x.test", capsys=capsys)
    wt = Path(str(data["worktree"]))
    assert (wt / "work.txt").read_text() == "first\n"
    assert "first agent was here" in worklog.read_text()
    env = (wt / f"_AGENTS/sessions/active/{slug}/.session-env").read_text()
    assert "GIT_AUTHOR_EMAIL=second@x.test" in env
    assert git(wt, "status", "--porcelain") == ""
    assert (
        git(hub.repo, "merge-base", "--is-ancestor", str(data["commit"]), "HEAD", check=False) == ""
    )


def test_release_refuses_untracked_files_in_the_worktree(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = new_planned(hub, capsys, "untracked")
    wt = Path(str(claim_json(hub, slug, capsys=capsys)["worktree"]))
    (wt / "notes.txt").write_text("unsaved thoughts\n")
    code, _, err = cli(hub.repo, "release", slug, capsys=capsys)
    assert code == 1 and "notes.txt" in err
    assert (wt / "notes.txt").exists()


def test_a_deleted_current_directory_is_a_clear_error(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    result = subprocess.run(
        ["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && "$0" -m git_sessions list', sys.executable],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: the current directory no longer exists")


def test_the_lock_line_holds_the_claim_time(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    slug = new_planned(hub, capsys, "timed")
    before = int(time.time())
    assert cli(hub.repo, "claim", slug, "--no-worktree", capsys=capsys)[0] == 0
    after = int(time.time())
    [line] = git(hub.hub, "show", "main:_AGENTS/sessions/sessions.lock").split()
    assert line.split(":")[0] == slug and before <= int(line.split(":")[1]) <= after


def test_main_is_the_branch_the_hubs_head_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no main_branch configured, the hub's HEAD decides: a hub whose HEAD is trunk (and
    that has no main) is initialised and claimed on trunk, whatever the clone has checked out."""
    hub_path, repo = tmp_path / "hub.git", tmp_path / "repo"
    git(tmp_path, "init", "-q", "--bare", "-b", "trunk", str(hub_path))
    git(tmp_path, "init", "-q", "-b", "work", str(repo))
    (repo / "README.md").write_text("# trunk\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-qm", "initial")
    git(repo, "remote", "add", "origin", str(hub_path))
    git(repo, "push", "-q", "origin", "work:trunk")
    assert cli(repo, "init", capsys=capsys)[0] == 0
    code, out, err = cli(repo, "new", "on", "trunk", capsys=capsys)
    assert code == 0, err
    assert cli(repo, "ready", out.strip(), capsys=capsys)[0] == 0
    assert cli(repo, "claim", out.strip(), "--no-worktree", capsys=capsys)[0] == 0
    heads = git(hub_path, "for-each-ref", "--format=%(refname)", "refs/heads").split()
    assert heads == ["refs/heads/trunk"]
    assert f"active/{out.strip()}/SESSION.md" in git(
        hub_path, "ls-tree", "-r", "--name-only", "trunk"
    )
