"""`hooks install` and `hooks uninstall`: the commit-msg hook that links commits to sessions."""

from __future__ import annotations

import typer

from git_sessions.cli.app import app, context, emit_json, note, out
from git_sessions.cli.authoring import JSON

hooks_app = typer.Typer(
    help="Git hooks that link commits to sessions.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(hooks_app, name="hooks")


@hooks_app.command("install")
def hooks_install(
    force: bool = typer.Option(
        False, "--force", help="Keep a foreign commit-msg hook as commit-msg.local, run first."
    ),
    as_json: bool = JSON,
) -> None:
    """Install the commit-msg hook for every worktree of this repository."""
    from git_sessions import hooks

    done = hooks.install(context().ws, force=force)
    if as_json:
        from git_sessions.documents import stamp

        emit_json(
            stamp(
                "hooks",
                {
                    "path": str(done.path),
                    "chained": str(done.chained or "") or None,
                    "updated": done.updated,
                },
            )
        )
        return
    out(f"{'updated' if done.updated else 'installed'} {done.path}")
    if done.chained:
        note(f"it runs {done.chained} first")


@hooks_app.command("uninstall")
def hooks_uninstall() -> None:
    """Remove the commit-msg hook (putting back one it had chained)."""
    from git_sessions import hooks

    removed = hooks.uninstall(context().ws)
    out(f"removed {removed}" if removed else "no git-sessions hook installed")
