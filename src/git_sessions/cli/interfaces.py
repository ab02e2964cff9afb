"""Commands for programs rather than people: schema (the JSON Schemas of --json output),
completion (shell scripts) and mcp (the Model Context Protocol server over stdio)."""

from __future__ import annotations

import typer

from git_sessions.cli.app import app, emit_json, out


def _complete_schema(incomplete: str) -> list[str]:
    from git_sessions.schemas import names

    return [n for n in names() if n.startswith(incomplete)]


@app.command()
def schema(
    name: str | None = typer.Argument(
        None,
        help="A schema name, e.g. claim (default: list them).",
        autocompletion=_complete_schema,
    ),
    as_json: bool = typer.Option(False, "--json", help="With no NAME: list them as JSON."),
) -> None:
    """Print the JSON Schema (draft 2020-12) of a --json output, or list the schema names."""
    from git_sessions import documents, schemas

    if name is None:
        if as_json:
            emit_json(documents.schemas(schemas.names()))
        else:
            out("\n".join(f"{n:<12} {documents.schema_id(n)}" for n in schemas.names()))
        return
    out(schemas.text(name).rstrip("\n"))


# git's own bash completion hands `git sessions ...` to a function named _git_sessions
GIT_BASH_BRIDGE = """
_git_sessions() {
    local IFS=$'\\n'
    COMPREPLY=($(env COMP_WORDS="git-sessions ${words[*]:2}" COMP_CWORD=$((cword - 1)) \\
        _GIT_SESSIONS_COMPLETE=complete_bash git-sessions 2>/dev/null))
}
"""


@app.command()
def completion(
    shell: str = typer.Argument(..., help="bash, zsh or fish."),
) -> None:
    """Print the shell completion script, for: eval "$(git-sessions completion bash)".

    It completes commands, options and session slugs read from the hub; for bash it also
    completes `git sessions ...` through git's own completion."""
    # the script --show-completion prints, without its shell detection (typer is pinned <0.30)
    from typer._completion_shared import get_completion_script

    if shell not in ("bash", "zsh", "fish"):
        raise typer.BadParameter(f"{shell!r} is not one of bash, zsh, fish")
    script = get_completion_script(
        prog_name="git-sessions", complete_var="_GIT_SESSIONS_COMPLETE", shell=shell
    )
    out(script.rstrip("\n") + ("\n" + GIT_BASH_BRIDGE if shell == "bash" else ""))


@app.command()
def mcp() -> None:
    """Serve the Model Context Protocol over stdio (needs the extra: git-sessions[mcp]).

    Every tool takes the repository path and the session explicitly; see README, MCP."""
    from git_sessions.mcpserver import serve

    serve()
