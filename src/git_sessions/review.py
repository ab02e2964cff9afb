"""What a reviewer sees of each session, gathered from one read of the hub (pure values).

Active sessions are read from their branch on the hub, compared with main in memory; ended
sessions from what they left on main (drift.md, the code patch, events, HANDOFF.md). Every
text here is hub content, written by other agents: the renderer escapes all of it. Times are
relative to main's commit time, never the clock, so the same hub gives the same pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from git_sessions import catalog, events
from git_sessions import drift as drift_mod
from git_sessions.context import Context
from git_sessions.gitrepo import Snapshot
from git_sessions.gitrepo.comparison import file_diffs
from git_sessions.journal import learnings_file
from git_sessions.overview import Branch, Row, branch_drift, criteria_parse, hub_branches, rows
from git_sessions.patch import is_code
from git_sessions.protocol import LOCK_FILE, parse_lock, session_dir
from git_sessions.summaries import summarize

TIMELINE = ("decision", "blocker", "unblock", "milestone", "handoff", "crash", "recover")
MAX_DIFF_LINES = 5000  # per file: a huge generated file must not make a page unusable


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "meta", "ctx"
    text: str


@dataclass(frozen=True)
class FileChange:
    path: str
    added: int
    deleted: int
    lines: tuple[DiffLine, ...]
    truncated: bool = False


@dataclass(frozen=True)
class Page:
    row: Row
    duration: int | None
    commits: int
    code_commits: int
    metrics: Mapping[str, int | float]
    criteria: tuple[drift_mod.Criterion, ...]
    planned: tuple[str, ...]
    touched: tuple[str, ...]
    unplanned: tuple[str, ...]
    untouched: tuple[str, ...]
    scope_added: Mapping[str, list[str]]
    plan_diff: str
    files: tuple[FileChange, ...]
    timeline: tuple[events.Event, ...]
    learnings: str
    kb_sessions: tuple[str, ...]
    handoff: str
    worklog: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.row.slug

    @property
    def agent(self) -> str | None:
        """Who holds it now, or who held it last (the handoff of an ended session says)."""
        if self.row.holder is not None:
            return f"{self.row.holder.name} <{self.row.holder.email}>"
        found = re.search(r"^- Agent: (.+)$", self.handoff, re.M)
        return found.group(1).strip() if found else None


def _kind(line: str) -> str:
    if line.startswith(("+++ ", "--- ", "diff --git ", "index ", "new file", "deleted file")):
        return "meta"
    if line.startswith(("similarity ", "rename ", "old mode", "new mode", "Binary files")):
        return "meta"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "ctx"


def file_change(path: str, text: str) -> FileChange:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    parsed = [DiffLine(_kind(line), line) for line in lines]
    added = sum(1 for d in parsed if d.kind == "add")
    deleted = sum(1 for d in parsed if d.kind == "del")
    cut = len(parsed) > MAX_DIFF_LINES
    return FileChange(path, added, deleted, tuple(parsed[:MAX_DIFF_LINES]), cut)


def patch_files(text: str) -> list[FileChange]:
    """Per-file changes of a stored patch (one squashed message, or an older series)."""
    found: list[FileChange] = []
    for message in _messages(text):
        section: list[str] = []
        for line in message.split("\n"):
            if line.startswith("diff --git ") and section:
                found.append(_section(section))
                section = []
            if line.startswith("diff --git ") or section:
                section.append(line)
        if section:
            found.append(_section(section))
    return found


def _messages(text: str) -> Iterator[str]:
    """The diff part of each mbox message: after the `---` line, before the signature."""
    for chunk in text.split("\n-- \ngit-sessions "):
        head, sep, diff = chunk.partition("\n---\n")
        if sep:
            yield "\n".join(
                line for line in diff.split("\n") if not line.startswith("base-commit: ")
            )
        del head


def _section(lines: list[str]) -> FileChange:
    first = lines[0].removeprefix("diff --git ")
    path = first.split(" b/", 1)[-1] if " b/" in first else first
    while lines and lines[-1] == "":
        lines.pop()
    return file_change(path, "\n".join(lines) + "\n")


def _numbers(text: str | None) -> dict[str, Any]:
    try:
        meta = drift_mod.parse(text) if text else {}
    except (ValueError, yaml.YAMLError):
        return {}
    return meta


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _criteria(value: Any) -> tuple[drift_mod.Criterion, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        drift_mod.Criterion(str(c.get("text", "")), bool(c.get("checked")))
        for c in value
        if isinstance(c, dict)
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def kb_children(snap: Snapshot) -> dict[str, list[str]]:
    """source session -> the kb- sessions (planned or active) merging its learnings."""
    found: dict[str, list[str]] = {}
    for session in catalog.all_sessions(snap, ("drafting", "planned", "active")):
        if session.slug.startswith("kb-") and session.parent:
            found.setdefault(session.parent, []).append(session.slug)
    return found


def _common(row: Row, tree: Snapshot, kb: Mapping[str, list[str]]) -> dict[str, Any]:
    folder = session_dir(row.state, row.slug)
    past = events.parse_jsonl(tree.text(f"{folder}/events.jsonl") or "")
    return {
        "metrics": summarize(past).metrics,
        "timeline": tuple(e for e in past if e.kind in TIMELINE),
        "learnings": tree.text(learnings_file(row.slug)) or "",
        "kb_sessions": tuple(kb.get(row.slug, ())),
        "handoff": tree.text(f"{folder}/HANDOFF.md") or "",
        "worklog": tree.text(f"{folder}/worklog.md") or "",
    }


def ended_page(snap: Snapshot, row: Row, kb: Mapping[str, list[str]]) -> Page:
    folder = session_dir(row.state, row.slug)
    meta = _numbers(snap.text(f"{folder}/drift.md"))
    scope = meta.get("scope_added")
    return Page(
        row=row,
        duration=_int(meta.get("duration_seconds")) if meta else None,
        commits=_int(meta.get("commits")),
        code_commits=_int(meta.get("code_commits")),
        criteria=_criteria(meta.get("criteria")),
        planned=_strs(meta.get("planned_files")),
        touched=_strs(meta.get("touched_files")),
        unplanned=_strs(meta.get("unplanned_files")),
        untouched=_strs(meta.get("untouched_planned_files")),
        scope_added={str(k): [str(x) for x in v] for k, v in scope.items() if isinstance(v, list)}
        if isinstance(scope, dict)
        else {},
        plan_diff=str(meta.get("plan_diff") or ""),
        files=tuple(patch_files(snap.text(f"{folder}/{row.slug}.patch") or "")),
        **_common(row, snap, kb),
    )


def active_page(
    snap: Snapshot, row: Row, branch: Branch | None, now: int, kb: Mapping[str, list[str]]
) -> Page:
    folder = session_dir("active", row.slug)
    plan = snap.text(f"{folder}/SESSION.md") or ""
    since = {e.slug: e.since for e in parse_lock(snap.text(LOCK_FILE) or "")[0]}
    duration = max(0, now - since[row.slug]) if row.slug in since else None
    if branch is None or snap.commit is None or not criteria_parse(plan):
        return _plan_page(snap, row, plan, duration, kb)
    objects = branch.objects
    tip, base, report = branch_drift(snap, row.slug, plan, branch)
    diffs = file_diffs(objects, base, branch.tip, is_code)
    return Page(
        row=row,
        duration=duration,
        commits=row.ahead or 0,
        code_commits=0,
        criteria=report.criteria,
        planned=report.planned_files,
        touched=report.touched_files,
        unplanned=report.unplanned_files,
        untouched=report.untouched_planned_files,
        scope_added=report.scope_added,
        plan_diff=report.plan_diff,
        files=tuple(file_change(d.path, d.text) for d in diffs),
        extra={"branch": branch.tip},
        **_common(row, tip, kb),
    )


def _plan_page(
    snap: Snapshot, row: Row, plan: str, duration: int | None, kb: Mapping[str, list[str]]
) -> Page:
    """A session with no work to compare: its plan's criteria and files, nothing touched."""
    try:
        crits = tuple(drift_mod.criteria(plan))
    except (ValueError, yaml.YAMLError):
        crits = ()
    planned = tuple(drift_mod.planned_files(plan))
    return Page(
        row=row,
        duration=duration,
        commits=0,
        code_commits=0,
        criteria=crits,
        planned=planned,
        touched=(),
        unplanned=(),
        untouched=planned,
        scope_added={},
        plan_diff="",
        files=(),
        **_common(row, snap, kb),
    )


def pages(ctx: Context, slugs: tuple[str, ...] = ()) -> tuple[str, int, list[Page]]:
    """(main's commit, its time, the pages of `slugs` or of every session)."""
    snap = ctx.main()
    now = snap.commit_info(snap.commit)[2] if snap.commit else 0
    board = rows(ctx, now, snap=snap)
    if slugs:
        wanted = set(slugs)
        board = [r for r in board if r.slug in wanted]
        missing = wanted - {r.slug for r in board}
        if missing:
            catalog.load(snap, sorted(missing)[0])  # raises the usual "no session" error
    branches = hub_branches(ctx) if any(r.state == "active" for r in board) else {}
    kb = kb_children(snap)
    found = []
    for row in board:
        if row.state in ("completed", "abandoned"):
            found.append(ended_page(snap, row, kb))
        elif row.state == "active":
            found.append(active_page(snap, row, branches.get(row.slug), now, kb))
        else:
            plan = snap.text(f"{session_dir(row.state, row.slug)}/SESSION.md") or ""
            found.append(_plan_page(snap, row, plan, None, kb))
    return snap.commit or "", now, found
