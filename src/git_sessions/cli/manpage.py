"""The man page git-sessions(1), generated from the CLI itself, so `git sessions --help` (which
git turns into `man git-sessions`) shows the same commands and options as `-h`.

Regenerate the shipped copy after changing a command:
    python -m git_sessions.cli.manpage > man/man1/git-sessions.1
(a test fails while the committed page differs from this output).
"""

from __future__ import annotations

import sys
from typing import Any

EXIT_CODES = (
    ("0", "success"),
    ("1", "bad input or unmet precondition"),
    ("2", "usage error: unknown command or option, missing argument"),
    ("3", "conflict: already claimed, illegal transition, merge conflict, race lost"),
    ("4", "git or remote failure"),
    ("70", "internal bug in git-sessions"),
    ("130", "interrupted"),
)


def _esc(text: str) -> str:
    """Roff-safe text: backslashes and hyphens escaped, no line starting with a control dot."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = text.split("\n")
    return "\n".join(("\\&" + x if x.startswith((".", "'")) else x) for x in lines)


def _options(command: Any, ctx: Any) -> list[str]:
    lines: list[str] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        if param.param_type_name == "argument":  # typer adds the Python type: keep the name
            names = names.split(" <")[0]
        lines += [".TP", f"\\fB{_esc(names)}\\fR", _esc(help_text or "")]
    return lines


def _commands(group: Any, ctx: Any, prefix: str) -> list[str]:
    import typer

    lines: list[str] = []
    for name in sorted(group.list_commands(ctx)):  # not registration order: commands load lazily
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = typer.Context(command, info_name=name, parent=ctx)
        path = f"{prefix} {name}".strip()
        if hasattr(command, "list_commands"):
            if getattr(command, "invoke_without_command", False):  # `guard` runs by itself too
                lines += [".SS", f"\\fBgit sessions {_esc(path)}\\fR"]
                lines += [_esc((command.help or "").strip()).replace("\n\n", "\n.PP\n")]
            lines += _commands(command, sub, path)
            continue
        usage = " ".join(command.collect_usage_pieces(sub))
        lines += [".SS", f"\\fBgit sessions {_esc(path)}\\fR {_esc(usage)}"]
        lines += [_esc((command.help or "").strip()).replace("\n\n", "\n.PP\n")]
        lines += [".RS", *_options(command, sub), ".RE"]
    return lines


def render() -> str:
    """The whole page, in roff (man(7) macros)."""
    import typer

    from git_sessions import __version__
    from git_sessions.cli import load_all
    from git_sessions.cli.app import app

    load_all()

    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="git-sessions", **root.context_settings)
    lines = [
        f'.TH GIT\\-SESSIONS 1 "" "git-sessions {__version__}" "git-sessions manual"',
        ".SH NAME",
        "git\\-sessions \\- " + _esc(root.help or ""),
        ".SH SYNOPSIS",
        "\\fBgit sessions\\fR [\\fB\\-C\\fR \\fIDIR\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
        ".br",
        "\\fBgit\\-sessions\\fR \\fICOMMAND\\fR \\fB\\-h\\fR",
        ".SH DESCRIPTION",
        "Sessions are folders under \\fI_AGENTS/sessions/<state>/<slug>/\\fR on the hub's main"
        " branch; every state change is one commit published by compare\\-and\\-swap."
        " Read commands take \\fB\\-\\-json\\fR and print a document with"
        ' \\fB"schema": "git\\-sessions/<name>/v1"\\fR; \\fBgit sessions schema\\fR lists'
        " the JSON Schemas. \\fBgit sessions mcp\\fR serves the same operations to MCP clients.",
        ".PP",
        "Short options mean the same everywhere: \\fB\\-C\\fR directory, \\fB\\-s\\fR session,"
        " \\fB\\-c\\fR capability, \\fB\\-p\\fR priority, \\fB\\-m\\fR message, \\fB\\-r\\fR"
        " reason or rationale, \\fB\\-n\\fR next step, \\fB\\-k\\fR category,"
        " \\fB\\-v\\fR verbose, \\fB\\-h\\fR help.",
        ".SH OPTIONS",
        *_options(root, ctx),
        ".SH COMMANDS",
        *_commands(root, ctx, ""),
        ".SH EXIT STATUS",
    ]
    for code, meaning in EXIT_CODES:
        lines += [".TP", f"\\fB{code}\\fR", _esc(meaning)]
    lines += [
        ".PP",
        "Errors are one line on standard error, \\fBerror: ...\\fR, often followed by"
        " \\fBhint: ...\\fR; with \\fB\\-\\-json\\fR also a git\\-sessions/error/v1 document on"
        " standard output.",
        ".SH SEE ALSO",
        "\\fBgit\\fR(1), \\fBgit\\-worktree\\fR(1);"
        " README.md and docs/commands.md of git\\-sessions.",
    ]
    return "\n".join(line for line in lines if line != "") + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
