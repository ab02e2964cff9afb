"""Exactly-once claims under real contention: racing processes against real hubs.

Each agent is its own OS process running `git-sessions claim --next` in a loop until nothing is
claimable. Afterwards every reported success must really be held on the hub.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Hub, add_planned, git, run_process

from git_sessions import index
from git_sessions.gitrepo import LocalHub

AGENT_LOOP = r"""
import json, subprocess, sys
repo, name, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
while True:
    r = subprocess.run(
        [sys.executable, "-m", "git_sessions", "-C", repo, "claim", "--next", "--json",
         "--agent", name, "--email", name + "@agents.test", *extra],
        capture_output=True, text=True)
    if r.returncode == 0:
        print(r.stdout.replace("\n", " "), flush=True)
    elif r.returncode == 1 and "no claimable session" in r.stderr:
        break
    else:
        print("FAILED", r.returncode, r.stderr.replace("\n", " "), flush=True)
        break
"""


def race(repos: list[Path], extra: list[str] = ()) -> dict[str, list[dict[str, object]]]:  # type: ignore[assignment]
    """Run one claiming agent process per repo at once; each agent's reported successes."""
    procs = {
        f"agent{i}": subprocess.Popen(
            [sys.executable, "-c", AGENT_LOOP, str(repo), f"agent{i}", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, repo in enumerate(repos)
    }
    results: dict[str, list[dict[str, object]]] = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        lines = out.splitlines()
        failures = [line for line in lines if line.startswith("FAILED")]
        assert not failures, failures
        results[name] = [json.loads(line) for line in lines]
    return results


def assert_held_exactly_once(
    hub_path: Path, slugs: list[str], results: dict[str, list[dict[str, object]]]
) -> None:
    claimed = [str(c["slug"]) for claims in results.values() for c in claims]
    assert sorted(claimed) == sorted(slugs), "every session claimed exactly once"
    lock = git(hub_path, "show", "main:_AGENTS/sessions/sessions.lock").split()
    assert sorted(line.split(":")[0] for line in lock) == sorted(slugs)
    active = git(hub_path, "ls-tree", "--name-only", "main:_AGENTS/sessions/active/").split()
    assert set(slugs) <= set(active)
    history = git(hub_path, "log", "--first-parent", "--format=%H %ae %s", "main").splitlines()
    by_commit = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in history}
    for agent, claims in results.items():
        for c in claims:
            commit = str(c["commit"])
            assert commit in by_commit, f"{agent}'s claim {commit} is not on main"
            assert by_commit[commit] == (f"{agent}@agents.test [{c['slug']}] chore: claim session")
            env = git(hub_path, "show", f"main:_AGENTS/sessions/active/{c['slug']}/.session-env")
            assert f"GIT_AUTHOR_EMAIL={agent}@agents.test" in env
    git(hub_path, "fsck", "--strict")
    # INDEX.md, rewritten row by row inside every racing claim, equals a full rebuild
    local = LocalHub(hub_path, "main")
    assert index.rebuild(local.snapshot(local.tip())) is None


@pytest.mark.race  # long: CI runs it (bin/test skips the race marker locally)
def test_eight_agents_one_clone_local_hub(hub: Hub) -> None:
    """8 agents sharing one clone (worktrees) race over 40 sessions on a local bare hub."""
    slugs = add_planned(hub.repo, 40)
    results = race([hub.repo] * 8)
    assert_held_exactly_once(hub.hub, slugs, results)
    assert sum(len(c) for c in results.values()) == 40
    worktrees = git(hub.repo, "worktree", "list", "--porcelain")
    for slug in slugs:
        assert f"branch refs/heads/session/{slug}" in worktrees
        plan = hub.repo / ".worktrees" / slug / "_AGENTS/sessions/active" / slug / "SESSION.md"
        assert plan.stat().st_mode & 0o777 == 0o444
    assert run_process(hub.repo, "check").returncode == 0


@pytest.mark.race  # long: CI runs it (bin/test skips the race marker locally)
def test_eight_agents_over_git_daemon(hub: Hub, git_daemon: str) -> None:
    """The same race over git://, each agent in its own clone, without worktrees."""
    slugs = add_planned(hub.repo, 40)
    clones = []
    for i in range(8):
        path = hub.repo.parent / f"agent{i}"
        git(hub.repo.parent, "clone", "-q", git_daemon, str(path))
        clones.append(path)
    results = race(clones, ["--no-worktree"])
    assert_held_exactly_once(hub.hub, slugs, results)
    assert run_process(clones[0], "check").returncode == 0


def test_second_claim_of_held_session_exits_3_and_changes_nothing(hub: Hub) -> None:
    [slug] = add_planned(hub.repo, 1)
    first = run_process(hub.repo, "claim", slug, "--agent", "one", "--email", "one@x.test")
    assert first.returncode == 0, first.stderr
    before = hub.main()
    second = run_process(hub.repo, "claim", slug, "--agent", "two", "--email", "two@x.test")
    assert second.returncode == 3
    assert second.stderr.splitlines()[0] == (
        f"error: session {slug} is already claimed by one <one@x.test>"
    )
    assert "Traceback" not in second.stderr
    assert hub.main() == before


def killed_at(repo: Path, phase: str, *args: str) -> None:
    """Run git-sessions with the fault point `phase` armed, and kill -9 it exactly there."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_sessions", "-C", str(repo), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GIT_SESSIONS_FAULT": phase},
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert line == f"fault: {phase}\n", line + proc.stderr.read()


def assert_consistent(hub: Hub) -> None:
    result = run_process(hub.repo, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    git(hub.hub, "fsck", "--strict")
    git(hub.repo, "fsck")


CLAIM_PHASES = [
    "claim:before-publish",  # the claim commit is built and recorded, not published
    "claim:after-publish",  # main moved; no branch, no worktree
    "claim:in-worktree",  # the branch exists, the worktree does not
    "claim:before-bootstrap",  # the worktree exists, its bootstrap has not run
]


@pytest.mark.parametrize("phase", CLAIM_PHASES)
def test_claim_killed_at_each_phase_is_repaired_by_claiming_again(hub: Hub, phase: str) -> None:
    (hub.repo / "_AGENTS/config.yaml").write_text("bootstrap:\n  run: [echo ran >> boot.log]\n")
    with (hub.repo / ".git/info/exclude").open("a") as exclude:
        exclude.write("boot.log\n")
    git(hub.repo, "config", "sessions.approveBootstrap", "true")  # this machine trusts the hub
    [slug] = add_planned(hub.repo, 1)
    before = hub.main()
    who = ["--agent", "killed", "--email", "killed@agents.test"]
    killed_at(hub.repo, phase, "claim", slug, *who)
    landed = hub.main() != before
    assert landed == (phase != "claim:before-publish"), "the kill hit the phase it names"
    branch = git(hub.repo, "branch", "--list", f"session/{slug}").strip()
    assert bool(branch) == (phase in ("claim:in-worktree", "claim:before-bootstrap"))
    wt = hub.repo / ".worktrees" / slug
    assert (wt / ".git").exists() == (phase == "claim:before-bootstrap")
    assert_consistent(hub)

    again = run_process(hub.repo, "claim", slug, "--json", *who)
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["already_held"] is landed
    assert data["bootstrap"] is not None and data["bootstrap"]["ok"], "bootstrap ran now"
    assert git(wt, "status", "--porcelain") == ""
    plan = wt / "_AGENTS/sessions/active" / slug / "SESSION.md"
    assert plan.stat().st_mode & 0o777 == 0o444
    assert (wt / "boot.log").read_text() == "ran\n"
    assert_consistent(hub)
    third = run_process(hub.repo, "claim", slug, "--json", *who)
    assert json.loads(third.stdout)["bootstrap"] is None, "a finished bootstrap is not redone"
    assert (wt / "boot.log").read_text() == "ran\n"


COMPLETE_PHASES = ["complete:before-publish", "complete:after-publish", "complete:in-cleanup"]


@pytest.mark.parametrize("phase", COMPLETE_PHASES)
def test_complete_killed_at_each_phase_finishes_when_run_again(hub: Hub, phase: str) -> None:
    [slug] = add_planned(hub.repo, 1)
    claimed = run_process(hub.repo, "claim", slug, "--json")
    assert claimed.returncode == 0, claimed.stderr
    wt = Path(json.loads(claimed.stdout)["worktree"])
    (wt / "work.txt").write_text("done\n")
    git(wt, "add", "work.txt")
    git(wt, "commit", "-qm", f"[{slug}] feat: the work")
    before = hub.main()
    killed_at(hub.repo, phase, "complete", slug)
    landed = hub.main() != before
    assert landed == (phase != "complete:before-publish"), "the kill hit the phase it names"
    assert wt.exists() == (phase != "complete:in-cleanup")
    assert bool(git(hub.repo, "branch", "--list", f"session/{slug}").strip())
    assert_consistent(hub)

    again = run_process(hub.repo, "complete", slug)
    assert again.returncode == 0, again.stderr
    assert ("finished its local cleanup" in again.stdout) is landed
    files = git(hub.hub, "ls-tree", "-r", "--name-only", "main")
    assert f"_AGENTS/sessions/completed/{slug}/{slug}.patch" in files and "work.txt" in files
    assert not wt.exists()
    assert git(hub.repo, "branch", "--list", f"session/{slug}").strip() == ""
    assert f"session/{slug}" not in git(hub.hub, "branch", "--list")
    assert git(hub.repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    subjects = git(hub.hub, "log", "--format=%s", "main").splitlines()
    assert sum(s.startswith(f"[{slug}] feat") for s in subjects) == 1
    assert_consistent(hub)
    repeat = run_process(hub.repo, "complete", slug)
    assert repeat.returncode == 3 and "completed, not active" in repeat.stderr
