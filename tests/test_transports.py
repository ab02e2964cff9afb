"""Every kind of hub, through real servers and real `git-sessions` processes: a local path,
`git daemon`, smart HTTP (git http-backend behind lighttpd, basic auth, a credential helper) and
ssh (sshd with key auth, a known_hosts file). On each: the whole lifecycle and, under the `race`
marker, eight agents racing in separate clones. Then what a server can refuse: a pre-receive
hook, a wrong host key, a wrong password."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import HTTP_PASSWORD, HTTP_USER, Hub, add_planned, age_claims, git, run_process
from tests.servers import HttpServer, SshServer, credential_helper

from test_claim_race import assert_held_exactly_once

KINDS = ["local", "daemon", "http", "ssh"]
NETWORK = ["daemon", "http", "ssh"]
SESSIONS = "_AGENTS/sessions"


@dataclass
class Remote:
    """The test's hub as agents reach it."""

    kind: str
    url: str
    hub: Hub

    def clone(self, name: str) -> Path:
        path = self.hub.repo.parent / name
        git(self.hub.repo.parent, "clone", "-q", self.url, str(path))
        return path


@pytest.fixture(params=KINDS)
def remote(request: pytest.FixtureRequest, hub: Hub) -> Remote:
    kind = request.param
    if kind == "local":
        url = str(hub.hub)
    elif kind == "daemon":
        url = request.getfixturevalue("git_daemon")
    elif kind == "http":
        url = f"{request.getfixturevalue('http_hub').url}/{hub.hub.name}"
    else:
        url = request.getfixturevalue("ssh_hub").url(hub.hub)
    return Remote(kind, url, hub)


def who(name: str) -> list[str]:
    return ["--agent", name, "--email", f"{name}@agents.test"]


def ok(repo: Path, *args: str) -> str:
    result = run_process(repo, *args)
    assert result.returncode == 0, (args, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def lock(hub: Hub) -> dict[str, int]:
    text = git(hub.hub, "show", f"main:{SESSIONS}/sessions.lock")
    return {line.split(":")[0]: int(line.split(":")[1]) for line in text.split()}


def folders(hub: Hub, state: str) -> list[str]:
    listing = git(hub.hub, "ls-tree", "--name-only", "main", f"{SESSIONS}/{state}/")
    return sorted(Path(line).name for line in listing.split() if not line.endswith(".gitkeep"))


def assert_clean(hub: Hub, repo: Path) -> None:
    assert sorted(lock(hub)) == folders(hub, "active"), "sessions.lock == active/"
    assert ok(repo, "check").strip()
    git(hub.hub, "fsck", "--strict")


def test_lifecycle(remote: Remote) -> None:
    """claim, log, heartbeat (renewing an old lease), complete, abandon, reap: each a process
    in a clone that reaches the hub only through `remote.url`."""
    hub = remote.hub
    done, dropped, silent = add_planned(hub.repo, 3)
    repo = remote.clone("agent")
    assert HTTP_PASSWORD not in (repo / ".git/config").read_text()

    wt = Path(json.loads(ok(repo, "claim", done, "--json", *who("alice")))["worktree"])
    assert list(lock(hub)) == [done] and folders(hub, "active") == [done]
    env = git(hub.hub, "show", f"main:{SESSIONS}/active/{done}/.session-env")
    assert "GIT_AUTHOR_EMAIL=alice@agents.test" in env

    ok(wt, "log", f"first step over {remote.kind}")
    worklog = git(hub.hub, "show", f"session/{done}:{SESSIONS}/active/{done}/worklog.md")
    assert f"first step over {remote.kind}" in worklog

    age_claims(hub.repo)
    beat = json.loads(ok(wt, "heartbeat", "--json"))
    assert beat["renewed"]
    assert lock(hub)[done] > 1_000_000_000, "the lease was renewed on the hub"

    (wt / "feature.txt").write_text(f"built over {remote.kind}\n")
    git(wt, "add", "feature.txt")
    git(wt, "commit", "-qm", f"[{done}] feat: feature")
    ok(wt, "complete")
    assert git(hub.hub, "show", "main:feature.txt") == f"built over {remote.kind}\n"
    assert folders(hub, "completed") == [done] and lock(hub) == {}

    ok(repo, "claim", dropped, *who("alice"))
    ok(repo, "abandon", dropped, "--reason", "not needed", *who("alice"))
    assert folders(hub, "abandoned") == [dropped]

    ok(repo, "claim", silent, "--no-worktree", *who("sleepy"))
    age_claims(hub.repo)
    reaped = json.loads(ok(repo, "reap", "--older-than", "1h", "--json", *who("reaper")))
    assert [(r["slug"], r["outcome"]) for r in reaped["reaped"]] == [(silent, "reaped")]
    assert folders(hub, "planned") == [silent] and lock(hub) == {}
    subjects = git(hub.hub, "log", "--format=%ae %s", "main").splitlines()
    assert f"reaper@agents.test [{silent}] chore: reap session" in subjects
    assert_clean(hub, repo)


# An agent claiming until nothing is left. Told "lost the race ... try again" (exit 3: its
# retry budget ran out while others kept winning, which a slow transport makes likely), it does
# what the hint says, as a real agent loop would; the loss is printed so the test can count it.
AGENT_LOOP = r"""
import subprocess, sys
repo, name = sys.argv[1], sys.argv[2]
while True:
    r = subprocess.run(
        [sys.executable, "-m", "git_sessions", "-C", repo, "claim", "--next", "--json",
         "--no-worktree", "--agent", name, "--email", name + "@agents.test"],
        capture_output=True, text=True)
    if r.returncode == 0:
        print(r.stdout.replace("\n", " "), flush=True)
    elif r.returncode == 1 and "no claimable session" in r.stderr:
        break
    elif r.returncode == 3 and "lost the race" in r.stderr:
        print("LOST", flush=True)
    else:
        print("FAILED", r.returncode, r.stderr.replace("\n", " "), flush=True)
        break
"""


def race(repos: list[Path]) -> tuple[dict[str, list[dict[str, object]]], int]:
    """One claiming agent process per clone, all at once: each agent's reported wins, and how
    many times an agent gave up a claim as lost."""
    procs = {
        f"agent{i}": subprocess.Popen(
            [sys.executable, "-c", AGENT_LOOP, str(repo), f"agent{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, repo in enumerate(repos)
    }
    results, lost = {}, 0
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        lines = out.splitlines()
        assert not [line for line in lines if line.startswith("FAILED")], lines
        lost += lines.count("LOST")
        results[name] = [json.loads(line) for line in lines if line != "LOST"]
    return results, lost


@pytest.mark.race
def test_eight_agents_race_in_separate_clones(remote: Remote) -> None:
    """8 agents, each in its own clone over the transport, claim 24 sessions: each exactly once,
    held by the agent told it won."""
    slugs = add_planned(remote.hub.repo, 24)
    clones = [remote.clone(f"agent{i}") for i in range(8)]
    results, lost = race(clones)
    assert_held_exactly_once(remote.hub.hub, slugs, results)
    assert_clean(remote.hub, clones[0])
    print(f"{remote.kind}: {lost} claim(s) gave up as lost races")


# --------------------------------------------------------------------------- refusals


def refused(result_stderr: str) -> str:
    """The one `error:` line of a clean failure (at most a hint after it, no traceback)."""
    lines = result_stderr.splitlines()
    assert "Traceback" not in result_stderr
    assert lines and lines[0].startswith("error: "), result_stderr
    assert all(line.startswith("hint: ") for line in lines[1:]), result_stderr
    return result_stderr


@pytest.mark.parametrize("remote", NETWORK, indirect=True)
def test_a_hook_that_rejects_fails_at_once_with_its_message(remote: Remote) -> None:
    """A pre-receive hook's refusal is no lost race: exit 4 right after the one push, showing
    the hook's words (a retry loop would run the hook again)."""
    [slug] = add_planned(remote.hub.repo, 1)
    repo = remote.clone("agent")
    runs = remote.hub.hub.parent / "hook-runs"
    hook = remote.hub.hub / "hooks/pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        f"date +%s.%N >> {runs}\n"
        'echo "frozen: the release manager stopped all pushes" >&2\n'
        "exit 1\n"
    )
    hook.chmod(0o755)
    before = remote.hub.main()
    result = run_process(repo, "claim", slug, "--no-worktree")
    finished = time.time()
    assert result.returncode == 4, result.stderr
    assert "frozen: the release manager stopped all pushes" in refused(result.stderr)
    pushes = runs.read_text().split()
    assert len(pushes) == 1, f"the push was retried {len(pushes) - 1} times"
    assert finished - float(pushes[0]) < 2.0, "exit 4 within 2 s of the refusal"
    assert remote.hub.main() == before


@pytest.mark.parametrize("known", ["wrong", "unknown"])
def test_ssh_refuses_a_host_key_it_does_not_know(
    hub: Hub, ssh_hub: SshServer, tmp_path: Path, known: str
) -> None:
    """known_hosts names another key for the server (or nothing): nothing is sent, exit 4."""
    [slug] = add_planned(hub.repo, 1)
    repo = Remote("ssh", ssh_hub.url(hub.hub), hub).clone("agent")
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(ssh_hub.known_hosts_line(wrong=True) if known == "wrong" else "")
    before = hub.main()
    result = run_process(repo, "claim", slug, "--no-worktree")
    assert result.returncode == 4, result.stderr
    assert "host key" in refused(result.stderr).lower()
    assert hub.main() == before
    assert known_hosts.read_text() == (
        ssh_hub.known_hosts_line(wrong=True) if known == "wrong" else ""
    ), "known_hosts is never rewritten"


def test_https_wrong_password_fails_once_and_never_shows_it(
    hub: Hub, http_hub: HttpServer, tmp_path: Path
) -> None:
    """The credential helper gives a wrong password: exit 4 after git asked for it once (a retry
    loop would ask again), and neither password shows in the output or the clone's config."""
    [slug] = add_planned(hub.repo, 1)
    repo = Remote("http", f"{http_hub.url}/{hub.hub.name}", hub).clone("agent")
    wrong = "wrong-pass-Zr9k"
    helper = tmp_path / "credential-helper"
    credential_helper(helper, HTTP_USER, wrong)
    asked = helper.with_name(helper.name + ".log")
    asked.unlink()
    before = hub.main()
    start = time.monotonic()
    result = run_process(repo, "claim", slug, "--no-worktree")
    elapsed = time.monotonic() - start
    assert result.returncode == 4, result.stderr
    assert "auth" in refused(result.stderr).lower()
    for secret in (wrong, HTTP_PASSWORD):
        assert secret not in result.stdout + result.stderr
        assert secret not in (repo / ".git/config").read_text()
    calls = asked.read_text().split()
    assert calls.count("get") == 1, f"no retry loop: git asked {calls}"
    assert elapsed < 10, f"took {elapsed:.1f}s"
    assert hub.main() == before


@pytest.mark.parametrize("form", ["{alias}:{path}", "ssh://{alias}{path}"])
def test_ssh_config_host_alias(hub: Hub, ssh_hub: SshServer, tmp_path: Path, form: str) -> None:
    """The hub named by a host alias of the user's ssh config (port, user, key, known_hosts
    from there): scp-style `alias:/path` and `ssh://alias/path` without a user."""
    [slug] = add_planned(hub.repo, 1)
    config = tmp_path / "ssh_config"
    config.write_text(ssh_hub.ssh_config("hubhost", tmp_path / "known_hosts"))
    git(tmp_path, "config", "--global", "core.sshCommand", f"ssh -F {config}")
    url = form.format(alias="hubhost", path=hub.hub)
    repo = Remote("ssh", url, hub).clone("agent")
    ok(repo, "claim", slug, "--no-worktree", *who("alice"))
    assert list(lock(hub)) == [slug]
    assert folders(hub, "active") == [slug]
