"""The MCP server: every tool through the SDK's own client (in-process), errors, the size of
the tool definitions, and two stdio servers racing for one session over a real bare hub."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import jsonschema
from conftest import Hub, git
from mcp import Client, StdioServerParameters  # the dev extra includes the mcp extra

from git_sessions import schemas
from git_sessions.mcpserver import build_server, tool_definitions

TOKEN_BUDGET = 3000


def run(body: Callable[[Client], Awaitable[None]], server: Any = None) -> None:
    async def main() -> None:
        async with Client(server or build_server()) as client:
            await body(client)

    anyio.run(main)


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    """Call a tool that must succeed; its document, validated against its schema."""
    result = await client.call_tool(tool, args)
    doc = result.structured_content
    assert not result.is_error, doc
    assert json.loads(result.content[0].text) == doc  # type: ignore[union-attr]
    name = doc["schema"].split("/")[1]
    jsonschema.validate(doc, schemas.load(name), cls=jsonschema.Draft202012Validator)
    return dict(doc)


async def fail(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    """Call a tool that must fail; its error object {code, exit, message, hint}."""
    result = await client.call_tool(tool, args)
    assert result.is_error
    doc = result.structured_content
    jsonschema.validate(doc, schemas.load("error"), cls=jsonschema.Draft202012Validator)
    return dict(doc["error"])


def test_tool_definitions_fit_the_token_budget() -> None:
    size = len(json.dumps(tool_definitions()))
    tokens = size // 4  # ~4 characters per token for JSON-ish English
    print(
        f"\nMCP tool definitions: {len(tool_definitions())} tools, {size} chars, ~{tokens} tokens"
    )
    assert tokens < TOKEN_BUDGET
    assert 8 <= len(tool_definitions()) <= 12


def test_listed_tools_are_annotated_and_take_repo() -> None:
    async def body(client: Client) -> None:
        listed = (await client.list_tools()).tools
        by_name = {t.name: t for t in listed}
        assert set(by_name) == {
            *("list", "queue", "new", "claim", "journal", "transition"),
            *("complete", "drift", "search", "check"),
        }
        for tool in listed:
            assert "repo" in tool.input_schema["required"]
            assert tool.annotations is not None
        reads = {n for n, t in by_name.items() if t.annotations and t.annotations.read_only_hint}
        assert reads == {"list", "queue", "drift", "search", "check"}
        destructive = {
            n for n, t in by_name.items() if t.annotations and t.annotations.destructive_hint
        }
        assert destructive == {"transition", "complete"}

    run(body)


def test_the_whole_lifecycle_through_every_tool(hub: Hub) -> None:
    repo = str(hub.repo)

    async def body(client: Client) -> None:
        made = await call(client, "new", repo=repo, title="login page", criteria=["it logs in"])
        assert made["state"] == "drafting"
        slug = made["slug"]
        assert (await call(client, "transition", repo=repo, session=slug, to="ready"))[
            "state"
        ] == "planned"
        listed = await call(client, "list", repo=repo, state="planned")
        assert [s["slug"] for s in listed["sessions"]] == [slug]
        shown = await call(client, "list", repo=repo, session=slug)
        assert "it logs in" in shown["files"]["SESSION.md"]
        queued = await call(client, "queue", repo=repo, capabilities=["python"])
        assert [s["slug"] for s in queued["sessions"]] == [slug]

        claimed = await call(client, "claim", repo=repo, agent="Bot", email="bot@example.com")
        assert claimed["slug"] == slug and claimed["agent"]["name"] == "Bot"
        worktree = Path(claimed["worktree"])
        assert (worktree / ".git").exists()
        assert claimed["environment"]["SESSION_ID"] == slug
        assert claimed["port"] == int(claimed["environment"]["SESSION_PORT"])

        for kind, extra in [
            ("log", {"text": "read the code", "category": "planning"}),
            ("decision", {"text": "use bcrypt", "rationale": "packaged"}),
            ("milestone", {"text": "it logs in", "done": True}),
            ("blocker", {"text": "db down"}),
            ("unblock", {}),
            ("metric", {"text": "tokens", "value": 1200}),
            ("learn", {"text": "bcrypt truncates at 72 bytes"}),
            ("heartbeat", {}),
        ]:
            doc = await call(client, "journal", repo=repo, session=slug, kind=kind, **extra)
            assert doc["slug"] == slug
        log = git(worktree, "log", "--format=%an %s")
        assert "Bot [" in log and "use bcrypt" in log

        (worktree / "login.py").write_text("print('hi')\n")
        git(worktree, "add", "login.py")
        git(worktree, "commit", "-qm", f"[{slug}] feat: log in")
        drift = await call(client, "drift", repo=repo, session=slug)
        assert drift["live"] and "login.py" in drift["touched_files"]
        assert drift["criteria_met"] == 1
        hits = await call(client, "search", repo=repo, text="BCRYPT")
        assert {h["slug"] for h in hits["hits"]} == {slug}
        done = await call(client, "complete", repo=repo, session=slug)
        assert done["commits"] == 8 and done["worktree_removed"]  # 7 journal + 1 work
        assert git(hub.hub, "show", "main:login.py") == "print('hi')\n"
        assert (await call(client, "check", repo=repo))["ok"] is True
        # the tools wrote to the hub and the session's worktree, never to the main checkout
        assert git(hub.repo, "status", "--porcelain") == ""

    run(body)


def test_transitions_release_and_abandon_from_a_worktree_path(hub: Hub) -> None:
    repo = str(hub.repo)

    async def body(client: Client) -> None:
        a = (await call(client, "new", repo=repo, title="first", ready=True))["slug"]
        b = (await call(client, "new", repo=repo, title="second", ready=True))["slug"]
        await call(client, "transition", repo=repo, session=b, to="unready")
        await call(client, "transition", repo=repo, session=b, to="ready")
        wt = (await call(client, "claim", repo=repo, session=a))["worktree"]
        released = await call(client, "transition", repo=wt, session=a, to="release")
        assert released["worktree_removed"] and not released["branch_kept"]
        wt = (await call(client, "claim", repo=repo, session=b))["worktree"]
        error = await fail(client, "transition", repo=wt, session=b, to="abandon")
        assert error["code"] == "bad_input" and "reason" in error["message"]
        gone = await call(client, "transition", repo=wt, session=b, to="abandon", reason="moot")
        assert gone["branch"] == f"session/{b}"
        states = await call(client, "list", repo=repo)
        assert {s["slug"]: s["state"] for s in states["sessions"]} == {
            a: "planned",
            b: "abandoned",
        }

    run(body)


def test_errors_carry_code_exit_message_hint(hub: Hub, tmp_path: Path) -> None:
    repo = str(hub.repo)

    async def body(client: Client) -> None:
        missing = await fail(client, "list", repo=repo, session="2026-01-01-nothing")
        assert missing["code"] == "bad_input" and missing["exit"] == 1 and missing["hint"]
        relative = await fail(client, "check", repo=".")
        assert relative["code"] == "bad_input" and "absolute" in relative["message"]
        outside = await fail(client, "check", repo=str(tmp_path))
        assert outside["code"] == "bad_input" and "not a git repository" in outside["message"]
        nothing = await fail(client, "claim", repo=repo)
        assert nothing["code"] == "bad_input" and "no claimable session" in nothing["message"]
        slug = (await call(client, "new", repo=repo, title="taken", ready=True))["slug"]
        await call(client, "claim", repo=repo, session=slug, agent="A", email="a@example.com")
        taken = await fail(
            client, "claim", repo=repo, session=slug, agent="B", email="b@example.com"
        )
        assert taken["code"] == "conflict" and taken["exit"] == 3 and "A <a@" in taken["message"]
        for args in (
            {"repo": repo},  # session and kind missing
            {"repo": repo, "session": slug, "kind": "shout", "text": "x"},
            {"repo": repo, "session": slug, "kind": "log", "text": 5},
            {"repo": repo, "session": slug, "kind": "log", "text": "x", "cwd": "/"},
            {"repo": repo, "session": slug, "kind": "log"},  # no text
        ):
            usage = await fail(client, "journal", **args)
            assert usage["code"] == "usage" and usage["exit"] == 2, args
        assert (await fail(client, "nope", repo=repo))["code"] == "usage"

    run(body)


def test_two_mcp_clients_race_for_one_session_exactly_one_wins(hub: Hub, tmp_path: Path) -> None:
    """Two real `git sessions mcp` processes, each over its own clone of one bare hub, claim
    the same session at once; neither depends on its working directory."""
    seed = str(hub.repo)

    async def prepare(client: Client) -> None:
        made = await call(client, "new", repo=seed, title="contested", ready=True)
        slugs.append(made["slug"])

    slugs: list[str] = []
    run(prepare)
    clones = [hub.clone(f"agent-{n}") for n in range(2)]
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "git_sessions", "mcp"],
        env=dict(os.environ),
        cwd=str(tmp_path),
    )
    results: list[Any] = [None, None]

    async def main() -> None:
        async with Client(params) as first, Client(params) as second:
            # both servers are up and initialised before either claims
            await first.list_tools()
            await second.list_tools()

            async def claim(n: int, client: Client) -> None:
                results[n] = await client.call_tool(
                    "claim",
                    {
                        "repo": str(clones[n]),
                        "session": slugs[0],
                        "agent": f"agent-{n}",
                        "email": f"agent-{n}@example.com",
                    },
                )

            async with anyio.create_task_group() as group:
                group.start_soon(claim, 0, first)
                group.start_soon(claim, 1, second)

    anyio.run(main)
    won = [r for r in results if not r.is_error]
    lost = [r for r in results if r.is_error]
    assert len(won) == 1 and len(lost) == 1, [r.structured_content for r in results]
    assert lost[0].structured_content["error"]["code"] == "conflict"
    winner = won[0].structured_content["agent"]["name"]
    lock = git(hub.hub, "show", "main:_AGENTS/sessions/sessions.lock")
    assert lock.count(slugs[0]) == 1
    claims = git(hub.hub, "log", "--format=%an %s", "main").splitlines()
    assert [c for c in claims if "chore: claim session" in c] == [
        f"{winner} [{slugs[0]}] chore: claim session"
    ]
