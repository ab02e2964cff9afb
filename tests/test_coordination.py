"""The coordination layout: `_AGENTS/` on its own hub branch (`protocol_branch`), code on main.

Real hubs, real processes: a local path hub (written in-process) and the same hub behind
git daemon, where the hub's own pre-receive hook runs and guards main.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import Hub, cli, git, run_process

from test_claim_race import killed_at

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
    assert cli(hub.repo, "message", "--to", slug, "mind the rate limits", capsys=capsys)[0] == 0
    work(wt, slug, "src/login.py", "def login():\n    return True\n")
    assert cli(wt, "learn", "tokens expire", capsys=capsys)[0] == 0
    assert hub.main() == main
    code, out, err = cli(wt, "complete", "--json", capsys=capsys)
    assert code == 0, err
    done = json.loads(out)
    assert done["landing"] is None
    # the learning and the kb- session that merges it went to the coordination branch
    assert done["kb_session"] in on_branch(hub.hub, BRANCH, "_AGENTS/sessions/planned")
    assert slug in on_branch(hub.hub, BRANCH, "_AGENTS/knowledge/sessions")
    # main got exactly one commit: the code, without any _AGENTS/ change
    assert git(hub.hub, "rev-parse", "main~1").strip() == main
    assert git(hub.hub, "show", "main:src/login.py").startswith("def login")
    changed = git(hub.hub, "diff", "--name-only", main, "main").split()
    assert changed == ["src/login.py"]
    assert done["commit"] == hub.main()
    assert slug in on_branch(hub.hub, BRANCH, "_AGENTS/sessions/completed")
    patch = git(hub.hub, "show", f"{BRANCH}:_AGENTS/sessions/completed/{slug}/{slug}.patch")
    assert "src/login.py" in patch
    # the archive, then its end record
    assert f"Landed: {hub.main()}" in git(hub.hub, "log", "-1", "--format=%B", f"{BRANCH}^")
    code, out, err = cli(hub.repo, "check", "--json", capsys=capsys)
    assert code == 0, out + err
    git(hub.hub, "fsck", "--no-progress")


def consistent(hub: Hub) -> None:
    result = run_process(hub.repo, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    git(hub.hub, "fsck", "--strict", "--no-progress")


def test_abandon_release_and_reap_stay_off_main(hub: Hub, capsys: Capsys, tmp_path: Path) -> None:
    split(hub, capsys)
    main = hub.main()
    a, b, c = (plan(hub.repo, capsys, w) for w in ("alpha", "beta", "gamma"))
    wt = claim(hub.repo, capsys, a)
    work(wt, a, "half.txt", "half done\n")
    code, _, err = cli(hub.repo, "abandon", a, "--reason", "not needed", capsys=capsys)
    assert code == 0, err
    assert a in on_branch(hub.hub, BRANCH, "_AGENTS/sessions/abandoned")
    assert "half.txt" in git(hub.hub, "show", f"{BRANCH}:_AGENTS/sessions/abandoned/{a}/{a}.patch")
    claim(hub.repo, capsys, b)
    assert cli(hub.repo, "release", b, capsys=capsys)[0] == 0
    assert b in on_branch(hub.hub, BRANCH, "_AGENTS/sessions/planned")
    other = hub.clone("other")
    code, _, err = cli(other, "claim", c, "--agent", "o", "--email", "o@x.test", capsys=capsys)
    assert code == 0, err
    # age the claim on the coordination branch with plain git, then reap it
    git(other, "fetch", "-q", "origin", BRANCH)
    git(other, "checkout", "-q", "-B", "coord", f"origin/{BRANCH}")
    (other / "_AGENTS/sessions/sessions.lock").write_text(f"{c}:1000000000\n")
    git(other, "commit", "-qam", "test: age the claim")
    git(other, "push", "-q", "origin", f"HEAD:{BRANCH}")
    code, out, err = cli(hub.repo, "reap", "--older-than", "1h", "--json", capsys=capsys)
    assert code == 0, err
    assert c in out and c in on_branch(hub.hub, BRANCH, "_AGENTS/sessions/planned")
    assert hub.main() == main  # nothing of all that touched main
    consistent(hub)


def test_a_crash_between_main_and_the_archive_is_repaired_by_completing_again(
    hub: Hub, capsys: Capsys
) -> None:
    split(hub, capsys)
    slug = plan(hub.repo, capsys, "crashy")
    wt = claim(hub.repo, capsys, slug)
    work(wt, slug, "src/crash.py", "x = 1\n")
    main, coord = hub.main(), rev(hub.hub, BRANCH)
    killed_at(hub.repo, "publish:between-refs", "complete", slug)
    assert hub.main() != main and rev(hub.hub, BRANCH) == coord  # code landed, no archive
    landed = hub.main()
    result = run_process(hub.repo, "complete", slug, "--json")
    assert result.returncode == 0, result.stderr
    # main holds the code once (judged by its tree, not ancestry): no second squash
    assert hub.main() == landed and git(hub.hub, "rev-parse", "main~1").strip() == main
    assert slug in on_branch(hub.hub, BRANCH, "_AGENTS/sessions/completed")
    assert f"Landed: {landed}" in git(hub.hub, "log", "-1", "--format=%B", f"{BRANCH}^")
    assert not (hub.repo / ".worktrees" / slug).exists()
    consistent(hub)


def test_a_crash_in_a_migration_is_repaired_by_migrating_again(hub: Hub, capsys: Capsys) -> None:
    slug = plan(hub.repo, capsys, "moving")
    main = hub.main()
    killed_at(hub.repo, "publish:between-refs", "migrate", "--protocol-branch", BRANCH)
    assert hub.main() == main and rev(hub.hub, BRANCH) is not None  # a copy, main unchanged
    assert run_process(hub.repo, "claim", slug, "--no-worktree").returncode == 0  # still main
    result = run_process(hub.repo, "migrate", "--protocol-branch", BRANCH, "--json")
    assert result.returncode == 0, result.stderr
    assert on_branch(hub.hub, "main", "_AGENTS") == ["config.yaml"]
    assert slug in on_branch(hub.hub, BRANCH, "_AGENTS/sessions/active")  # the later claim too
    assert f"protocol_branch: {BRANCH}" in git(hub.hub, "show", "main:_AGENTS/config.yaml")
    again = run_process(hub.repo, "migrate", "--protocol-branch", BRANCH, "--json")
    assert json.loads(again.stdout)["changed"] is False
    git(hub.repo, "pull", "-q", "--ff-only")
    consistent(hub)
    # and back to main, killed between main and emptying the coordination branch
    killed_at(hub.repo, "publish:between-refs", "migrate", "--protocol-branch", "main")
    assert slug in on_branch(hub.hub, "main", "_AGENTS/sessions/active")
    assert "sessions" in on_branch(hub.hub, BRANCH, "_AGENTS")  # not emptied yet
    result = run_process(hub.repo, "migrate", "--protocol-branch", "main", "--json")
    assert result.returncode == 0, result.stderr
    assert on_branch(hub.hub, BRANCH, "_AGENTS") == ["MOVED.md"]
    assert "protocol_branch: null" in git(hub.hub, "show", "main:_AGENTS/config.yaml")
    git(hub.repo, "pull", "-q", "--ff-only")
    consistent(hub)
    assert run_process(hub.repo, "release", slug).returncode == 0  # the default layout again


def test_init_with_a_protocol_branch(plain: Hub, capsys: Capsys) -> None:
    code, out, err = cli(plain.repo, "init", "--protocol-branch", BRANCH, capsys=capsys)
    assert code == 0, err
    assert f"on {BRANCH}" in out
    git(plain.repo, "pull", "-q", "--ff-only")
    assert on_branch(plain.hub, "main", "_AGENTS") == ["config.yaml"]
    assert "sessions.lock" in on_branch(plain.hub, BRANCH, "_AGENTS/sessions")
    code, out, err = cli(plain.repo, "init", capsys=capsys)  # idempotent
    assert code == 0 and "already" in out, err


def test_review_landing_on_a_local_hub(hub: Hub, capsys: Capsys, tmp_path: Path) -> None:
    split(hub, capsys)
    slug = plan(hub.repo, capsys, "reviewed", "change")
    wt = claim(hub.repo, capsys, slug)
    work(wt, slug, "src/feature.py", "feature = True\n")
    main = hub.main()
    # a local hub never runs its hooks: config.yaml says that main takes reviews only
    config = hub.repo / "_AGENTS/config.yaml"
    config.write_text(config.read_text().replace("landing: direct", "landing: review"))
    code, out, err = cli(hub.repo, "complete", slug, "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["landing"] == f"land/{slug}"
    assert hub.main() == main
    squash = rev(hub.hub, f"land/{slug}")
    assert squash is not None and git(hub.hub, "rev-parse", f"{squash}~1").strip() == main
    marker = git(hub.hub, "show", f"{BRANCH}:_AGENTS/sessions/completed/{slug}/.landing")
    assert marker.startswith(f"branch land/{slug}\ncommit {squash}\nbase {main}\npatch ")
    # list and status show the waiting state
    code, out, err = cli(hub.repo, "list", "--json", capsys=capsys)
    row = next(r for r in json.loads(out)["sessions"] if r["slug"] == slug)
    assert row["state"] == "completed" and row["landing"] == f"land/{slug}"
    code, out, err = cli(hub.repo, "list", capsys=capsys)
    assert "to land" in out
    code, out, err = cli(hub.repo, "status", slug, "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["landing"] == f"land/{slug}", err
    code, out, err = cli(hub.repo, "board", "--problems", "--json", capsys=capsys)
    row = next(r for r in json.loads(out)["sessions"] if r["slug"] == slug)
    assert row["landing"] == f"land/{slug}" and row["problems"] == ["waiting to land"]
    code, out, err = cli(hub.repo, "land", "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["sessions"][0]["landed"] is None, err
    # main moves on, then a reviewer squash-merges the branch (no ancestry to the squash)
    other = hub.clone("reviewer")
    work(other, "x", "NEWS.md", "news\n")
    git(other, "push", "-q", "origin", "HEAD:main")
    git(other, "fetch", "-q", "origin", f"land/{slug}")
    git(other, "merge", "-q", "--squash", "FETCH_HEAD")
    git(other, "commit", "-qm", "Merge pull request #1")
    git(other, "push", "-q", "origin", "HEAD:main")
    code, out, err = cli(hub.repo, "land", "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["sessions"][0]["landed"] == hub.main()
    assert rev(hub.hub, f"land/{slug}") is None
    marker = git(hub.hub, "show", f"{BRANCH}:_AGENTS/sessions/completed/{slug}/.landing")
    assert marker.endswith(f"landed {hub.main()}\n")
    code, out, err = cli(hub.repo, "land", "--json", capsys=capsys)
    assert json.loads(out)["sessions"] == []
    consistent(hub)


def test_review_landing_needs_the_coordination_layout(hub: Hub, capsys: Capsys) -> None:
    slug = plan(hub.repo, capsys, "flat")
    claim(hub.repo, capsys, slug)
    code, _, err = cli(hub.repo, "complete", slug, "--land", "review", capsys=capsys)
    assert code == 1 and "coordination layout" in err and "migrate" in err


ONLY_COMPLETIONS = """#!/bin/sh
# main takes nothing but completions (a squash commit with a Session: trailer)
while read old new ref; do
  if [ "$ref" = refs/heads/main ]; then
    if ! git log -1 --format=%B "$new" | grep -q '^Session: '; then
      echo "main is protected: only completions land here" >&2
      exit 1
    fi
  fi
done
"""

NOTHING_ON_MAIN = """#!/bin/sh
while read old new ref; do
  if [ "$ref" = refs/heads/main ]; then
    echo "GH006: Protected branch update failed for refs/heads/main." >&2
    exit 1
  fi
done
"""


def guarded(hub: Hub, capsys: Capsys, url: str, hook: str, tmp_path: Path) -> Path:
    """Split the hub, install its pre-receive `hook`, and clone it through git daemon."""
    split(hub, capsys)
    path = hub.hub / "hooks" / "pre-receive"
    path.write_text(hook)
    path.chmod(0o755)
    clone = tmp_path / "agent"
    git(tmp_path, "clone", "-q", url, str(clone))
    assert f"protocol_branch: {BRANCH}" in (clone / "_AGENTS/config.yaml").read_text()
    return clone


def test_lifecycle_through_git_daemon_with_main_guarded_by_a_hook(
    hub: Hub, capsys: Capsys, git_daemon: str, tmp_path: Path
) -> None:
    repo = guarded(hub, capsys, git_daemon, ONLY_COMPLETIONS, tmp_path)
    main = hub.main()
    # the hook runs: a plain push of anything else to main is refused
    (repo / "stray.txt").write_text("x\n")
    git(repo, "add", "stray.txt")
    git(repo, "commit", "-qm", "stray")
    pushed = subprocess.run(
        ["git", "push", "origin", "HEAD:main"], cwd=repo, capture_output=True, text=True
    )
    assert pushed.returncode != 0 and "only completions" in pushed.stderr
    git(repo, "reset", "-q", "--hard", "origin/main")
    a, b, c = (plan(repo, capsys, w) for w in ("alpha", "beta", "gamma"))
    wt = claim(repo, capsys, a)
    assert cli(wt, "log", "started", capsys=capsys)[0] == 0
    assert cli(wt, "heartbeat", capsys=capsys)[0] == 0
    work(wt, a, "src/a.py", "a = 1\n")
    code, out, err = cli(wt, "complete", "--json", capsys=capsys)
    assert code == 0, err
    landed = json.loads(out)["commit"]
    assert hub.main() == landed and git(hub.hub, "rev-parse", "main~1").strip() == main
    claim(repo, capsys, b)
    assert cli(repo, "abandon", b, "--reason", "later", capsys=capsys)[0] == 0
    claim(repo, capsys, c)
    git(repo, "fetch", "-q", "origin", BRANCH)
    git(repo, "checkout", "-q", "-B", "coord", f"origin/{BRANCH}")
    (repo / "_AGENTS/sessions/sessions.lock").write_text(f"{c}:1000000000\n")
    git(repo, "commit", "-qam", "test: age the claim")
    git(repo, "push", "-q", "origin", f"HEAD:{BRANCH}")
    git(repo, "checkout", "-q", "main")
    code, out, err = cli(repo, "reap", "--older-than", "1h", "--json", capsys=capsys)
    assert code == 0 and c in out, err
    assert hub.main() == landed  # abandon, reap, journal: none of it reached main
    assert a in on_branch(hub.hub, BRANCH, "_AGENTS/sessions/completed")
    assert b in on_branch(hub.hub, BRANCH, "_AGENTS/sessions/abandoned")
    assert c in on_branch(hub.hub, BRANCH, "_AGENTS/sessions/planned")
    consistent(hub)


def test_review_landing_through_git_daemon_when_main_refuses_everything(
    hub: Hub, capsys: Capsys, git_daemon: str, tmp_path: Path
) -> None:
    repo = guarded(hub, capsys, git_daemon, NOTHING_ON_MAIN, tmp_path)
    main, coord = hub.main(), rev(hub.hub, BRANCH)
    slug = plan(repo, capsys, "protected")
    wt = claim(repo, capsys, slug)
    work(wt, slug, "src/p.py", "p = 1\n")
    coord = rev(hub.hub, BRANCH)
    code, _, err = cli(repo, "complete", slug, capsys=capsys)
    lines = err.splitlines()
    assert code == 4 and len(lines) == 2, err
    assert lines[0].startswith("error: main refused the completion") and "GH006" in lines[0]
    assert lines[1] == "hint: land it through a review branch: git sessions complete --land review"
    assert hub.main() == main and rev(hub.hub, BRANCH) == coord  # atomic: nothing moved
    code, out, err = cli(repo, "complete", slug, "--land", "review", "--json", capsys=capsys)
    assert code == 0, err
    squash = rev(hub.hub, f"land/{slug}")
    assert squash is not None and hub.main() == main
    code, out, err = cli(repo, "land", "--json", capsys=capsys)
    assert json.loads(out)["sessions"] == [
        {"slug": slug, "branch": f"land/{slug}", "commit": squash, "landed": None}
    ]
    # the forge squash-merges the review branch (its own commit: no ancestry to the squash;
    # the hook does not run on a server-side merge) and deletes the branch
    tree = git(hub.hub, "rev-parse", f"{squash}^{{tree}}").strip()
    merged = git(hub.hub, "commit-tree", tree, "-p", "main", "-m", "Merge #1").strip()
    later = git(hub.hub, "commit-tree", tree, "-p", merged, "-m", "later").strip()
    git(hub.hub, "update-ref", "refs/heads/main", later)
    git(hub.hub, "update-ref", "-d", f"refs/heads/land/{slug}")
    # a clone that never saw the squash commit finds the commit with its patch id
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", git_daemon, str(fresh))
    code, out, err = cli(fresh, "land", "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["sessions"][0]["landed"] == merged, err
    marker = git(hub.hub, "show", f"{BRANCH}:_AGENTS/sessions/completed/{slug}/.landing")
    assert marker.endswith(f"landed {merged}\n")
    consistent(hub)


@pytest.mark.race
def test_five_racing_agents_claim_exactly_once_and_leave_main_untouched(
    hub: Hub, capsys: Capsys
) -> None:
    from conftest import SESSION_MD

    from test_claim_race import race

    split(hub, capsys)
    main = hub.main()
    planner = hub.clone("planner")
    git(planner, "checkout", "-q", "-b", "coord", f"origin/{BRANCH}")
    slugs = [f"2026-01-01-task-{n:03d}" for n in range(12)]
    for n, slug in enumerate(slugs):
        folder = planner / "_AGENTS/sessions/planned" / slug
        folder.mkdir(parents=True)
        (folder / "SESSION.md").write_text(SESSION_MD.format(n=n, priority=n % 3))
    git(planner, "add", "_AGENTS")
    git(planner, "commit", "-qm", "plan sessions")
    git(planner, "push", "-q", "origin", f"HEAD:{BRANCH}")
    clones = [hub.clone(f"agent{i}") for i in range(5)]
    results = race(clones)
    claimed = sorted(str(c["slug"]) for claims in results.values() for c in claims)
    assert claimed == slugs, "every session claimed exactly once"
    lock = git(hub.hub, "show", f"{BRANCH}:_AGENTS/sessions/sessions.lock").split()
    assert sorted(line.split(":")[0] for line in lock) == slugs
    active = on_branch(hub.hub, BRANCH, "_AGENTS/sessions/active")
    assert sorted(a for a in active if a != ".gitkeep") == slugs
    for agent, claims in results.items():
        for c in claims:
            env = git(hub.hub, "show", f"{BRANCH}:_AGENTS/sessions/active/{c['slug']}/.session-env")
            assert f"GIT_AUTHOR_EMAIL={agent}@agents.test" in env
    assert hub.main() == main
    git(hub.hub, "fsck", "--strict", "--no-progress")
    assert run_process(clones[0], "check").returncode == 0


def test_clone_mode_in_the_coordination_layout(hub: Hub, capsys: Capsys) -> None:
    split(hub, capsys)
    main = hub.main()
    slug = plan(hub.repo, capsys, "cloned")
    code, out, err = cli(hub.repo, "claim", slug, "--clone", "--json", capsys=capsys)
    assert code == 0, err
    path = Path(json.loads(out)["worktree"])
    assert (path / "README.md").exists() and (path / f"_AGENTS/sessions/active/{slug}").is_dir()
    assert cli(path, "log", "in the clone", capsys=capsys)[0] == 0
    work(path, slug, "src/c.py", "c = 1\n")
    code, out, err = cli(hub.repo, "complete", slug, "--json", capsys=capsys)
    assert code == 0, err
    assert git(hub.hub, "rev-parse", "main~1").strip() == main
    assert git(hub.hub, "diff", "--name-only", main, "main").split() == ["src/c.py"]
    consistent(hub)


def test_lifecycle_through_a_guarded_local_hub(hub: Hub, capsys: Capsys) -> None:
    split(hub, capsys)
    code, _, err = cli(hub.repo, "guard", "install", "--hub", str(hub.hub), capsys=capsys)
    assert code == 0, err
    main = hub.main()
    a, b = plan(hub.repo, capsys, "alpha"), plan(hub.repo, capsys, "beta")
    wt = claim(hub.repo, capsys, a)
    assert cli(wt, "log", "started", capsys=capsys)[0] == 0
    assert cli(wt, "heartbeat", capsys=capsys)[0] == 0
    work(wt, a, "src/a.py", "a = 1\n")
    code, _, err = cli(wt, "complete", capsys=capsys)
    assert code == 0, err
    claim(hub.repo, capsys, b)
    assert cli(hub.repo, "abandon", b, "--reason", "later", capsys=capsys)[0] == 0
    assert git(hub.hub, "rev-parse", "main~1").strip() == main
    # the guard guards the coordination branch: a forged claim by plain git is refused
    c = plan(hub.repo, capsys, "gamma")
    other = hub.clone("forger")
    git(other, "checkout", "-q", "-b", "coord", f"origin/{BRANCH}")
    git(other, "mv", f"_AGENTS/sessions/planned/{c}", f"_AGENTS/sessions/active/{c}")
    git(other, "commit", "-qm", f"[{c}] chore: claim session")
    pushed = subprocess.run(
        ["git", "push", "origin", f"HEAD:{BRANCH}"], cwd=other, capture_output=True, text=True
    )
    assert pushed.returncode != 0 and "refs/heads/sessions" in pushed.stderr, pushed.stderr
    consistent(hub)


def test_a_crash_between_the_review_branch_and_the_archive_is_repaired(
    hub: Hub, capsys: Capsys
) -> None:
    split(hub, capsys)
    slug = plan(hub.repo, capsys, "review", "crash")
    wt = claim(hub.repo, capsys, slug)
    work(wt, slug, "src/r.py", "r = 1\n")
    main, coord = hub.main(), rev(hub.hub, BRANCH)
    killed_at(hub.repo, "publish:between-refs", "complete", slug, "--land", "review")
    assert rev(hub.hub, f"land/{slug}") is not None and rev(hub.hub, BRANCH) == coord
    result = run_process(hub.repo, "complete", slug, "--land", "review", "--json")
    assert result.returncode == 0, result.stderr
    squash = rev(hub.hub, f"land/{slug}")
    assert json.loads(result.stdout)["commit"] == squash and hub.main() == main
    marker = git(hub.hub, "show", f"{BRANCH}:_AGENTS/sessions/completed/{slug}/.landing")
    assert f"commit {squash}\n" in marker
    consistent(hub)


def test_settings_and_markers_from_the_hub_are_parsed_totally(hub: Hub, capsys: Capsys) -> None:
    from git_sessions.config import parse_config
    from git_sessions.errors import BadInput
    from git_sessions.landings import parse_marker
    from git_sessions.migration import with_protocol_branch

    for bad in ("protocol_branch: ../x", "protocol_branch: a..b", "landing: fast"):
        with pytest.raises(BadInput):
            parse_config(bad)
    assert parse_config("protocol_branch: sessions").protocol_branch == "sessions"
    assert with_protocol_branch("remote: origin\n", "s") == "remote: origin\nprotocol_branch: s\n"
    assert "protocol_branch: null" in with_protocol_branch("protocol_branch: s  # x\n", None)
    commit = "a" * 40
    for text in (
        None,
        "",
        "branch land/x\ncommit " + commit,  # not a slug
        f"branch main\ncommit {commit}\n",
        f"branch land/2026-01-01-a\ncommit {commit[:-1]}\n",
        f"branch land/2026-01-01-a\ncommit {commit}\nlanded $(rm -rf /)\n",
        "x" * 1000,
    ):
        assert parse_marker(text) is None, text
    marker = parse_marker(f"branch land/2026-01-01-a\ncommit {commit}\n")
    assert marker is not None and marker.landed is None
    # a hostile .landing on the coordination branch is ignored by list and land, not fatal
    split(hub, capsys)
    slug = plan(hub.repo, capsys, "hostile")
    claim(hub.repo, capsys, slug)
    other = hub.clone("mallory")
    git(other, "checkout", "-q", "-b", "coord", f"origin/{BRANCH}")
    folder = other / "_AGENTS/sessions/completed" / slug
    git(other, "mv", f"_AGENTS/sessions/active/{slug}", str(folder))
    (folder / ".landing").write_bytes(b"branch land/../../etc\ncommit \xff\n")
    git(other, "add", "-A")
    git(other, "commit", "-qm", "forged")
    git(other, "push", "-q", "origin", f"HEAD:{BRANCH}")
    code, out, err = cli(hub.repo, "list", "--json", capsys=capsys)
    assert code == 0 and "landing" not in out, err
    code, out, err = cli(hub.repo, "land", "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["sessions"] == [], err


def test_a_clone_that_has_not_pulled_since_a_migration_is_stopped(hub: Hub, capsys: Capsys) -> None:
    stale = hub.clone("stale")
    split(hub, capsys)
    main = hub.main()
    for args in (("list",), ("new", "more", "work"), ("init",)):
        code, _, err = cli(stale, *args, capsys=capsys)
        assert code == 1, err
        assert err == (
            f"error: the protocol moved to branch {BRANCH} of the hub\n"
            "hint: git pull, so that _AGENTS/config.yaml names it\n"
        )
    assert hub.main() == main
    # and a clone still on the coordination branch after moving back
    code, _, err = cli(hub.repo, "migrate", "--protocol-branch", "main", capsys=capsys)
    assert code == 0, err
    coord = rev(hub.hub, BRANCH)
    code, _, err = cli(hub.repo, "list", capsys=capsys)  # this checkout has not pulled yet
    assert code == 1 and "moved away from branch sessions" in err
    assert rev(hub.hub, BRANCH) == coord
    git(hub.repo, "pull", "-q", "--ff-only")
    assert cli(hub.repo, "list", capsys=capsys)[0] == 0


def test_a_conflict_with_main_is_resolved_by_merging_main_into_the_session(
    hub: Hub, capsys: Capsys
) -> None:
    split(hub, capsys)
    slug = plan(hub.repo, capsys, "conflict")
    wt = claim(hub.repo, capsys, slug)
    work(wt, slug, "README.md", "# ours\n")
    other = hub.clone("other")
    work(other, "x", "README.md", "# theirs\n")
    git(other, "push", "-q", "origin", "HEAD:main")
    code, _, err = cli(wt, "complete", capsys=capsys)
    assert code == 3 and "README.md" in err, err
    git(wt, "fetch", "-q", "origin")
    merged = subprocess.run(["git", "merge", "-q", "origin/main"], cwd=wt, capture_output=True)
    assert merged.returncode != 0  # the conflict, in README.md only: the session folder merges
    assert git(wt, "diff", "--name-only", "--diff-filter=U").split() == ["README.md"]
    (wt / "README.md").write_text("# both\n")
    git(wt, "add", "README.md")
    git(wt, "commit", "-qm", f"[{slug}] fix: merge main")
    before = hub.main()
    code, out, err = cli(wt, "complete", "--json", capsys=capsys)
    assert code == 0, err
    assert git(hub.hub, "rev-parse", "main~1").strip() == before
    assert git(hub.hub, "show", "main:README.md") == "# both\n"
    assert git(hub.hub, "diff", "--name-only", before, "main").split() == ["README.md"]
    assert json.loads(out)["commits"] == 1  # the merge commit of main is not counted
    consistent(hub)
