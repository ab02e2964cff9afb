"""Versioned JSON documents: what `--json` prints and what the MCP tools return.

Every document carries `"schema": "git-sessions/<name>/v1"`; the JSON Schema of each name is
`docs/schema/<name>.json` (shipped in the wheel, printed by `git sessions schema NAME`). A
field may be added within a version; renaming or removing one needs a new version.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from git_sessions.abandoning import Abandonment
    from git_sessions.api.results import (
        CheckReport,
        Claimed,
        DriftReport,
        Moved,
        Queue,
        SessionDetail,
        SessionList,
    )
    from git_sessions.endings import Completion
    from git_sessions.errors import Error
    from git_sessions.journal import Entry, Recorded
    from git_sessions.leases import Renewal
    from git_sessions.releasing import Release
    from git_sessions.search import Hit

PREFIX = "git-sessions/"
VERSION = "v1"


def schema_id(name: str) -> str:
    return f"{PREFIX}{name}/{VERSION}"


def stamp(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its schema id first."""
    return {"schema": schema_id(name), **data}


def error(code: str, exit_code: int, message: str, hint: str | None) -> dict[str, Any]:
    return stamp(
        "error", {"error": {"code": code, "exit": exit_code, "message": message, "hint": hint}}
    )


def from_error(exc: Error) -> dict[str, Any]:
    return error(exc.code, exc.exit_code, exc.message, exc.hint)


def session_list(result: SessionList) -> dict[str, Any]:
    return stamp("list", {"main": result.main, "sessions": [s.to_json() for s in result.sessions]})


def session_detail(result: SessionDetail) -> dict[str, Any]:
    return stamp(
        "show", {**result.session.to_json(), "files": dict(result.files), "main": result.main}
    )


def queue(result: Queue, *, include_blocked: bool = False) -> dict[str, Any]:
    entries = [
        {**c.session.to_json(), "claimable": c.reason is None, "reason": c.reason}
        for c in result.entries
        if include_blocked or c.reason is None
    ]
    return stamp("queue", {"main": result.main, "sessions": entries})


def check(result: CheckReport) -> dict[str, Any]:
    return stamp(
        "check",
        {
            "ok": result.ok,
            "main": result.main,
            "violations": [v.__dict__ for v in result.violations],
        },
    )


def claim(result: Claimed) -> dict[str, Any]:
    return stamp(
        "claim",
        {**result.claim.to_json(), "environment": dict(result.environment), "port": result.port},
    )


def transition(result: Moved) -> dict[str, Any]:
    return stamp(
        "transition",
        {
            "slug": result.slug,
            "state": result.state,
            "commit": result.commit,
            "parent": result.parent,
        },
    )


def release(result: Release) -> dict[str, Any]:
    return stamp("release", dict(result.__dict__))


def completion(result: Completion) -> dict[str, Any]:
    return stamp("complete", dict(result.__dict__))


def abandonment(result: Abandonment) -> dict[str, Any]:
    return stamp("abandon", dict(result.__dict__))


DRIFT_FIELDS = (
    *("plan_changed", "plan_diff", "criteria", "criteria_met", "planned_files"),
    *("touched_files", "unplanned_files", "untouched_planned_files", "scope_added"),
    *("started", "ended", "duration_seconds", "commits", "allow_empty", "overrides"),
)


def drift(result: DriftReport) -> dict[str, Any]:
    # a stored report's numbers come from drift.md on the hub: keep only the documented fields
    data = {k: result.data[k] for k in DRIFT_FIELDS if k in result.data}
    return stamp("drift", {**data, "slug": result.slug, "live": result.drift is not None})


def journal(result: Recorded, **more: Any) -> dict[str, Any]:
    return stamp("journal", {**result.to_json(), **more})


def learning(result: Entry) -> dict[str, Any]:
    data = dict(result.__dict__)
    data["paths"] = list(result.paths)
    return stamp("learn", data)


def heartbeat(result: Renewal) -> dict[str, Any]:
    return stamp("heartbeat", dict(result.__dict__))


def search(hits: Iterable[Hit], text: str) -> dict[str, Any]:
    return stamp("search", {"text": text, "hits": [h.to_json() for h in hits]})


def env(slug: str, values: dict[str, str]) -> dict[str, Any]:
    return stamp("env", {"slug": slug, "environment": values})


def schemas(names: Sequence[str]) -> dict[str, Any]:
    return stamp("schemas", {"schemas": [schema_id(n) for n in names], "names": list(names)})


def board(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return stamp("board", {"sessions": list(rows)})


def review(index: str, sessions: Sequence[str], files: Sequence[str]) -> dict[str, Any]:
    return stamp("review", {"index": index, "sessions": list(sessions), "files": list(files)})


def gc(report: dict[str, Any]) -> dict[str, Any]:
    return stamp("gc", report)
