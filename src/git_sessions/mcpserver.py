"""`git sessions mcp`: the MCP tools of `mcptools`, served over stdio with the official SDK.

A tool's blocking git work runs in a worker thread, so one server answers several requests at
once and in-process clients can race. Failures are tool results with `isError` set and a
git-sessions/error/v1 document as structured content: `{code, exit, message, hint}`.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from git_sessions import __version__, documents, mcptools
from git_sessions.errors import BadInput, Error

INSTRUCTIONS = (
    "Coordinate coding agents on one git repository. Every tool takes repo (a clone or "
    "worktree path). Claim a session, then edit and commit only inside the worktree the claim "
    "returns; journal as you go; complete when the work is committed."
)


def _sdk() -> Any:
    try:
        import mcp_types
    except ImportError:
        raise BadInput(
            "the MCP server needs the mcp package",
            hint="pip install 'git-sessions[mcp]'",
        ) from None
    return mcp_types


def tool_definitions() -> list[dict[str, Any]]:
    """The tools as MCP lists them (plain JSON), for the server and for measuring their size."""
    return [
        {
            "name": t.name,
            "description": t.description,
            "inputSchema": t.input_schema(),
            "annotations": {
                "readOnlyHint": t.read_only,
                "destructiveHint": t.destructive,
                "idempotentHint": t.idempotent,
                "openWorldHint": False,
            },
        }
        for t in mcptools.TOOLS
    ]


def run_tool(name: str, args: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
    """(document, is_error) for one call; never raises."""
    try:
        return mcptools.call(name, args), False
    except Error as exc:
        return documents.from_error(exc), True
    except Exception as exc:  # a bug: report it to the client, keep serving
        traceback.print_exc()  # stderr: the MCP client's log, never the wire
        return documents.error("bug", 70, f"internal bug in git-sessions: {exc!r}", None), True


def build_server() -> Any:
    """The low-level SDK server with the git-sessions tools."""
    types = _sdk()
    import anyio
    from mcp.server.lowlevel import Server

    tools = [types.Tool.model_validate(t) for t in tool_definitions()]

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: Any) -> Any:
        document, failed = await anyio.to_thread.run_sync(run_tool, params.name, params.arguments)
        text = json.dumps(document, sort_keys=True)
        return types.CallToolResult(
            content=[types.TextContent(text=text)],
            structured_content=document,
            is_error=failed,
        )

    return Server(
        "git-sessions",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def serve() -> None:
    """Serve over stdin/stdout until the client closes the connection."""
    server = build_server()
    import anyio
    from mcp.server.stdio import stdio_server

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)
