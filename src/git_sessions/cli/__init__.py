"""Command-line entry point: parse, dispatch, and map errors to exit codes in one place."""

from __future__ import annotations

import os
import sys
import traceback

import typer
from typer._click import exceptions as click_exceptions

from git_sessions.cli import (  # noqa: F401
    agents,
    authoring,
    briefing,
    claiming,
    ending,
    hooks,
    index,
    journal,
    knowledge,
    messages,
    overriding,
    reading,
)
from git_sessions.cli.app import app, printable
from git_sessions.errors import Error

EXIT_BUG = 70
EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit code (DESIGN.md section 3)."""
    command = typer.main.get_command(app)
    try:
        os.getcwd()
    except FileNotFoundError:  # e.g. a shell still inside a worktree that was removed
        sys.stderr.write("error: the current directory no longer exists\n")
        sys.stderr.write("hint: cd to the repository (or pass -C PATH) and run it again\n")
        return 1
    try:
        result = command.main(
            args=sys.argv[1:] if argv is None else argv,
            prog_name="git-sessions",
            standalone_mode=False,
        )
    except Error as exc:
        sys.stderr.write(f"error: {printable(exc.message)}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {printable(exc.hint)}\n")
        return exc.exit_code
    except click_exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception:
        traceback.print_exc()
        sys.stderr.write("error: internal bug in git-sessions; please report the traceback above\n")
        return EXIT_BUG
    return result if isinstance(result, int) else 0
