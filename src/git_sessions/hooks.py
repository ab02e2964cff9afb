"""The commit-msg hook that links commits to sessions, and its installation.

The hook is a few lines of POSIX sh (no Python start-up on every commit). While a session is
active it requires `[<slug>] <type>: <description>` and adds a `Session: <slug>` trailer; the
session is $SESSION_ID, else the worktree's folder name, else the branch `session/<slug>`. It
goes into the common git dir's hooks (or core.hooksPath), so every worktree runs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from git_sessions.errors import Conflict

if TYPE_CHECKING:
    from git_sessions.gitrepo import Workspace

HOOK = "commit-msg"
LOCAL = "commit-msg.local"  # a hook that was there before ours; ours runs it first
MARKER = "# git-sessions commit-msg hook"
TYPES = (
    "feat",
    "fix",
    "refactor",
    "docs",
    "test",
    "chore",
    "perf",
    "build",
    "ci",
    "style",
    "revert",
    "wip",
    "recover",
    "OVERRIDE",  # seed 004: the audited change of a frozen plan (git sessions override)
)

_SCRIPT = r"""#!/bin/sh
{marker} (installed by `git sessions hooks install`; reinstalling replaces it)
# While a session is active ($SESSION_ID, or a worktree folder or branch named after it), a
# commit message must start with "[<slug>] <type>: <description>"; "Session: <slug>" is added.
here=$(dirname "$0")
if [ -x "$here/{local}" ]; then
  "$here/{local}" "$@" || exit $?
fi
slug=${{SESSION_ID:-}}
if [ -z "$slug" ]; then
  # git runs hooks at the top of the worktree, which is named after its session
  case ${{PWD##*/}} in
    [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-?*|kb-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-?*)
      slug=${{PWD##*/}} ;;
  esac
fi
if [ -z "$slug" ]; then
  branch=$(git symbolic-ref -q --short HEAD 2>/dev/null) || branch=
  case $branch in session/?*) slug=${{branch#session/}} ;; esac
fi
[ -n "$slug" ] || exit 0
subject=$(sed -n '/^#/d; /^[[:space:]]*$/d; p; q' "$1")
case $subject in
  "Merge "*|"Revert \""*|"fixup! "*|"squash! "*|"amend! "*) exit 0 ;;
esac
if ! printf '%s\n' "$subject" | grep -Eq "^\[$slug\] ({types})(\([^)]*\))?!?: [^[:space:]]"; then
  want="[$slug] <type>: <description>"
  echo "error: session $slug is active: the commit message must start with \"$want\"" >&2
  echo "hint: e.g. \"[$slug] feat: add the login form\"; types: {spaced}" >&2
  exit 1
fi
exec git interpret-trailers --in-place --if-exists doNothing --trailer "Session: $slug" "$1"
"""


def script() -> str:
    """The hook's text."""
    return _SCRIPT.format(marker=MARKER, local=LOCAL, types="|".join(TYPES), spaced=" ".join(TYPES))


def hooks_dir(ws: Workspace) -> Path:
    """Where git looks for hooks: core.hooksPath if set, else the common git dir's hooks."""
    configured = ws.config("core.hooksPath")
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else ws.root / path
    return ws.common_dir / "hooks"


def is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(errors="replace")
    except OSError:
        return False


@dataclass(frozen=True)
class Installed:
    path: Path
    chained: Path | None  # a previous hook, kept and run first
    updated: bool  # ours was there already


def install(ws: Workspace, *, force: bool = False) -> Installed:
    """Install the commit-msg hook; a foreign hook is refused, or with `force` kept as
    commit-msg.local and run first."""
    directory = hooks_dir(ws)
    target, local = directory / HOOK, directory / LOCAL
    updated = target.exists() and is_ours(target)
    if target.exists() and not updated:
        if not force:
            raise Conflict(
                f"{target} exists and is not git-sessions' hook",
                hint=f"pass --force to keep it as {LOCAL}, run before ours",
            )
        if local.exists():
            raise Conflict(f"{local} exists too", hint="merge the two hooks by hand")
        os.replace(target, local)
    directory.mkdir(parents=True, exist_ok=True)
    temp = directory / f".{HOOK}.tmp-{os.getpid()}"
    temp.write_text(script())
    temp.chmod(0o755)
    os.replace(temp, target)
    return Installed(target, local if local.exists() else None, updated)


def uninstall(ws: Workspace) -> Path | None:
    """Remove our hook (putting back a chained one); the removed path, or None if not ours."""
    directory = hooks_dir(ws)
    target, local = directory / HOOK, directory / LOCAL
    if not is_ours(target):
        return None
    target.unlink()
    if local.exists():
        os.replace(local, target)
    return target
