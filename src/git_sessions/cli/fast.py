"""The hottest read paths answered without importing typer (GIT_SESSIONS_NO_FAST=1 turns it off).

Agents poll `queue` and run `env` in every shell they start; importing typer and building its
click command costs ~35 ms of such a call, more than the answer itself when the queue cache
hits or the session's worktree holds its `.session-env`. For exactly those two commands, this
module reads the argument list the way click does and calls the same functions the typer
commands call. It only ever answers with success: an option it does not know exactly, an
error, a cache miss or any doubt returns None, and main() runs the command through typer as
always, which then prints the error or does the work. So the output, stderr and exit code are
the typer path's by construction; tests/test_fast.py runs a table of argument lists both ways.
"""

from __future__ import annotations

import os
import sys

# Nothing here, nor in what a cached queue imports (queuecache, gitfiles, plancache), imports
# typing, pathlib, json or re: ~10 ms of a ~30 ms call, where python itself starts in ~9 ms
# (tests/test_fast.py pins it)
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

OFF = "GIT_SESSIONS_NO_FAST"


def answer(args: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """The exit code after answering `args` here, or None: run the command through typer."""
    if environ.get(OFF) or any(k.startswith("_") and k.endswith("_COMPLETE") for k in environ):
        return None  # turned off, or click's shell completion asking (typer answers that)
    split = _root(args)
    if split is None:
        return None
    directory, command, rest = split
    try:
        os.getcwd()  # gone: typer's path says so in its own words
        if os.path.exists(directory) and not os.access(directory, os.R_OK):
            return None  # typer refuses an unreadable -C path: its words too
        start = os.path.realpath(directory)  # as Path.resolve() does
        if command == "queue":
            text = _queue(start, rest, environ)
        elif command == "env":
            text = _env(start, rest, environ)
        else:
            return None
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")  # as main() does on the typer path
        return 130
    except Exception:  # never answer in doubt: the typer path reports it (or its bug)
        return None
    if text is None:
        return None
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        return 0  # as main() does on the typer path
    return 0


def _root(args: Sequence[str]) -> tuple[str, str, list[str]] | None:
    """(the -C directory, the command, its arguments) when the root options are only one
    `-C PATH` or `-CPATH`; None for anything else (help, --version among others, a repeat)."""
    directory: str | None = None
    index = 0
    while index < len(args) and args[index].startswith("-"):
        arg = args[index]
        if directory is not None or not arg.startswith("-C"):
            return None
        if arg == "-C":
            if index + 1 >= len(args):
                return None
            directory = args[index + 1]
            index += 2
        else:
            directory = arg[2:]
            index += 1
        if not directory or directory.startswith(("-", "=")):
            return None  # click reads these in ways not worth mirroring
    if index >= len(args):
        return None
    return directory or ".", args[index], list(args[index + 1 :])


def _value(option: str, rest: list[str], index: int) -> tuple[str, int] | None:
    """The value of the option at `index` (spelled `-c X`, `-cX`, `--capability X` or
    `--capability=X`) and the index after it; None when it is not one of those."""
    if option in ("-c", "--capability"):
        value = rest[index + 1] if index + 1 < len(rest) else ""
        step = 2
    elif option.startswith("--capability="):
        value, step = option[len("--capability=") :], 1
    elif option.startswith("-c") and not option.startswith("--"):
        value, step = option[2:], 1
    else:
        return None
    if not value or value.startswith(("-", "=")):
        return None  # missing, or a value click may read as an option: let it decide
    return value, index + step


def _queue(start: str, rest: list[str], environ: Mapping[str, str]) -> str | None:
    """`queue`'s stored answer when the queue cache holds it (as cli/agents.py asks for it)."""
    from git_sessions import queuecache

    capabilities: list[str] = []
    show_all = as_json = False
    index = 0
    while index < len(rest):
        option = rest[index]
        if option == "--json":
            as_json, index = True, index + 1
        elif option == "--all":
            show_all, index = True, index + 1
        else:
            found = _value(option, rest, index)
            if found is None:
                return None
            capability, index = found
            capabilities.append(capability)
    question = queuecache.Question(start, tuple(capabilities), show_all, as_json)
    return queuecache.lookup(question, environ)


def _env(start: str, rest: list[str], environ: Mapping[str, str]) -> str | None:
    """`env`'s export lines from the session worktree we are in (as cli/claiming.py does)."""
    from pathlib import Path

    from git_sessions.errors import Error
    from git_sessions.sessionenv import current_slug, exports_text, worktree_env_text

    if len(rest) > 1 or any(not arg or arg.startswith("-") for arg in rest):
        return None  # --json, -h, a second argument, `--`: typer's
    try:
        name = current_slug(rest[0] if rest else None, Path(start), dict(environ))
        text = worktree_env_text(Path(start), name)
        return None if text is None else exports_text(name, text)
    except Error:
        return None
