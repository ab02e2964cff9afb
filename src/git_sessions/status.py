"""A session's status: its trace summed up (owner, times, commit and event counts)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from git_sessions import events
from git_sessions.context import Context
from git_sessions.summaries import Summary, summarize
from git_sessions.tracing import Item, Trace, trace


@dataclass(frozen=True)
class Status:
    trace: Trace
    summary: Summary
    now: int

    def last_activity(self) -> Item | None:
        items = self.trace.items()
        return items[-1] if items else None

    def duration(self) -> int | None:
        if self.trace.claimed is None:
            return None
        return max(0, (self.trace.ended or self.now) - self.trace.claimed)

    def to_json(self, *, verbose: bool = False) -> dict[str, Any]:
        t = self.trace
        work = [c for c in t.commits if c.kind == "work"]
        last = self.last_activity()
        data: dict[str, Any] = {
            "slug": t.slug,
            "state": t.state,
            "goal": t.title,
            "owner": {"name": t.owner.name, "email": t.owner.email} if t.owner else None,
            "claimed": events.iso(t.claimed) if t.claimed else None,
            "ended": events.iso(t.ended) if t.ended else None,
            "duration_seconds": self.duration(),
            "commits": len(work),
            "journal_commits": sum(c.kind == "journal" for c in t.commits),
            "commits_with_trailer": sum(c.trailer for c in work),
            "event_count": len(t.events),
            **self.summary.to_json(),
            "last_activity": last.to_json() if last else None,
            "tip": t.tip,
            "source": t.source,
        }
        if verbose:
            data["commit_list"] = [c.to_json() for c in t.commits]
            data["recent_events"] = [e.to_json() for e in t.events[-10:]]
        return data


def status(ctx: Context, slug: str, clock: Callable[[], float] = time.time) -> Status:
    found = trace(ctx, slug)
    summary = summarize([e.event for e in found.events])
    return Status(found, summary, int(clock()))
