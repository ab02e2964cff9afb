"""The journal part of `Repository`: entries on the session branch, and reading them back."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from git_sessions.context import Context
    from git_sessions.events import Event
    from git_sessions.journal import Entry, Recorded
    from git_sessions.status import Status
    from git_sessions.tracing import Trace

MakeEvent = Callable[[Sequence["Event"]], "Event"]


class JournalMethods:
    """Mixed into `Repository`; every entry is one commit on the session branch, written as
    the session's agent, then the branch is pushed to the hub as a sign of life."""

    ctx: Context
    _environ: Mapping[str, str]

    def record(self, slug: str, make: MakeEvent, *, commit: bool = True) -> Recorded:
        """Append the event `make` builds (from the session's events so far) to the journal."""
        from git_sessions.journal import record

        return record(self.ctx, slug, make, commit=commit, environ=self._environ)

    def log(
        self, slug: str, message: str, *, category: str | None = None, commit: bool = True
    ) -> Recorded:
        from git_sessions.events import log_event

        return self.record(slug, lambda _: log_event(message, category, _now()), commit=commit)

    def decision(
        self, slug: str, message: str, rationale: str | None, *, commit: bool = True
    ) -> Recorded:
        from git_sessions.events import decision_event

        return self.record(
            slug, lambda _: decision_event(message, rationale, _now()), commit=commit
        )

    def milestone(
        self, slug: str, message: str, *, done: bool = False, commit: bool = True
    ) -> Recorded:
        from git_sessions.events import milestone_event

        return self.record(
            slug, lambda _: milestone_event(message, done=done, now=_now()), commit=commit
        )

    def blocker(self, slug: str, message: str, *, commit: bool = True) -> Recorded:
        from git_sessions.events import blocker_event

        return self.record(slug, lambda _: blocker_event(message, _now()), commit=commit)

    def unblock(self, slug: str, which: str | None = None, *, commit: bool = True) -> Recorded:
        """Resolve the open blocker containing `which` (default: the newest)."""
        from git_sessions.events import unblock_event

        return self.record(slug, lambda past: unblock_event(past, which, _now()), commit=commit)

    def metric(
        self, slug: str, name: str, value: str, *, gauge: bool = False, commit: bool = True
    ) -> Recorded:
        """A counter (values add up), or with `gauge` a value whose newest reading counts."""
        from git_sessions.events import metric_event

        return self.record(
            slug, lambda _: metric_event(name, value, _now(), gauge=gauge), commit=commit
        )

    def learn(
        self, slug: str, insight: str, *, commit: bool = True, at: int | None = None
    ) -> Entry:
        """Capture an insight in the session's learnings; `at`: a retroactive entry."""
        from git_sessions.journal import learn

        return learn(self.ctx, slug, insight, commit=commit, environ=self._environ, at=at)

    def handoff(
        self,
        slug: str,
        next_steps: Sequence[str] = (),
        note: str | None = None,
        *,
        commit: bool = True,
    ) -> Recorded:
        """Write HANDOFF.md: status, files touched, decisions, milestones, next steps."""
        from git_sessions import handoff

        return handoff.write(self.ctx, slug, next_steps, note, commit=commit, environ=self._environ)

    def crash(
        self, slug: str, notes: str, *, commit: bool = True, at: int | None = None
    ) -> Recorded:
        """Record a crash and what it left uncommitted (the leftovers stay for `recover`);
        `at`: when it happened."""
        from git_sessions import journal

        return journal.crash(self.ctx, slug, notes, commit=commit, environ=self._environ, at=at)

    def recover(self, slug: str, message: str | None = None) -> Recorded:
        """Commit everything left in the worktree as `[<slug>] recover: ...`."""
        from git_sessions import journal

        return journal.recover(self.ctx, slug, message, environ=self._environ)

    def history(self, slug: str) -> Trace:
        """The session's commits and journal events."""
        from git_sessions import tracing

        return tracing.trace(self.ctx, slug)

    def status(self, slug: str) -> Status:
        """Where the session stands: owner, duration, events, metrics, milestones, blockers."""
        from git_sessions import status

        return status.status(self.ctx, slug)


def _now() -> int:
    return int(time.time())
