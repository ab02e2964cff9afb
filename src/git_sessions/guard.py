"""`git sessions guard`: the hub's own check of every ref update (a pre-receive hook), so that
an agent that bypasses git-sessions, or forges what it pushes, is still held to the protocol.

`rule(hub, ref, old, new)` is the one decision, pure over the hub's objects: the hook runs it
for each line git gives it, and a hub on this filesystem runs it in-process before its
compare-and-swap (gitrepo.LocalHub), so both kinds of hub enforce the same rules.

The protocol branch is `protocol_branch` (else `main_branch`) in `_AGENTS/config.yaml` on the
branch the hub's HEAD names, else that branch itself. On it: no deletion, no rewind, and every
commit by which it moves must be legal (legality.py); the parsed content is judged on the new
tip. Other refs pass, except deleting or rewinding the branch of a session that is active.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from git_sessions import legality
from git_sessions.config import Config, parse_config
from git_sessions.errors import BadInput
from git_sessions.gitrepo import LocalHub
from git_sessions.protocol import AGENTS, CONFIG_FILE, SESSIONS, is_slug

MAX_STEPS = 1000  # commits judged per push: an agent pushes one or a few
MAX_SECONDS = 60.0  # and never longer than this (then the push is refused, not hung)
BRANCH_PREFIX = "refs/heads/session/"
ZERO = "0" * 40


@dataclass(frozen=True)
class Settings:
    ref: str  # the protocol branch, refs/heads/<name>
    config: Config


def settings(hub: LocalHub) -> Settings:
    """The protocol branch and config, read from the branch the hub's HEAD names (untrusted:
    a config that does not parse counts as the defaults)."""
    head = hub.head_branch() or "main"
    tip = hub.heads().get(f"refs/heads/{head}")
    config = Config()
    data = hub.snapshot(tip).read(CONFIG_FILE) if tip else None
    if data is not None:
        with contextlib.suppress(BadInput, UnicodeDecodeError):
            config = parse_config(data.decode("utf-8"))
    # protocol_branch arrives with the coordination-ref layout; until then main_branch names it
    branch = getattr(config, "protocol_branch", None) or config.main_branch or head
    return Settings(f"refs/heads/{branch}", config)


def rule(
    hub: LocalHub,
    ref: str,
    old: str | None,
    new: str | None,
    *,
    clock: Callable[[], float] = time.time,
) -> str | None:
    """Why the hub must refuse moving `ref` from `old` to `new` (None: absent), or None."""
    found = settings(hub)
    if ref != found.ref:
        return _other_ref(hub, found.ref, ref, old, new)
    if new is None:
        return f"{ref} is the protocol branch: it may not be deleted"
    if old is None:
        return None  # its creation (init, or the first push of a repository): nothing to keep
    if not hub.objects.is_ancestor(old, new):
        return (
            f"{ref} is the protocol branch: it only moves forward ({old[:10]} is not in {new[:10]})"
        )
    steps = hub.objects.steps(old, new, limit=MAX_STEPS)
    if steps is None:
        return f"more than {MAX_STEPS} commits at once on the protocol branch: push fewer"
    start = clock()
    leases = legality.Leases(
        _ttl(found.config), int(start), lambda: hub.branch_times(BRANCH_PREFIX[11:])
    )
    before = hub.snapshot(old)
    for commit in steps:
        if clock() - start > MAX_SECONDS:
            return f"judging the push took over {MAX_SECONDS:.0f}s: push fewer commits at once"
        info = hub.objects.info(commit)
        after = hub.snapshot(commit)
        step = legality.Step(
            before, after, info.author, hub.objects.committer(commit), info.message
        )
        reason = legality.judge(step, leases)
        if reason is not None:
            return f"commit {commit[:10]} ({info.subject[:60]}): {reason}"
        before = after
    return _content(hub, old, new)


def _ttl(config: Config) -> int:
    from git_sessions.leases import parse_duration

    try:
        return parse_duration(config.lease_ttl)
    except BadInput:
        return parse_duration(Config().lease_ttl)


def _content(hub: LocalHub, old: str, new: str) -> str | None:
    """Files git-sessions parses (plans, journals, patches, config) must still parse on the new
    tip: judged once per push, against the old tip."""
    from git_sessions.check import check_content

    before, after = hub.snapshot(old), hub.snapshot(new)
    if before.object_id(AGENTS) == after.object_id(AGENTS):
        return None
    fresh = legality.new_violations(check_content(before), check_content(after))
    return f"{new[:10]}: {fresh[0]}" if fresh else None


def _other_ref(
    hub: LocalHub, protocol: str, ref: str, old: str | None, new: str | None
) -> str | None:
    """A session branch of an active session may not be deleted or rewound; the rest passes."""
    slug = ref.removeprefix(BRANCH_PREFIX)
    if not ref.startswith(BRANCH_PREFIX) or not is_slug(slug) or old is None:
        return None
    if new is not None and hub.objects.is_ancestor(old, new):
        return None
    tip = hub.heads().get(protocol)
    if tip is None or not hub.snapshot(tip).is_dir(f"{SESSIONS}/active/{slug}"):
        return None
    verb = "deleted" if new is None else "rewound"
    return f"{ref} is the branch of active session {slug}: it may not be {verb}"


# --------------------------------------------------------------------------- the hook


@dataclass(frozen=True)
class Update:
    old: str | None
    new: str | None
    ref: str


def parse_updates(text: str) -> list[Update]:
    """git's pre-receive input: one `<old> <new> <ref>` line per ref (zeros: absent)."""
    found = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        parts = line.split(" ")
        if len(parts) != 3 or not all(len(p) in (40, 64) and _hex(p) for p in parts[:2]):
            raise BadInput(f"not a pre-receive line: {line[:200]!r}")
        old, new, ref = parts
        found.append(
            Update(None if set(old) == {"0"} else old, None if set(new) == {"0"} else new, ref)
        )
    return found


def _hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True)
class Refusal:
    ref: str
    reason: str


def judge_push(git_dir: Path, updates: list[Update], environ: Mapping[str, str]) -> list[Refusal]:
    """Every refused update of one push (git runs the hook in the bare hub, with the pushed
    objects in a quarantine folder it names in the environment)."""
    hub = LocalHub(git_dir, "HEAD")
    own = os.path.realpath(git_dir / "objects")
    incoming = [environ.get("GIT_OBJECT_DIRECTORY", "")]
    incoming += environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", "").split(os.pathsep)
    hub.add_objects([d for d in incoming if d and os.path.realpath(d) != own and os.path.isdir(d)])
    refused = []
    for update in updates:
        reason = rule(hub, update.ref, update.old, update.new)
        if reason is not None:
            refused.append(Refusal(update.ref, reason))
    return refused


def hook_git_dir(environ: Mapping[str, str], cwd: Path) -> Path:
    """The hub the hook runs in: $GIT_DIR, else the current directory (a bare repository)."""
    return (cwd / environ.get("GIT_DIR", ".")).resolve()


# --------------------------------------------------------------------------- install


def hook_text(executable: str | None = None) -> str:
    """`#!/bin/sh` + `exec git-sessions guard`: the command by name if `git-sessions` is on
    PATH (as the hook will see it), else the absolute path of this installation's script."""
    import shlex
    import shutil

    command = executable or ("git-sessions" if shutil.which("git-sessions") else _own_script())
    header = "#!/bin/sh\n# installed by: git sessions guard install\n"
    return f"{header}exec {shlex.quote(command)} guard\n"


def _own_script() -> str:
    """The git-sessions script beside this interpreter (a venv's bin/), else `python -m`."""
    script = Path(sys.executable).with_name("git-sessions")
    if script.is_file() and os.access(script, os.X_OK):
        return str(script)
    raise BadInput(
        "cannot find the git-sessions command for the hook",
        hint="put git-sessions on PATH (pipx install git-sessions) and run this again",
    )


@dataclass(frozen=True)
class Installed:
    path: Path
    updated: bool  # False: it was already this hook


def install(hub: Path, *, force: bool = False, executable: str | None = None) -> Installed:
    """Write the hub's hooks/pre-receive (idempotent; a foreign hook only with `force`)."""
    from git_sessions.gitrepo import guard_hook_installed

    hub = hub.resolve()
    if not (hub / "objects").is_dir() or not (hub / "refs").is_dir():
        raise BadInput(f"{hub} is not a bare git repository", hint="pass the hub: --hub PATH")
    path = hub / "hooks" / "pre-receive"
    text = hook_text(executable)
    try:
        current = path.read_text(errors="replace") if path.exists() else None
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None
    if current == text:
        return Installed(path, updated=False)
    if current is not None and not guard_hook_installed(hub) and not force:
        raise BadInput(
            f"{path} exists and is not the guard's",
            hint="look at it; --force replaces it (call it from elsewhere if you need both)",
        )
    path.parent.mkdir(exist_ok=True)
    temp = path.with_name(f".pre-receive.{os.getpid()}")
    temp.write_text(text)
    temp.chmod(0o755)
    os.replace(temp, path)  # atomic: a push running now sees the old hook or the new one
    return Installed(path, updated=True)
