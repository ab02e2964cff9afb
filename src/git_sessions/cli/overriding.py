"""`override`: change a claimed session's frozen plan, audited (seed 004's OVERRIDE)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from git_sessions.cli.app import app, context, emit_json, note, out, session_slug, start_directory
from git_sessions.cli.authoring import AGENT, EMAIL, JSON
from git_sessions.errors import BadInput

SLUG = typer.Argument(None, help="The session (default: $SESSION_ID or the worktree you are in).")


def _read_plan(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_absolute():
        path = start_directory() / path
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read the new plan from {source}: {exc}") from None


def _edit(path: Path) -> None:
    """Run the user's editor on the unlocked SESSION.md (the user's own command, not the hub's)."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise BadInput(
            "no editor: set $EDITOR, or edit the unlocked file and run override again",
            hint=f"unlocked {path}; or pass the new plan with --file PATH (or --file - for stdin)",
        )
    from git_sessions.runner import run_editor

    code = run_editor(editor, path)
    if code != 0:
        raise BadInput(f"the editor exited with {code}; nothing was overridden")


@app.command()
def override(
    slug: str | None = SLUG,
    reason: str | None = typer.Option(None, "--reason", "-r", help="Why the plan must change."),
    file: str | None = typer.Option(
        None, "--file", "-f", help="Take the new SESSION.md from this file ('-': stdin)."
    ),
    unlock: bool = typer.Option(
        False, "--unlock", help="Only make the worktree's SESSION.md writable and print its path."
    ),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Change the frozen plan of an active session, audited as `[<slug>] OVERRIDE: <reason>`.

    The new plan comes from --file, else from the worktree's SESSION.md if you edited it after
    --unlock, else from $VISUAL/$EDITOR run on it. One commit on main (by compare-and-swap,
    holder checked) and one on the session branch; the reason goes to the worklog; the file is
    read-only again afterwards.
    """
    from git_sessions import overrides
    from git_sessions.journal import session_identity

    ctx = context()
    name = session_slug(slug)
    if unlock:
        path = overrides.unlock(ctx, name)
        if as_json:
            from git_sessions.documents import stamp

            emit_json(stamp("unlock", {"slug": name, "path": str(path)}))
        else:
            out(str(path))
            note(f'edit it, then: git sessions override {name} --reason "..."')
        return
    why = overrides.clean_reason(reason)
    who = ctx.identity(agent, email) if agent or email else session_identity(ctx, name, os.environ)
    if file is not None:
        done = overrides.override(ctx, name, _read_plan(file), why, who)
    else:
        path = overrides.unlock(ctx, name)
        try:
            plan = path.read_text()
            if plan == ctx.main().text(overrides.plan_path(name)):
                _edit(path)
                plan = path.read_text()
            done = overrides.override(ctx, name, plan, why, who)
        finally:
            overrides.refreeze(ctx, name)  # read-only again, whatever happened
    if as_json:
        from git_sessions.documents import stamp

        emit_json(stamp("override", done.to_json()))
        return
    out(f"overrode the plan of {name}: {why} ({done.main_commit[:10]})")
    if done.note:
        note(f"note: {done.note}")
