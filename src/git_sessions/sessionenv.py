""".session-env: generated data, never a template and never re-emitted as committed.

The file is sourced by shells (`source .../.session-env`, `eval "$(git sessions env)"`), and
anyone who can push can edit it on main. So it is rendered here, in code, from validated values;
read back by splitting on `\n` only (`str.splitlines` also splits on `\r`, `\x0b`, `\x85`,
`\u2028`...) and validated again; and `env` prints a fresh rendering of the parsed values, so a
committed line is never printed as it stands. `check` compares main's file byte for byte with
the rendering of its own values: any hand edit shows.

Finding the current session and reading its `.session-env` from the session's own worktree run
without opening the repository (no pygit2, no config), so `git sessions env`, which agents call
in every shell they start, costs little more than the interpreter's start-up.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from git_sessions.edits import Identity
from git_sessions.errors import BadInput
from git_sessions.protocol import ENV_FILE, SESSIONS, check_slug

NAMES = (
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
)
MAX_IDENTITY = 1024
_PORT = re.compile(r"[1-9][0-9]{0,4}")


def has_control(text: str) -> bool:
    """Control, format and line/paragraph separator characters: anything a terminal or a line
    splitter may act on (C0, DEL, C1, \\u200e, \\u2028, ...)."""
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)


def check_identity(name: str, email: str) -> Identity:
    """An agent identity fit for commits and .session-env; BadInput otherwise."""
    for what, value in (("name", name), ("email", email)):
        if not value.strip() or len(value) > MAX_IDENTITY:
            raise BadInput(f"an agent {what} must be 1 to {MAX_IDENTITY} characters")
        if has_control(value) or "<" in value or ">" in value:
            raise BadInput(
                f"an agent {what} may not contain control characters or angle brackets",
                hint="pass a plain --agent NAME and --email E",
            )
    return Identity(name, email)


@dataclass(frozen=True)
class SessionEnv:
    slug: str
    who: Identity
    worktree: str  # absolute, on the claiming machine
    port: int

    @property
    def branch(self) -> str:
        return f"session/{self.slug}"

    @property
    def session_dir(self) -> str:
        return f"{self.worktree}/{SESSIONS}/active/{self.slug}"

    def exports(self) -> dict[str, str]:
        return dict(
            zip(
                NAMES,
                (
                    self.who.name,
                    self.who.email,
                    self.who.name,
                    self.who.email,
                    self.slug,
                    self.slug,
                    self.branch,
                    self.worktree,
                    self.session_dir,
                    str(self.port),
                ),
                strict=True,
            )
        )


def make(slug: str, who: Identity, worktree: str, port: int) -> SessionEnv:
    """Validated values: what a claim may write."""
    check_slug(slug)
    check_identity(who.name, who.email)
    if not worktree.startswith("/") or has_control(worktree) or len(worktree) > 4096:
        raise BadInput(f"the worktree path {worktree!r} cannot go into .session-env")
    if not 0 < port < 65536:
        raise BadInput(f"session port {port} is out of range")
    return SessionEnv(slug, who, worktree, port)


def export_lines(env: SessionEnv) -> str:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.exports().items())


def render(env: SessionEnv) -> str:
    """The whole .session-env, as a claim writes it."""
    return (
        f"# Session environment for {env.slug}, written by git-sessions at claim.\n"
        f"# Source it to work as this session's agent:  source {env.session_dir}/.session-env\n"
        + export_lines(env)
    )


def parse(text: str) -> dict[str, str]:
    """The `export NAME=value` lines we know, unquoted as the shell would (lines split on
    `\\n` only; a line that is not one shell word after `=` is left out)."""
    values: dict[str, str] = {}
    for line in text.split("\n"):
        if not line.startswith("export ") or "=" not in line:
            continue
        name, _, raw = line[len("export ") :].partition("=")
        if name not in NAMES:
            continue
        try:
            words = shlex.split(raw)
        except ValueError:
            continue
        if len(words) == 1:
            values[name] = words[0]
    return values


def from_text(text: str) -> SessionEnv:
    """The values of a .session-env, checked for consistency; BadInput if it is not one that
    a claim could have written."""
    values = parse(text)
    missing = [n for n in NAMES if n not in values]
    if missing:
        raise BadInput(f".session-env lacks {', '.join(missing)}")
    if not _PORT.fullmatch(values["SESSION_PORT"]):
        raise BadInput(".session-env has an invalid SESSION_PORT")
    who = Identity(values["GIT_AUTHOR_NAME"], values["GIT_AUTHOR_EMAIL"])
    env = make(values["SESSION_ID"], who, values["SESSION_WORKTREE"], int(values["SESSION_PORT"]))
    if env.exports() != {n: values[n] for n in NAMES}:
        raise BadInput(".session-env values do not agree with each other")
    return env


def is_generated(text: str) -> bool:
    """True if `text` is exactly what a claim renders for the values it holds."""
    try:
        return render(from_text(text)) == text
    except BadInput:
        return False


def checked(slug: str, text: str) -> SessionEnv:
    """The validated values of `slug`'s .session-env `text`; BadInput naming the session."""
    try:
        return from_text(text)
    except BadInput as exc:
        raise BadInput(
            f"the .session-env of {slug} is not one git-sessions writes: {exc.message}",
            hint="it was edited by hand; see: git sessions check",
        ) from None


def exports_text(slug: str, text: str) -> str:
    """`export` lines rendered afresh from the validated values of .session-env `text`."""
    return export_lines(checked(slug, text))


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
