"""The typer app, the global options and the rendering helpers every command shares."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from git_sessions.api import Repository
    from git_sessions.context import Context

# -h everywhere: click hands the names down from the group to every command's context
HELP = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="git-sessions",
    help="Coordinate many coding agents on one git repository: sessions, atomic claims, worktrees.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings=HELP,
)


_start = {"directory": Path(".")}


def _version(value: bool) -> None:
    if value:
        from git_sessions import __version__

        out(f"git-sessions {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    directory: Path = typer.Option(
        Path("."), "-C", help="Run as if started in this directory.", show_default=False
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    _start["directory"] = directory


def start_directory() -> Path:
    """The -C directory (default: the current one); relative paths in options resolve here."""
    return _start["directory"]


def session_slug(explicit: str | None) -> str:
    """The session a command acts on: the argument, $SESSION_ID, or the worktree of -C."""
    from git_sessions.sessionenv import current_slug

    return current_slug(explicit, start_directory().resolve(), dict(os.environ))


def repository(agent: str | None = None, email: str | None = None) -> Repository:
    """The API handle on the repository the command runs in (see `context`); the CLI passes
    its environment, so a sourced .session-env names the session's identity."""
    from git_sessions.api import Repository

    return Repository(
        _start["directory"].resolve(), agent=agent, email=email, environ=dict(os.environ)
    )


def complete_slug(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion for session slugs: the sessions on the hub's main, read without
    fetching when the hub is local. Any failure completes nothing (never an error in a shell)."""
    from git_sessions.errors import Error

    root = ctx.find_root().params.get("directory") or Path(".")
    try:
        from git_sessions.api import Repository

        listed = Repository(Path(root).resolve()).list()
    except (Error, OSError):
        return []
    return [s.slug for s in listed.sessions if s.slug.startswith(incomplete)]


def context() -> Context:
    """Open the repository the command runs in (the -C directory, default the current one)."""
    from git_sessions.context import open_context

    return open_context(_start["directory"].resolve())


def emit_json(data: Any, *, line: bool = False) -> None:
    """Indented JSON for small answers; compact for big lists (json's C encoder only runs
    without indent) and, with `line`, one object per line for event streams."""
    sys.stdout.write(json_text(data, line=line))
    sys.stdout.flush()


def json_text(data: Any, *, line: bool = False) -> str:
    """What emit_json writes (a line)."""
    lists = data.values() if isinstance(data, dict) else [data]
    big = any(isinstance(v, list) and len(v) > 200 for v in lists)
    indent = None if line or big else 2
    return json.dumps(data, indent=indent, sort_keys=True) + "\n"


# Control characters (but \t and \n) and bidi overrides shown as U+FFFD: text from the hub
# (titles, plans, worklogs) must not move the cursor, retitle the terminal or reorder a line.
_CONTROLS = (range(0x00, 0x09), range(0x0B, 0x20), range(0x7F, 0xA0))
_BIDI = (range(0x202A, 0x202F), range(0x2066, 0x206A))
_UNPRINTABLE = {c: "\ufffd" for block in (*_CONTROLS, *_BIDI) for c in block}


def printable(text: str) -> str:
    return text.translate(_UNPRINTABLE)


def out(text: str = "") -> None:
    sys.stdout.write(printable(text) + "\n")


def note(text: str) -> None:
    """Progress and hints for humans go to stderr, so stdout stays parseable."""
    sys.stderr.write(printable(text) + "\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned table; the last column is not padded."""
    if not rows:
        return ""
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers) - 1)]
    lines = []
    for row in cells:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)
