"""Exactly-once claims under real contention: racing processes against real hubs.

Each agent is its own OS process running `git-sessions claim --next` in a loop until nothing is
claimable. Afterwards every reported success must really be held on the hub.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def git_daemon(hub: Hub) -> Iterator[str]:
    """`git daemon --enable=receive-pack` serving the hub on a free loopback port."""
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--listen=127.0.0.1",
                f"--port={port}",
                f"--base-path={hub.hub.parent}",
                str(hub.hub.parent),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        url = f"git://127.0.0.1:{port}/{hub.hub.name}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            probe = subprocess.run(["git", "ls-remote", url], capture_output=True, check=False)
            if probe.returncode == 0:
                break
            time.sleep(0.05)
        if proc.poll() is None:
            try:
                yield url
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=10)
            return
    pytest.fail("could not start git daemon")


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


def test_kill_9_at_random_instants_leaves_hub_consistent(hub: Hub) -> None:
    """Claims killed mid-flight: hub passes check and fsck, the clone keeps working, and the
    killed agent's held claims are repaired (worktree recreated) by claiming them again."""
    slugs = add_planned(hub.repo, 12)
    rng = random.Random(1234)
    env = dict(os.environ)
    for round_ in range(10):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "git_sessions",
                "-C",
                str(hub.repo),
                "claim",
                "--next",
                "--agent",
                "killed",
                "--email",
                "killed@agents.test",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        time.sleep(rng.uniform(0.05, 0.45))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert run_process(hub.repo, "check").returncode == 0, f"round {round_}"
    git(hub.hub, "fsck", "--strict")
    held = git(hub.hub, "show", "main:_AGENTS/sessions/sessions.lock").split()
    for line in held:
        slug = line.split(":")[0]
        again = run_process(
            hub.repo, "claim", slug, "--json", "--agent", "killed", "--email", "killed@agents.test"
        )
        assert again.returncode == 0, again.stderr
        data = json.loads(again.stdout)
        assert data["already_held"] is True
        assert git(Path(data["worktree"]), "status", "--porcelain") == ""
    # a worktree half-made when the claim was killed is repaired by claiming again
    git(hub.repo, "fsck")
    rest = race([hub.repo] * 2)
    claimed = [str(c["slug"]) for claims in rest.values() for c in claims]
    assert sorted(claimed + [line.split(":")[0] for line in held]) == sorted(slugs)
    assert run_process(hub.repo, "check").returncode == 0
    git(hub.hub, "fsck", "--strict")
