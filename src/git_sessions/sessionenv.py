"""Which session a command acts on, and its `.session-env` read from the session's own worktree.

Both run without opening the repository (no pygit2, no config), so `git sessions env`, which
agents call in every shell they start, costs little more than the interpreter's start-up.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from git_sessions.errors import BadInput
from git_sessions.protocol import ENV_FILE, SESSIONS, check_slug


def current_slug(explicit: str | None, cwd: Path, environ: dict[str, str]) -> str:
    """The session a command acts on: the argument, $SESSION_ID, or the worktree we are in."""
    if explicit:
        return check_slug(explicit)
    if environ.get("SESSION_ID"):
        return check_slug(environ["SESSION_ID"])
    for part in reversed(cwd.parts):
        if part.startswith(("20", "kb-")):
            try:
                return check_slug(part)
            except BadInput:
                continue
    raise BadInput("no current session", hint="name the session, or source its .session-env")


def worktree_env_text(start: Path, slug: str) -> str | None:
    """The `.session-env` in the worktree of `slug` that `start` is inside, if it is one.

    A session's worktree is the folder named by its slug, holding a `.git` file (a linked
    worktree). No component below it may be a symlink: the file is hub content."""
    for folder in (start, *start.parents):
        if folder.name != slug:
            continue
        try:
            if not stat.S_ISREG(os.lstat(folder / ".git").st_mode):
                continue
        except OSError:
            continue
        path = folder
        for part in (*f"{SESSIONS}/active/{slug}".split("/"), ENV_FILE):
            path = path / part
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                return None
            if stat.S_ISLNK(mode):
                return None
        if not stat.S_ISREG(mode):
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    return None
