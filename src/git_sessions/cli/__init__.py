"""Command-line entry point: parse, dispatch, and map errors to exit codes in one place."""

from __future__ import annotations

import os
import sys
from importlib import import_module

from git_sessions.errors import Error

# Not typing.TYPE_CHECKING: importing typing (and re) costs a command ~5 ms before it can even
# hand itself to the command server (mypy treats any TYPE_CHECKING name as true).
TYPE_CHECKING = False

if TYPE_CHECKING:
    import typer
    from typer._click import exceptions as click_exceptions

EXIT_BUG = 70
EXIT_INTERRUPTED = 130

# Start-up is most of what a command costs (agents run hundreds per session), so a command
# imports only the module that registers it, and each command function imports the core
# modules it needs inside its body (pygit2, jinja2, yaml are imported by core modules only).
# When you add a command, add it here under the module that defines it; a name missing from
# this table still works (every module is imported, as for --help), only slower, and
# tests/test_startup.py fails until the table is complete.
COMMANDS: dict[str, str] = {
    **dict.fromkeys(("queue", "watch", "heartbeat", "reap", "spawn"), "agents"),
    **dict.fromkeys(("init", "new", "ready", "unready"), "authoring"),
    **dict.fromkeys(("claim", "env", "release", "bootstrap"), "claiming"),
    **dict.fromkeys(("complete", "abandon", "drift", "learn"), "ending"),
    **dict.fromkeys(
        (
            "log",
            "decision",
            "milestone",
            "blocker",
            "unblock",
            "metric",
            "crash",
            "recover",
            "handoff",
            "history",
            "status",
            "search",
        ),
        "journal",
    ),
    **dict.fromkeys(("list", "show", "check"), "reading"),
    **dict.fromkeys(("message", "inbox"), "messages"),
    "context": "briefing",
    "hooks": "hooks",
    "guard": "guard",
    "journal": "index",
    "acknowledge": "knowledge",
    "override": "overriding",
    **dict.fromkeys(("schema", "completion", "mcp"), "interfaces"),
    "board": "board",
    "gc": "gc",
    "review": "review",
    **dict.fromkeys(("land", "migrate"), "layout"),
    "server": "server",
}
MODULES = (
    "agents",
    "authoring",
    "board",
    "briefing",
    "claiming",
    "ending",
    "gc",
    "guard",
    "hooks",
    "index",
    "interfaces",
    "journal",
    "knowledge",
    "layout",
    "messages",
    "overriding",
    "reading",
    "review",
    "server",
)


def command_name(args: list[str]) -> str | None:
    """The subcommand `args` run (skipping the root's `-C PATH`), or None for help and the like."""
    rest = iter(args)
    for arg in rest:
        if arg == "-C":
            next(rest, None)
        elif arg.startswith("-C"):
            continue
        elif arg.startswith("-"):
            return None  # --help and other root options: show everything
        else:
            return arg
    return None


def load_all() -> None:
    """Register every command (help, the man page, completion)."""
    for name in MODULES:
        import_module(f"git_sessions.cli.{name}")


def load_commands(args: list[str]) -> None:
    """Import the command module `args` needs (all of them when unsure)."""
    module = COMMANDS.get(command_name(args) or "")
    for name in (module,) if module else MODULES:
        import_module(f"git_sessions.cli.{name}")


def _only(app: typer.Typer, name: str | None) -> typer.Typer:
    """`app` with only command `name` (and the root options): building click's commands for
    every command the imported modules register costs ~10 ms a start. The whole app for help,
    a name that is not one plain command (click then says "no such command") or a group."""
    import copy

    from typer.main import get_command_name

    def named(info: typer.models.CommandInfo) -> str | None:
        callback = info.callback
        return info.name or (get_command_name(callback.__name__) if callback else None)

    commands = [c for c in app.registered_commands if named(c) == name]
    groups = {g.name for g in app.registered_groups}
    if name is None or len(commands) != 1 or name in groups:
        return app
    only = copy.copy(app)  # every setting kept; only the lists of what to build differ
    only.registered_commands = commands
    only.registered_groups = []
    return only


def _wants_json(args: list[str]) -> bool:
    """--json among the options (not after `--`): errors then also go to stdout as JSON."""
    return "--json" in (args[: args.index("--")] if "--" in args else args)


def _fail(code: str, exit_code: int, message: str, hint: str | None, *, as_json: bool) -> int:
    """The one place an error is shown: one `error:` line (and a `hint:`) on stderr, and with
    --json the same as a git-sessions/error/v1 object on stdout."""
    from git_sessions.cli.app import printable

    if as_json:
        from git_sessions import documents
        from git_sessions.cli.app import emit_json

        emit_json(documents.error(code, exit_code, message, hint))
    sys.stderr.write(f"error: {printable(message)}\n")
    if hint:
        sys.stderr.write(f"hint: {printable(hint)}\n")
    return exit_code


def _usage_hint(exc: click_exceptions.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "git-sessions"
    return f"see: {where} --help"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit code (DESIGN.md section 3)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:  # answered before typer is even imported
        from git_sessions import __version__

        sys.stdout.write(f"git-sessions {__version__}\n")
        return 0
    from git_sessions.cli import fast

    # A cached queue, env in a worktree: answered here without typer, before the command
    # server is asked (in-process this costs less than a fork: bench/run.py --only server).
    answered = fast.answer(args, os.environ)
    if answered is not None:
        return answered
    if argv is None and os.environ.get("GIT_SESSIONS_SERVER") == "1":
        # A process entry with the command server on (docs/server.md): a preloaded child runs
        # the command with this process's stdio; None means run it here after all. Called with
        # `argv`, main is a library call (tests, the server's own children): never forwarded.
        from git_sessions.cmdserver import client

        served = client.run(sys.argv)
        if served is not None:
            return served
    import typer
    from typer._click import exceptions as click_exceptions

    from git_sessions.cli import coercion
    from git_sessions.cli.app import app

    load_commands(args)
    command = typer.main.get_command(_only(app, command_name(args)))
    coercion.install(command)
    try:
        os.getcwd()
    except FileNotFoundError:  # e.g. a shell still inside a worktree that was removed
        sys.stderr.write("error: the current directory no longer exists\n")
        sys.stderr.write("hint: cd to the repository (or pass -C PATH) and run it again\n")
        return 1
    as_json = _wants_json(args)
    try:
        result = command.main(
            args=args,
            prog_name="git-sessions",
            standalone_mode=False,
        )
    except Error as exc:
        return _fail(exc.code, exc.exit_code, exc.message, exc.hint, as_json=as_json)
    except click_exceptions.NoArgsIsHelpError as exc:
        # `git sessions` or `git sessions hooks` alone: the help is the answer, not an error
        sys.stdout.write(exc.format_message() + "\n")
        return 0
    except click_exceptions.ClickException as exc:
        # usage errors (exit 2) too: one line, not click's multi-line "Error:" box
        message = " ".join(exc.format_message().split())
        hint = _usage_hint(exc) if exc.exit_code == 2 else None
        code = "usage" if exc.exit_code == 2 else "bad_input"
        return _fail(code, exc.exit_code, message, hint, as_json=as_json)
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception:
        import traceback

        if as_json:
            from git_sessions import documents
            from git_sessions.cli.app import emit_json

            emit_json(documents.error("bug", EXIT_BUG, "internal bug in git-sessions", None))
        traceback.print_exc()
        sys.stderr.write("error: internal bug in git-sessions; please report the traceback above\n")
        return EXIT_BUG
    return result if isinstance(result, int) else 0
