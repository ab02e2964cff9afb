"""Commands for programs rather than people: schema (the JSON Schemas of --json output) and
mcp (the Model Context Protocol server over stdio)."""

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


@app.command()
def mcp() -> None:
    """Serve the Model Context Protocol over stdio (needs the extra: git-sessions[mcp]).

    Every tool takes the repository path and the session explicitly; see README, MCP."""
    from git_sessions.mcpserver import serve

    serve()
