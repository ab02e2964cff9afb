"""`Repository`: every lifecycle operation on one clone (or worktree) of a git-sessions hub.

The CLI and the MCP server are thin layers over this class. Sessions are always named
explicitly: nothing here reads the current directory or `$SESSION_ID` (the CLI resolves those
before calling). Methods return frozen values and raise `git_sessions.errors` types.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from git_sessions.api.journal import JournalMethods
from git_sessions.api.results import (
    CheckReport,
    Claimed,
    DriftReport,
    Moved,
    Queue,
    SessionDetail,
    SessionList,
)
from git_sessions.context import Context, open_context
from git_sessions.protocol import STATES, check_state

if TYPE_CHECKING:  # the rest is imported by the methods that need it: a CLI call stays cheap
    from git_sessions.abandoning import Abandonment
    from git_sessions.edits import Identity
    from git_sessions.endings import Completion
    from git_sessions.holders import AgentKind
    from git_sessions.leases import Reaped, Renewal
    from git_sessions.releasing import Release
    from git_sessions.scaffold import InitResult
    from git_sessions.search import Hit


class Repository(JournalMethods):
    """A handle on the repository at `path` (any clone or linked worktree of it).

    `agent`/`email` name who acts on protocol commits (default: git config user.name and
    user.email); `environ` is consulted only for a sourced `.session-env` identity and is
    empty unless given, so results never depend on the calling process's environment.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        agent: str | None = None,
        email: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path).resolve()
        self.ctx: Context = open_context(self.path)
        self._agent, self._email = agent, email
        self._environ: Mapping[str, str] = dict(environ or {})

    # ------------------------------------------------------------------ who acts
    def identity(self) -> Identity:
        """The acting agent for protocol commits (new, ready, claim, release, reap)."""
        return self.ctx.identity(self._agent, self._email)

    def session_identity(self, slug: str) -> Identity:
        """Who writes for the session: explicit agent/email, else the session's own identity."""
        from git_sessions.journal import session_identity

        if self._agent or self._email:
            return self.identity()
        return session_identity(self.ctx, slug, self._environ)

    # ------------------------------------------------------------------ reading main
    def list(self, state: str | None = None) -> SessionList:
        from git_sessions import catalog

        states = (check_state(state),) if state else STATES
        snap = self.ctx.main()
        seen: set[str] = set()
        sessions = catalog.all_sessions(snap, states, self.ctx.plans(), seen)
        self.ctx.save_plans(None if state else seen)  # a full listing prunes plans gone from main
        return SessionList(snap.commit, tuple(sessions))

    def show(self, slug: str) -> SessionDetail:
        from git_sessions import catalog
        from git_sessions.protocol import SESSION_FILES

        snap = self.ctx.main()
        session = catalog.load(snap, slug)
        files = {name: snap.text(f"{session.path}/{name}") for name in SESSION_FILES}
        return SessionDetail(session, files, snap.commit)

    def queue(self, capabilities: Sequence[str] | None = None) -> Queue:
        """Every planned session in claim order, claimable or not (with the reason)."""
        from git_sessions import queue

        snap = self.ctx.main()
        found = queue.candidates(snap, self._capabilities(capabilities), self.ctx.plans())
        self.ctx.save_plans()
        return Queue(snap.commit, tuple(found))

    def check(self, *, deep: bool = False, rev: str | None = None) -> CheckReport:
        """The invariants on main; `deep` also audits its whole history (cost grows with it);
        `rev`: check that commit of the local repository instead (e.g. HEAD)."""
        from git_sessions.check import check, check_ref_locks
        from git_sessions.gitrepo import LocalHub

        snap = self.ctx.main() if rev is None else self.ctx.ws.snapshot(self.ctx.ws.resolve(rev))
        violations = check(snap, self.ctx.plans(), deep=deep)
        if rev is None and isinstance(self.ctx.hub, LocalHub):
            violations += check_ref_locks(self.ctx.hub.stale_locks())
        self.ctx.save_plans()
        return CheckReport(snap.commit, tuple(violations))

    def search(self, text: str, states: Sequence[str] = ()) -> tuple[Hit, ...]:
        from git_sessions import search

        return tuple(search.search(self.ctx, text, [check_state(s) for s in states] or STATES))

    def env(self, slug: str) -> dict[str, str]:
        """The exports of the session's .session-env (its worktree's copy, else main's)."""
        from git_sessions import claiming

        return claiming.env_values(self.ctx, slug).exports()

    def drift(self, slug: str) -> DriftReport:
        from git_sessions.drift import Drift
        from git_sessions.work import drift_report

        report = drift_report(self.ctx, slug)
        if isinstance(report, Drift):
            return DriftReport(slug, report, report.to_json())
        return DriftReport(slug, None, report.numbers, report.text)

    # ------------------------------------------------------------------ planning
    def new(
        self,
        words: Sequence[str],
        *,
        title: str | None = None,
        capabilities: Sequence[str] = (),
        priority: int = 0,
        depends_on: Sequence[str] = (),
        parent: str | None = None,
        date: dt.date | None = None,
        context: str = "",
        problem: str = "",
        criteria: Sequence[str] = (),
        today: dt.date | None = None,
    ) -> Moved:
        """Draft a session in drafting/; `date` names it (default: today)."""
        from git_sessions.drafting import Draft, new_session

        draft = Draft(
            words=tuple(words),
            title=title,
            capabilities=tuple(capabilities),
            priority=priority,
            depends_on=tuple(depends_on),
            parent=parent,
            date=date,
            context=context,
            problem=problem,
            criteria=tuple(criteria),
        )
        day = today or dt.date.today()
        slug, published = new_session(self.ctx, draft, self.identity(), day)
        return Moved(slug, "drafting", published.commit)

    def spawn(
        self,
        words: Sequence[str],
        parent: str,
        *,
        planned: bool = False,
        title: str | None = None,
        capabilities: Sequence[str] = (),
        priority: int = 0,
        date: dt.date | None = None,
        criteria: Sequence[str] = (),
    ) -> Moved:
        """A subsession of `parent`, recorded in the parent's subsessions.md; `date` names it
        (default: today)."""
        from git_sessions.drafting import Draft, spawn_session

        draft = Draft(
            words=tuple(words),
            title=title,
            capabilities=tuple(capabilities),
            priority=priority,
            parent=parent,
            date=date,
            criteria=tuple(criteria),
        )
        slug, published = spawn_session(
            self.ctx, draft, self.identity(), dt.date.today(), planned=planned
        )
        return Moved(slug, "planned" if planned else "drafting", published.commit, parent)

    def ready(self, slug: str) -> Moved:
        """drafting -> planned: claimable."""
        return self._move(slug, "planned")

    def unready(self, slug: str) -> Moved:
        """planned -> drafting: rework the plan."""
        return self._move(slug, "drafting")

    def _move(self, slug: str, dst: str) -> Moved:
        from git_sessions.drafting import move_session

        published = move_session(self.ctx, slug, dst, self.identity())
        return Moved(slug, dst, published.commit)

    # ------------------------------------------------------------------ the claim
    def claim(
        self,
        slug: str | None = None,
        *,
        capabilities: Sequence[str] | None = None,
        worktree: bool = True,
        clone: bool | None = None,
        kind: AgentKind | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Claimed:
        """Claim `slug`, or with None the best claimable session for `capabilities`
        (default: the config's); then its worktree and .session-env unless `worktree` is off.
        `clone`: work in a clone in .sessions/<slug> (default: config `workspace`); `kind`:
        the agent's type and version, recorded in claim.json."""
        from git_sessions import claiming
        from git_sessions.holders import AgentKind

        result = claiming.claim(
            self.ctx,
            slug,
            self.identity(),
            capabilities=self._capabilities(capabilities),
            make_worktree=worktree,
            clone=clone,
            kind=kind or AgentKind(),
            clock=clock,
        )
        return Claimed(result, self.env(result.slug))

    def release(self, slug: str, *, force: bool = False) -> Release:
        from git_sessions import releasing

        # only the holder may release (or, with force, someone recorded by name)
        return releasing.release(self.ctx, slug, self.session_identity(slug), force=force)

    def complete(
        self,
        slug: str,
        *,
        message: str | None = None,
        kind: str = "feat",
        allow_empty: bool = False,
        approve: bool = False,
        land: str | None = None,
    ) -> Completion:
        """Squash-merge and archive; `allow_empty` lands a session without code commits,
        `approve` approves config.yaml's verify commands on this machine first, `land`
        (direct or review) overrides config.yaml's `landing`."""
        from git_sessions import completing

        who = self.session_identity(slug)
        return completing.complete(
            self.ctx,
            slug,
            who,
            message=message,
            kind=kind,
            allow_empty=allow_empty,
            approve=approve,
            land=land,
        )

    def abandon(self, slug: str, reason: str, *, force: bool = False) -> Abandonment:
        """active -> abandoned; `force`: abandon a session someone else holds."""
        from git_sessions import abandoning

        who = self.session_identity(slug)
        return abandoning.abandon(self.ctx, slug, who, reason, force=force)

    def heartbeat(self, slug: str) -> Renewal:
        """Push the session branch to the hub and renew the lease on main."""
        from git_sessions.leases import renew

        return renew(self.ctx, slug, who=self.session_identity(slug), force=True)

    def reap(
        self,
        older_than: str,
        *,
        to: str = "planned",
        dry_run: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> tuple[Reaped, ...]:
        """Return claims with no sign of life for `older_than` (e.g. "2h") to `to`."""
        from git_sessions.leases import parse_duration, reap

        limit = parse_duration(older_than)
        who = self.identity()
        return tuple(reap(self.ctx, limit, who, to=to, dry_run=dry_run, clock=clock))

    def init(self, hub: Path | None = None, *, protocol_branch: str | None = None) -> InitResult:
        """Scaffold _AGENTS/ on the hub's main (idempotent); `hub`: create a bare hub there
        and make it the remote first; `protocol_branch`: then move it to that branch."""
        from git_sessions import scaffold

        return scaffold.init(
            self.ctx, self.identity(), hub_path=hub, protocol_branch=protocol_branch
        )

    # ------------------------------------------------------------------ helpers
    def _capabilities(self, given: Sequence[str] | None) -> tuple[str, ...]:
        return tuple(given) if given else tuple(self.ctx.config.capabilities)


def _now() -> int:
    return int(time.time())


def open_repository(
    path: Path | str,
    *,
    agent: str | None = None,
    email: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Repository:
    """Open the git-sessions repository at `path` (a clone or one of its worktrees)."""
    return Repository(path, agent=agent, email=email, environ=environ)
