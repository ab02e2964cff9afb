"""A session's work as the hub sees it (the claim, the branch tip, the commits between), how
an ending gathers it, and its drift: now, or as stored when it completed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from git_sessions import drift as drift_mod
from git_sessions import (
    events,
    leases,
    overrides,
    ownership,
    transitions,
    worktree,
)
from git_sessions.claiming import worktree_path
from git_sessions.context import Context
from git_sessions.edits import Identity
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo import LocalHub, Snapshot, unshallow
from git_sessions.gitrepo.comparison import Keep, diff_text
from git_sessions.gitrepo.objects import Objects
from git_sessions.history import claim_commit
from git_sessions.patch import (
    PatchCommit,
    is_code,
)
from git_sessions.protocol import (
    session_dir,
)


@dataclass(frozen=True)
class Work:
    """A session's work as the hub sees it: the claim, the branch tip and the commits between."""

    slug: str
    claim: str
    tip: str
    objects: Objects
    main: tuple[str, ...] = ()  # main's tip: commits merged in from there are not the session's
    held: bool = True  # gathered by the holder (else: forced, from the hub's copy)

    def _hidden(self) -> tuple[str, ...]:
        # Hiding main makes the walk mark main's history down to the claim, a cost that grows
        # with main; it is only needed when the branch merged main in.
        return () if self.objects.linear_since(self.claim, self.tip) else self.main

    def commits(self, keep: Keep | None = None) -> list[PatchCommit]:
        """Non-merge commits after the claim, oldest first, each with its diff (of the paths
        `keep` accepts)."""
        found = []
        for info in self.objects.log(self.claim, self.tip, *self._hidden()):
            if len(info.parents) != 1:
                continue
            found.append(
                PatchCommit(
                    info.id,
                    info.author.name,
                    info.author.email,
                    info.time,
                    info.offset,
                    info.message,
                    diff_text(self.objects, info.parents[0], info.id, keep),
                )
            )
        return found

    def code_commits(self) -> int:
        """Session commits that change something besides the session's own journal."""
        return sum(
            any(is_code(p) for p in self.objects.changed_files(c.parents[0], c.id))
            for c in self.objects.log(self.claim, self.tip, *self._hidden())
            if len(c.parents) == 1
        )

    def subjects(self) -> list[str]:
        log = self.objects.log(self.claim, self.tip, *self._hidden())
        return [c.subject for c in log if len(c.parents) == 1]


def gather(ctx: Context, slug: str, who: Identity, *, force: bool = False) -> Work:
    """Check that `who` may end the session from here and put its branch where the hub can
    merge it. With `force` (abandon by someone other than the holder), the work is what the
    holder last pushed to the hub. A session clone's work is brought here first."""
    from git_sessions.clones import bring_home

    snap = ctx.main()
    record = ownership.load(ctx.ws.common_dir, slug)
    mine = transitions.current_state(snap, slug) == "active" and ownership.holds(
        snap, slug, who, record
    )
    if not mine and not force:
        ownership.check_holder(snap, slug, who, record)
    if transitions.current_state(snap, slug) != "active":
        raise Conflict(f"session {slug} is {transitions.current_state(snap, slug)}, not active")
    hub = ctx.hub
    # main's tip: commits the branch merged in from there are not the session's
    code_tip = ctx.code_hub.tip() if ctx.split else snap.commit
    main = (code_tip,) if code_tip else ()
    if not mine:
        kept = _hub_tip(ctx, slug)
        starts = [hub.snapshot(kept)] if kept else []
        claimed = _claimed(slug, *starts, hub.snapshot(snap.commit))
        return Work(slug, claimed, kept or claimed, hub.objects, main, held=False)
    path = worktree_path(ctx, slug)
    if path.exists():
        dirty = ctx.ws.status_dirty(path, untracked=True)
        if dirty:
            raise BadInput(
                f"uncommitted changes in {path}: {', '.join(dirty[:5])}",
                hint=f"commit them first (new files too): git -C {path} add -A && "
                f'git -C {path} commit -m "[{slug}] ..."',
            )
    bring_home(ctx, slug)  # a clone's work, when run from the main checkout
    branch = worktree.branch_name(slug)
    tip = ctx.ws.ref_target(f"refs/heads/{branch}")
    if tip is None:
        raise BadInput(
            f"there is no local branch {branch}", hint=f"claim it: git sessions claim {slug}"
        )
    if ctx.ws.is_shallow and not isinstance(hub, LocalHub):
        unshallow(
            ctx.ws.root, ctx.config.remote, network=ctx.ws.network()
        )  # the merge below walks main's history here
    if isinstance(hub, LocalHub):
        # The hub builds the merge commit, so it needs the branch's objects; the pushed
        # branch is also a backup until the session is archived.
        leases.push_branch(ctx, slug, tip)
    else:
        on_hub = hub.heads().get(f"refs/heads/{branch}")
        if on_hub is not None and not (
            hub.objects.has(on_hub) and hub.objects.is_ancestor(on_hub, tip)
        ):
            leases.behind_the_hub(ctx, branch)
    claimed = _claimed(slug, ctx.ws.snapshot(tip), hub.snapshot(snap.commit))
    return Work(slug, claimed, tip, hub.objects, main)


def _claimed(slug: str, *starts: Snapshot) -> str:
    """The claim commit of `slug`, looked for from each start in turn (see history)."""
    found = claim_commit(slug, *starts)
    if found is None or found.commit is None:
        raise Conflict(f"cannot find the commit that claimed {slug} on main")
    return found.commit


def _hub_tip(ctx: Context, slug: str) -> str | None:
    """The session branch as last pushed to the hub, its objects available to the hub."""
    ref = f"refs/heads/{worktree.branch_name(slug)}"
    tip = ctx.hub.heads().get(ref)
    if tip is not None and not ctx.hub.objects.has(tip):
        ctx.ws.fetch_refspecs(
            ctx.config.remote, [f"+{ref}:refs/remotes/{ctx.config.remote}/{ref[11:]}"]
        )
    return tip


def session_drift(work: Work, now: int, *, allow_empty: bool = False) -> drift_mod.Drift:
    then = work.objects.snapshot(work.claim)
    tip = work.objects.snapshot(work.tip)
    folder = session_dir("active", work.slug)
    notes = ("worklog.md", *drift_mod.SCOPE_FILES)
    return drift_mod.compute(
        work.slug,
        then.text(f"{folder}/SESSION.md") or "",
        tip.text(f"{folder}/SESSION.md") or "",
        {n: then.text(f"{folder}/{n}") or "" for n in notes},
        {n: tip.text(f"{folder}/{n}") or "" for n in notes},
        work.objects.changed_files(work.claim, work.tip),
        started=work.objects.info(work.claim).time,
        ended=now,
        commits=len(work.subjects()),
        overrides=overrides.reasons(events.parse_jsonl(tip.text(f"{folder}/events.jsonl") or "")),
        code_commits=work.code_commits(),
        allow_empty=allow_empty,
    )


def drift_report(
    ctx: Context, slug: str, clock: Callable[[], float] = time.time
) -> drift_mod.Drift | drift_mod.Stored:
    """Drift of an active session now, or the report stored when it completed."""
    snap = ctx.main()
    state = transitions.current_state(snap, slug)
    if state in ("completed", "abandoned"):
        stored = snap.text(f"{session_dir(state, slug)}/drift.md")
        if stored is None:
            raise BadInput(f"session {slug} has no drift report", hint="it ended without one")
        try:
            return drift_mod.stored(stored)
        except ValueError as exc:
            raise BadInput(
                f"{session_dir(state, slug)}/drift.md is malformed: {exc}",
                hint="it was edited on main; see: git sessions check",
            ) from None
    if state != "active":
        raise Conflict(f"session {slug} is {state}: drift starts at the claim")
    if ctx.ws.is_shallow:  # inside a session clone: the walk below needs main's history
        unshallow(ctx.ws.root, ctx.config.remote, network=ctx.ws.network())
    if snap.commit is None or not ctx.ws.has_commit(snap.commit):
        ctx.ws.fetch(ctx.config.remote, ctx.protocol_branch)
    assert snap.commit is not None
    objects = ctx.ws.objects
    branch_tip = ctx.ws.ref_target(f"refs/heads/{worktree.branch_name(slug)}")
    starts = [objects.snapshot(branch_tip)] if branch_tip else []
    # then the hub's history: a session clone is shallow and stops at the claim commit
    claimed = claim_commit(slug, *starts, ctx.hub.snapshot(snap.commit))
    if claimed is None or claimed.commit is None:
        raise Conflict(f"cannot find the commit that claimed {slug} on main")
    # without the session branch here, its work is unknown: report none rather than main's
    tip = branch_tip or claimed.commit
    work = Work(slug, claimed.commit, tip, objects, (snap.commit,))
    return session_drift(work, int(clock()))
