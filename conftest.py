"""Shared fixtures: a sealed git environment and throwaway repositories with a bare hub.

A session-scoped template (hub + clone, initialised with git-sessions) is built once and copied
per test, which is far cheaper than running init and clone for every test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest
from tests.servers import (
    HttpServer,
    SshKeys,
    SshServer,
    credential_helper,
    http_backend,
    sshd,
)
from tests.servers import (
    free_port as free_port,  # tests import it from here, as before the servers moved
)
from tests.servers import (
    git_daemon as git_daemon_server,
)

ROOT = Path(__file__).resolve().parent
IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Agent",
    "GIT_AUTHOR_EMAIL": "agent@example.com",
    "GIT_COMMITTER_NAME": "Test Agent",
    "GIT_COMMITTER_EMAIL": "agent@example.com",
}


def seal(env: dict[str, str], home: Path) -> dict[str, str]:
    """An environment with no user or system git config, a private HOME and fixed identity."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Agent\n\temail = agent@example.com\n"
        '[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n'
    )
    for key in [k for k in env if k.startswith(("GIT_", "SESSION_"))]:
        del env[key]
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_EDITOR="false",
    )
    return env


@pytest.fixture(autouse=True)
def sealed_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    env = seal(dict(os.environ), home)
    for key in [k for k in os.environ if k not in env]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # pygit2 caches its config search path at import: point it at the sealed home too.
    levels = (
        pygit2.enums.ConfigLevel.GLOBAL,
        pygit2.enums.ConfigLevel.XDG,
        pygit2.enums.ConfigLevel.SYSTEM,
    )
    saved = [pygit2.settings.search_path[level] for level in levels]
    for level in levels:
        pygit2.settings.search_path[level] = str(home)
    yield home
    for level, value in zip(levels, saved, strict=True):
        pygit2.settings.search_path[level] = value


def git(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run the real git CLI (tests compare against it and use it to inspect results)."""
    full = {**os.environ, **(env or {})}
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, env=full
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def push_files(repo: Path, files: dict[str, str | None], message: str) -> str:
    """Commit `files` (None deletes) in clone `repo` on top of the hub's main and push; the commit.

    Uses the real git CLI, so tests can put on main what git-sessions itself would refuse to.
    """
    commit_files(repo, files, message)
    git(repo, "push", "-q", "origin", "HEAD:main")
    return git(repo, "rev-parse", "HEAD").strip()


def commit_files(
    repo: Path, files: dict[str, str | None], message: str, env: dict[str, str] | None = None
) -> None:
    """Commit `files` (None deletes) in clone `repo` on top of the hub's main, with plain git
    (`env`: e.g. another author and committer), without pushing."""
    git(repo, "pull", "-q", "--ff-only")
    for path, text in files.items():
        if text is None:
            git(repo, "rm", "-rq", path)
        else:
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
            git(repo, "add", path)
    git(repo, "commit", "-qm", message, env=env)


@dataclass
class Hub:
    """A bare hub and a clone of it, both real repositories in a temp dir."""

    hub: Path
    repo: Path

    def main(self) -> str:
        return git(self.hub, "rev-parse", "main").strip()

    def clone(self, name: str) -> Path:
        path = self.repo.parent / name
        git(self.repo.parent, "clone", "-q", str(self.hub), str(path))
        return path


def cli(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run git-sessions in-process against `repo`; (exit code, stdout, stderr)."""
    from git_sessions.cli import main

    capsys.readouterr()
    code = main(["-C", str(repo), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_error(
    hub: Hub, *args: str, code: int, capsys: pytest.CaptureFixture[str], repo: Path | None = None
) -> str:
    """Run a command that must fail cleanly; its stderr.

    Exit `code`, the hub's main unchanged, and stderr exactly one `error: ...` line plus at most
    one `hint: ...` line: no traceback.
    """
    before = hub.main()
    result, _, err = cli(repo or hub.repo, *args, capsys=capsys)
    assert result == code, err
    lines = err.splitlines()
    assert 1 <= len(lines) <= 2, err
    assert lines[0].startswith("error: ") and len(lines[0]) > len("error: "), err
    assert len(lines) == 1 or lines[1].startswith("hint: "), err
    assert "Traceback" not in err
    assert hub.main() == before
    return err


def run_process(
    repo: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run git-sessions as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "git_sessions", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=timeout,
        check=False,
    )


def _one_commit_hub(base: Path) -> dict[str, str]:
    """A bare hub with one commit on main and a clone of it, under `base`; the sealed env."""
    env = seal(dict(os.environ), base / "home")
    hub, repo = base / "hub.git", base / "repo"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(hub)], check=True, env=env)
    subprocess.run(
        ["git", "clone", "-q", str(hub), str(repo)], check=True, env=env, capture_output=True
    )
    (repo / "README.md").write_text("# project\n")
    for cmd in (
        ["add", "README.md"],
        ["commit", "-qm", "initial commit"],
        ["push", "-q", "origin", "main"],
    ):
        subprocess.run(["git", *cmd], cwd=repo, check=True, env=env)
    return env


@pytest.fixture(scope="session")
def hub_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("template")
    env = _one_commit_hub(base)
    repo = base / "repo"
    result = subprocess.run(
        [sys.executable, "-m", "git_sessions", "-C", str(repo), "init"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    subprocess.run(["git", "pull", "-q"], cwd=repo, check=True, env=env)
    return base


# GIT_SESSIONS_TEST_HUB=daemon runs a test file with its clone's origin served by git daemon
# (tests/test_over_daemon.py does, for whole files written against a local hub). Read at
# import: the sealed environment drops GIT_* variables before any fixture runs.
TEST_HUB = os.environ.get("GIT_SESSIONS_TEST_HUB", "local")


@pytest.fixture
def hub(hub_template: Path, tmp_path: Path) -> Iterator[Hub]:
    """A fresh, initialised hub and clone for one test."""
    shutil.copytree(hub_template / "hub.git", tmp_path / "hub.git", symlinks=True)
    shutil.copytree(hub_template / "repo", tmp_path / "repo", symlinks=True)
    if TEST_HUB == "daemon":
        for prefix in serve_git_daemon(tmp_path):
            git(tmp_path / "repo", "remote", "set-url", "origin", f"{prefix}/hub.git")
            yield Hub(tmp_path / "hub.git", tmp_path / "repo")
        return
    git(tmp_path / "repo", "remote", "set-url", "origin", str(tmp_path / "hub.git"))
    yield Hub(tmp_path / "hub.git", tmp_path / "repo")


@pytest.fixture(scope="session")
def plain_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like hub_template, but git-sessions has not been initialised: one commit on main."""
    base = tmp_path_factory.mktemp("plain")
    _one_commit_hub(base)
    return base


@pytest.fixture
def plain(plain_template: Path, tmp_path: Path) -> Iterator[Hub]:
    """A fresh hub and clone for one test, before `git-sessions init`."""
    shutil.copytree(plain_template / "hub.git", tmp_path / "hub.git", symlinks=True)
    shutil.copytree(plain_template / "repo", tmp_path / "repo", symlinks=True)
    git(tmp_path / "repo", "remote", "set-url", "origin", str(tmp_path / "hub.git"))
    yield Hub(tmp_path / "hub.git", tmp_path / "repo")


SESSION_MD = """---
title: task {n}
capabilities: []
priority: {priority}
depends_on: []
parent: null
created: 2026-01-01
---
# task {n}
"""


def add_planned(repo: Path, count: int) -> list[str]:
    """Put `count` planned sessions on the hub's main in one commit (fast, via plain git)."""
    git(repo, "pull", "-q")
    slugs = [f"2026-01-01-task-{n:03d}" for n in range(count)]
    for n, slug in enumerate(slugs):
        folder = repo / "_AGENTS/sessions/planned" / slug
        folder.mkdir(parents=True)
        (folder / "SESSION.md").write_text(SESSION_MD.format(n=n, priority=n % 3))
        for name in ("worklog.md", "active-plan.md", "subsessions.md"):
            (folder / name).write_text(f"# {name}\n")
    git(repo, "add", "_AGENTS")
    git(repo, "commit", "-qm", "plan sessions")
    git(repo, "push", "-q", "origin", "main")
    return slugs


def age_claims(repo: Path, since: int = 1_000_000_000) -> None:
    """Rewrite every lock line on the hub's main as claimed at `since` (plain git), so reap
    sees the claims as stale without a test waiting for the clock."""
    git(repo, "pull", "-q", "--ff-only")
    lock = repo / "_AGENTS/sessions/sessions.lock"
    lines = [line.split(":")[0] for line in lock.read_text().split()]
    push_files(
        repo,
        {"_AGENTS/sessions/sessions.lock": "".join(f"{slug}:{since}\n" for slug in lines)},
        "test: age the claims",
    )


def serve_git_daemon(base: Path) -> Iterator[str]:
    """`git daemon --enable=receive-pack` serving the bare repos under `base` on a loopback
    port; yields its git:// URL prefix once the daemon says it is ready (tests/servers.py)."""
    with git_daemon_server(base) as prefix:
        yield prefix


@pytest.fixture
def git_daemon(hub: Hub) -> Iterator[str]:
    """The test's hub served by git daemon: its git:// URL."""
    for prefix in serve_git_daemon(hub.hub.parent):
        yield f"{prefix}/{hub.hub.name}"


# --------------------------------------------------------------------------- http and ssh hubs
# The servers themselves are in tests/servers.py; these fixtures serve the test's hub and set up
# the client side the way a user would, in the sealed global git config: a credential helper for
# https (never a password in the remote URL) and core.sshCommand with a key file and a
# known_hosts file for ssh.

HTTP_USER = "alice"
HTTP_PASSWORD = "hub-pass-7Qx2"  # distinctive, so tests can look for it in every output


@pytest.fixture
def http_hub(hub: Hub, tmp_path: Path) -> Iterator[HttpServer]:
    """The test's hub behind lighttpd + git http-backend with basic auth; its URL prefix is
    `.url` (the hub is `{url}/hub.git`); git gets the password from a credential helper."""
    with http_backend(hub.hub.parent, tmp_path / "lighttpd", HTTP_USER, HTTP_PASSWORD) as server:
        helper = credential_helper(tmp_path / "credential-helper", HTTP_USER, HTTP_PASSWORD)
        git(tmp_path, "config", "--global", "credential.helper", helper)
        yield server


@pytest.fixture(scope="session")
def ssh_keys(tmp_path_factory: pytest.TempPathFactory) -> SshKeys:
    return SshKeys.generate(tmp_path_factory.mktemp("ssh-keys"))


@pytest.fixture
def ssh_hub(hub: Hub, tmp_path: Path, ssh_keys: SshKeys) -> Iterator[SshServer]:
    """An sshd admitting the test's user by key; `known_hosts` in tmp_path holds its host key
    and core.sshCommand uses that file and the key (no agent, strict host key checking)."""
    with sshd(tmp_path / "sshd", ssh_keys) as server:
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(server.known_hosts_line())
        git(tmp_path, "config", "--global", "core.sshCommand", server.ssh_command(known_hosts))
        yield server
