"""Running git's own transport for hubs on a server (git://, http(s)://, ssh://, host:path).

libgit2's network transport ignores the user's git setup (ssh config and key files, ssh-agent
aside; `GIT_SSH_COMMAND`, `core.sshCommand`, credential helpers, proxies, CA files) and never
asks for the `atomic` push capability. The git CLI honours all of it, so every fetch, ref
listing and push to a network hub runs `git` here (docs/transport.md). We add only what an
agent needs to never hang: no prompt of any kind, a limit on every call, a low-speed limit for
http, and an ssh that refuses an unknown or changed host key instead of asking.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from git_sessions.errors import GitFailure
from git_sessions.gitrepo.commandline import unbound_environment

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/\s@]*@", re.IGNORECASE)
# the hub is untrusted: what it says reaches a terminal, so no escape sequences or controls
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x1f\x7f-\x9f]")

TIMEOUT_HINT = (
    "the hub did not answer within {seconds:g}s; check it, or raise `timeout` in"
    " _AGENTS/config.yaml (or GIT_SESSIONS_TIMEOUT)"
)


def is_local_url(url: str) -> bool:
    """True for a path or file:// URL, false for git://, http(s)://, ssh:// and scp-style
    `[user@]host:path`. Like git: without `://`, a colon before any slash names a host."""
    if url.startswith("file://"):
        return True
    if _SCHEME.match(url):
        return False
    colon, slash = url.find(":"), url.find("/")
    return not (colon > 0 and (slash < 0 or colon < slash))


def redact(text: str) -> str:
    """`text` with the user and password of every scheme://user:password@host URL removed."""
    return _USERINFO.sub(r"\1", text)


def clean(line: str) -> str:
    """One line from the hub, safe to print: no secrets, no terminal controls."""
    return redact(_CONTROL.sub("", line)).strip()


@dataclass(frozen=True)
class Run:
    """What one git call said."""

    code: int
    out: str
    err: str
    timed_out: bool


@dataclass(frozen=True)
class Network:
    """How network calls run for one repository: its git dir, the limit, its config."""

    git_dir: Path | None  # None: no repository yet (a clone)
    timeout: float
    config: Callable[[str], str | None]

    def command(self, *args: str, url: str = "") -> list[str]:
        git = shutil.which("git")
        if git is None:
            raise GitFailure(
                "git is not installed: a hub on a server is reached with git's own transport",
                hint="install git (e.g. apt-get install git) and run the command again",
            )
        options: list[str] = []
        if self.config("http.lowSpeedLimit") is None and "GIT_HTTP_LOW_SPEED_LIMIT" not in (
            os.environ
        ):
            # a server that stops sending mid-transfer is given up on, not waited for
            seconds = max(1, int(self.timeout))
            options += ["-c", "http.lowSpeedLimit=1", "-c", f"http.lowSpeedTime={seconds}"]
        if url.startswith("git://") and self.config("protocol.version") is None:
            # Protocol v2 adds a round trip that costs 40 ms per call over raw TCP here
            # (delayed ACK; measured 56-70 ms a fetch against 20-22 ms with v0, as libgit2
            # spoke). ssh and https carry it in one stream or request, so they keep git's
            # default.
            options += ["-c", "protocol.version=0"]
        if self.git_dir is not None:
            options.append(f"--git-dir={self.git_dir}")
        return [git, *options, *args]

    def environment(self) -> dict[str, str]:
        env = unbound_environment()
        env["GIT_TERMINAL_PROMPT"] = "0"  # a password nobody will type must fail, not wait
        user_ssh = "GIT_SSH_COMMAND" in env or "GIT_SSH" in env or self.config("core.sshCommand")
        if not user_ssh:
            # BatchMode: never ask (passphrase, password, or "accept this host key?"): an
            # unknown or changed host key is refused with ssh's own message
            seconds = max(1, int(self.timeout))
            env["GIT_SSH_COMMAND"] = f"ssh -o BatchMode=yes -o ConnectTimeout={seconds}"
        return env

    def run(self, *args: str, url: str = "") -> Run:
        """Run `git args...` (talking to `url`) with the limit; the process group is killed
        when it expires (ssh and git-remote-https are children of git)."""
        try:
            proc = subprocess.Popen(
                self.command(*args, url=url),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.environment(),
                start_new_session=True,  # its own group (and no terminal to prompt on)
            )
        except OSError as exc:
            raise GitFailure(f"running git: {exc}") from None
        try:
            out, err = proc.communicate(timeout=self.timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
        return Run(
            proc.returncode,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
            timed_out,
        )


# --------------------------------------------------------------------------- failures

_KINDS: list[tuple[str, re.Pattern[str], str]] = [
    (
        "host key",
        re.compile(
            r"host key verification failed|remote host identification has changed"
            r"|no \S+ host key is known",
            re.IGNORECASE,
        ),
        "the hub's ssh host key is unknown or has changed: verify its fingerprint, then add"
        " it to ~/.ssh/known_hosts (README: Hubs on a server)",
    ),
    (
        "auth",
        re.compile(
            r"permission denied \(|authentication failed|could not read (username|password)"
            r"|terminal prompts disabled|returned error: 401|invalid (username|credentials)"
            r"|bad credentials|invalid username or password",
            re.IGNORECASE,
        ),
        "git has no working credentials for the hub: an ssh key (ssh-agent or ~/.ssh/config),"
        " or for https a credential helper; never a password in the URL (README: Hubs on a"
        " server)",
    ),
    (
        "not found",
        re.compile(
            r"repository not found|not found|does not appear to be a git repository"
            r"|not exported|returned error: 404|no such repository|does not exist",
            re.IGNORECASE,
        ),
        "check the hub's URL: git remote -v",
    ),
    (
        "permission",
        re.compile(
            r"returned error: 403|permission to \S+ denied|access denied|not allowed"
            r"|write access|insufficient permission|forbidden",
            re.IGNORECASE,
        ),
        "your account may not do this on the hub: ask its owner for access",
    ),
    (
        "unreachable",
        re.compile(
            r"could not resolve|connection refused|unable to connect|network is unreachable"
            r"|no route to host|connection timed out|failed to connect|couldn't connect"
            r"|unable to look up|name or service not known|connection reset",
            re.IGNORECASE,
        ),
        "the hub is unreachable: check its URL (git remote -v) and the network",
    ),
]

# failures that happen before anything was sent: a push that failed this way changed nothing
BEFORE_SENDING = {"host key", "auth", "permission", "not found", "unreachable"}


def kind_of(err: str) -> str | None:
    """What went wrong, from git's stderr: one of the kinds above, or None."""
    for kind, pattern, _ in _KINDS:
        if pattern.search(err):
            return kind
    return None


def reason(err: str) -> str:
    """The most telling line of git's stderr (its first `fatal:` line, else the last error),
    cleaned."""
    lines = [clean(line) for line in err.splitlines()]
    lines = [line for line in lines if line and not line.startswith("hint:")]
    fatal = [line for line in lines if line.startswith("fatal:")]
    errors = [line for line in lines if line.startswith(("error:", "ssh:"))]
    best = fatal[0] if fatal else (errors or lines or ["git failed without a message"])[-1]
    return best.removeprefix("fatal: ").removeprefix("error: ")[:300]


def failure(action: str, run: Run, timeout: float) -> GitFailure:
    """The one-line error (and hint) for a network call that failed without a verdict."""
    if run.timed_out:
        return GitFailure(
            f"{action}: timed out after {timeout:g}s", hint=TIMEOUT_HINT.format(seconds=timeout)
        )
    kind = kind_of(run.err)
    hint = next((h for k, _, h in _KINDS if k == kind), None)
    return GitFailure(f"{action}: {reason(run.err)}", hint=hint)
