"""What the server imports before it forks, and the files it has loaded (to notice when they
change on disk: a child of a stale server would run old code)."""

from __future__ import annotations

import contextlib
import os
import pkgutil
import sys
from importlib import import_module

# Not preloaded: the entry points (importing __main__ would run a command), the MCP server
# (its optional dependency is heavy and `mcp` runs in-process anyway) and the man page writer.
# Imported lazily by typer's click on a command's first run (found by comparing sys.modules
# before and after running commands in a preloaded process): every child's run is a first run.
LAZY = ("typer._click.decorators", "typer._click._textwrap", "encodings.ascii")
SKIP = frozenset({"git_sessions.__main__", "git_sessions.mcpserver", "git_sessions.cli.manpage"})


def everything() -> None:
    """Import every module a command may use: ours (all cli modules) and the heavy libraries
    (pygit2 through git_sessions.gitrepo)."""
    import filelock  # noqa: F401
    import jinja2  # noqa: F401
    import typer.main  # noqa: F401
    import yaml  # noqa: F401

    import git_sessions
    from git_sessions.cli import load_all

    load_all()
    for info in pkgutil.walk_packages(git_sessions.__path__, "git_sessions."):
        if info.name not in SKIP:
            import_module(info.name)
    for name in LAZY:
        with contextlib.suppress(ImportError):  # another typer: only slower
            import_module(name)


def snapshot(previous: dict[str, tuple[int, int]] | None = None) -> dict[str, tuple[int, int]]:
    """(mtime_ns, size) of every loaded module's file (of the files in `previous`, if given:
    a module imported later by a child does not matter to the server)."""
    paths = previous.keys() if previous is not None else _module_files()
    found: dict[str, tuple[int, int]] = {}
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            found[path] = (-1, -1)
            continue
        found[path] = (info.st_mtime_ns, info.st_size)
    return found


def _module_files() -> list[str]:
    files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
    return sorted(f for f in files if isinstance(f, str) and os.path.isabs(f))
