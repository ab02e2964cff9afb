"""The MCP tools: their definitions (name, description, input schema, annotations) and how each
call maps onto `git_sessions.api`. Pure of the MCP SDK, which only `mcpserver` imports.

Every tool takes `repo` (a path to any clone or worktree) and, where it acts on one, `session`:
nothing depends on the server's working directory or environment. A call returns the same
versioned JSON document the CLI prints with --json; a failure raises `git_sessions.errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_sessions import documents
from git_sessions.api import Repository
from git_sessions.errors import BadInput, Error
from git_sessions.protocol import STATES


class UsageError(Error):
    """A tool called with arguments its schema does not allow."""

    exit_code = 2
    code = "usage"


STR = {"type": "string"}
STRS = {"type": "array", "items": STR}
REPO = {"type": "string", "description": "Absolute path of a clone or worktree of the project"}
SESSION = {"type": "string", "description": "Session slug"}
CAPS = {**STRS, "description": "Capabilities the agent has (default: config's)"}


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    properties: Mapping[str, Any]
    required: tuple[str, ...]
    read_only: bool
    destructive: bool
    idempotent: bool
    run: Callable[[Mapping[str, Any]], dict[str, Any]]

    def input_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"repo": REPO, **self.properties},
            "required": ["repo", *self.required],
            "additionalProperties": False,
        }


def _repo(args: Mapping[str, Any], agent: bool = False) -> Repository:
    if agent:
        return Repository(args["repo"], agent=args.get("agent"), email=args.get("email"))
    return Repository(args["repo"])


def _list(args: Mapping[str, Any]) -> dict[str, Any]:
    if args.get("session"):
        return documents.session_detail(_repo(args).show(args["session"]))
    return documents.session_list(_repo(args).list(args.get("state")))


def _queue(args: Mapping[str, Any]) -> dict[str, Any]:
    found = _repo(args).queue(args.get("capabilities"))
    return documents.queue(found, include_blocked=bool(args.get("all")))


def _new(args: Mapping[str, Any]) -> dict[str, Any]:
    repo = _repo(args, agent=True)
    made = repo.new(
        str(args["title"]).split(),
        title=args["title"],
        capabilities=args.get("capabilities", ()),
        priority=int(args.get("priority", 0)),
        depends_on=args.get("depends_on", ()),
        context=args.get("context", ""),
        criteria=args.get("criteria", ()),
    )
    if args.get("ready"):
        made = repo.ready(made.slug)
    return documents.transition(made)


def _claim(args: Mapping[str, Any]) -> dict[str, Any]:
    claimed = _repo(args, agent=True).claim(
        args.get("session"),
        capabilities=args.get("capabilities"),
        worktree=args.get("worktree", True),
    )
    return documents.claim(claimed)


def _journal(args: Mapping[str, Any]) -> dict[str, Any]:
    repo, slug, kind = _repo(args), args["session"], args["kind"]
    text = args.get("text")
    if kind == "heartbeat":
        return documents.heartbeat(repo.heartbeat(slug))
    if kind == "unblock":
        return documents.journal(repo.unblock(slug, text))
    if not text:
        raise UsageError(f"journal kind {kind} needs text")
    if kind == "learn":
        return documents.learning(repo.learn(slug, text))
    if kind == "metric":
        return documents.journal(repo.metric(slug, text, str(args.get("value", ""))))
    if kind == "decision":
        return documents.journal(repo.decision(slug, text, args.get("rationale")))
    if kind == "milestone":
        return documents.journal(repo.milestone(slug, text, done=bool(args.get("done"))))
    if kind == "blocker":
        return documents.journal(repo.blocker(slug, text))
    return documents.journal(repo.log(slug, text, category=args.get("category")))


def _transition(args: Mapping[str, Any]) -> dict[str, Any]:
    repo, slug, to = _repo(args), args["session"], args["to"]
    if to == "ready":
        return documents.transition(repo.ready(slug))
    if to == "unready":
        return documents.transition(repo.unready(slug))
    if to == "release":
        return documents.release(repo.release(slug, force=bool(args.get("force"))))
    return documents.abandonment(repo.abandon(slug, str(args.get("reason") or "")))


def _complete(args: Mapping[str, Any]) -> dict[str, Any]:
    done = _repo(args).complete(
        args["session"], message=args.get("message"), kind=args.get("type", "feat")
    )
    return documents.completion(done)


def _search(args: Mapping[str, Any]) -> dict[str, Any]:
    hits = _repo(args).search(args["text"], args.get("states", ()))
    return documents.search(hits, args["text"])


JOURNAL_KINDS = ("log", "decision", "milestone", "blocker", "unblock", "metric", "learn")
STATE = {"type": "string", "enum": list(STATES)}

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "list",
        "List sessions on the hub's main; with session, show one with its plan files.",
        {"session": SESSION, "state": STATE},
        (),
        True,
        False,
        True,
        _list,
    ),
    ToolSpec(
        "queue",
        "Planned sessions in the order claim takes them; all: also unclaimable, with reason.",
        {"capabilities": CAPS, "all": {"type": "boolean"}},
        (),
        True,
        False,
        True,
        _queue,
    ),
    ToolSpec(
        "new",
        "Draft a session (ready: also make it claimable). Returns its slug.",
        {
            "title": STR,
            "capabilities": STRS,
            "priority": {"type": "integer"},
            "depends_on": STRS,
            "context": STR,
            "criteria": {**STRS, "description": "Acceptance criteria"},
            "ready": {"type": "boolean"},
            "agent": STR,
            "email": STR,
        },
        ("title",),
        False,
        False,
        False,
        _new,
    ),
    ToolSpec(
        "claim",
        "Claim a session atomically (omit session: the best claimable one). Returns its "
        "worktree path, environment and port; work and commit only in that worktree.",
        {
            "session": SESSION,
            "capabilities": CAPS,
            "agent": STR,
            "email": STR,
            "worktree": {"type": "boolean", "description": "Create the worktree (default true)"},
        },
        (),
        False,
        False,
        False,
        _claim,
    ),
    ToolSpec(
        "journal",
        "Record on the session branch: log, decision (rationale), milestone (done), blocker, "
        "unblock, metric (text=name, value), learn; heartbeat renews the lease.",
        {
            "session": SESSION,
            "kind": {"type": "string", "enum": [*JOURNAL_KINDS, "heartbeat"]},
            "text": STR,
            "rationale": STR,
            "done": {"type": "boolean"},
            "value": {"type": ["string", "number"]},
            "category": STR,
        },
        ("session", "kind"),
        False,
        False,
        False,
        _journal,
    ),
    ToolSpec(
        "transition",
        "Move a session: ready (drafting->planned), unready, release (active->planned; "
        "force keeps work), abandon (needs reason; work kept).",
        {
            "session": SESSION,
            "to": {"type": "string", "enum": ["ready", "unready", "release", "abandon"]},
            "reason": STR,
            "force": {"type": "boolean"},
        },
        ("session", "to"),
        False,
        True,
        False,
        _transition,
    ),
    ToolSpec(
        "complete",
        "Squash-merge the session's committed work into main, archive it with patch and "
        "drift report, remove its worktree.",
        {"session": SESSION, "message": STR, "type": {"type": "string", "default": "feat"}},
        ("session",),
        False,
        True,
        False,
        _complete,
    ),
    ToolSpec(
        "drift",
        "Plan against work: criteria met, files planned vs touched, scope added.",
        {"session": SESSION},
        ("session",),
        True,
        False,
        True,
        lambda args: documents.drift(_repo(args).drift(args["session"])),
    ),
    ToolSpec(
        "search",
        "Find text in every session's plan, worklog, handoff and learnings.",
        {"text": STR, "states": {"type": "array", "items": STATE}},
        ("text",),
        True,
        False,
        True,
        _search,
    ),
    ToolSpec(
        "check",
        "Verify the protocol's invariants on main; ok false lists violations.",
        {},
        (),
        True,
        False,
        True,
        lambda args: documents.check(_repo(args).check()),
    ),
)

BY_NAME = {tool.name: tool for tool in TOOLS}
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "number": (int, float),
}


def _check_arguments(tool: ToolSpec, args: Mapping[str, Any]) -> None:
    """The input schema, enforced here (total: a client may send anything)."""
    schema = tool.input_schema()
    props: dict[str, Any] = schema["properties"]
    for key in schema["required"]:
        if key not in args:
            raise UsageError(f"{tool.name}: missing argument {key!r}")
    for key, value in args.items():
        spec = props.get(key)
        if spec is None:
            raise UsageError(f"{tool.name}: unknown argument {key!r}")
        kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        allowed = tuple(t for k in kinds for t in _TYPES[k])
        ok = isinstance(value, allowed) and not (bool in allowed) ^ isinstance(value, bool)
        if spec["type"] == "array":
            ok = ok and all(isinstance(v, str) for v in value)
        if not ok or ("enum" in spec and value not in spec["enum"]):
            raise UsageError(f"{tool.name}: bad value for {key!r}: {value!r}")
        if "enum" in spec.get("items", {}) and any(v not in spec["items"]["enum"] for v in value):
            raise UsageError(f"{tool.name}: bad value for {key!r}: {value!r}")


def call(name: str, args: Mapping[str, Any] | None) -> dict[str, Any]:
    """Run tool `name`; its versioned JSON document. Raises `Error` (never anything else
    for bad input; an unexpected exception is a bug)."""
    tool = BY_NAME.get(name)
    if tool is None:
        raise UsageError(f"no tool {name!r}", hint=f"tools: {', '.join(BY_NAME)}")
    given = dict(args or {})
    _check_arguments(tool, given)
    if not Path(given["repo"]).is_absolute():  # the server's own directory must not matter
        raise BadInput(
            f"repo must be an absolute path, not {given['repo']!r}",
            hint="pass the path of the clone or worktree to act on",
        )
    return tool.run(given)
