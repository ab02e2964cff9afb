"""Ending a session with `complete` (squash merge, patch, drift, archive, KB session), and what
`abandon` shares with it: gathering the work, cleaning up, finishing an interrupted ending.

Both are one protocol commit on main built on the fresh tip and published by compare-and-swap;
a lost race redoes the merge on the new tip. Local cleanup follows only after that succeeds, so
nothing is lost if the commit does not land.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from git_sessions import (
    catalog,
    events,
    faults,
    hazards,
    kbrule,
    leases,
    overrides,
    ownership,
    transitions,
    worktree,
)
from git_sessions import drift as drift_mod
from git_sessions.claiming import worktree_path
from git_sessions.context import Context
from git_sessions.edits import Change, Edit, Identity, Move, Remove, Write
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo import LocalHub, Snapshot, unshallow
from git_sessions.gitrepo.comparison import Keep, diff_text
from git_sessions.gitrepo.objects import Objects
from git_sessions.handoff import final as final_handoff
from git_sessions.history import claim_commit
from git_sessions.journal import learnings_file
from git_sessions.knowledge import has_learnings, kb_session
from git_sessions.patch import (
    PatchCommit,
    Squash,
    format_series,
    format_squash,
    is_code,
    is_journal,
)
from git_sessions.protocol import (
    ENV_FILE,
    KNOWLEDGE,
    LOCK_FILE,
    append_only_paths,
    lock_remove,
    session_dir,
)
from git_sessions.publish import Timing, update_main
from git_sessions.verification import Verifier, preconditions, require_approval, trailers

COMMIT_TYPES = ("feat", "fix", "refactor", "docs", "test", "chore", "perf", "build")


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
    main = (snap.commit,) if snap.commit else ()
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
        unshallow(ctx.ws.root, ctx.config.remote)  # the merge below walks main's history here
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


@dataclass(frozen=True)
class Completion:
    slug: str
    commit: str
    patch: str
    journal_patch: str
    drift: str
    kb_session: str | None
    commits: int
    code_commits: int
    allow_empty: bool
    verified: list[dict[str, Any]]
    attempts: int
    worktree_removed: bool
    resumed: bool = False  # it had landed before; this run only finished the cleanup


def complete(
    ctx: Context,
    slug: str,
    who: Identity,
    *,
    message: str | None = None,
    kind: str = "feat",
    allow_empty: bool = False,
    approve: bool = False,
    clock: Callable[[], float] = time.time,
) -> Completion:
    """Squash-merge the session into main with its patches, drift report and archive; with
    `verify:` commands configured, only a merged tree that passed them is published."""
    if kind not in COMMIT_TYPES:
        raise BadInput(
            f"unknown commit type {kind!r}", hint=f"use one of: {', '.join(COMMIT_TYPES)}"
        )
    record = ownership.load(ctx.ws.common_dir, slug)
    if record is not None and record.ending == "completed":
        done = finish_ending(ctx, slug, record, "completed")
        if done is not None:
            return done
    commands = ctx.config.verify
    require_approval(ctx, commands, yes=approve)
    work = gather(ctx, slug, who)
    now = int(clock())
    # every session commit in order with its journal changes only (for history and tracing);
    # the code is in the squashed patch
    journal_text = format_series(work.commits(is_journal), keep_empty=True)
    subjects = work.subjects()
    touched = work.objects.changed_files(work.claim, work.tip)
    report = session_drift(work, now, allow_empty=allow_empty)
    preconditions(report, ctx.config.require_criteria, allow_empty=allow_empty)
    verifier = Verifier(work.objects, commands, {"SESSION_ID": slug})
    kb_slug: list[str | None] = [None]

    def build(snap: Snapshot) -> Change:
        ownership.check_holder(snap, slug, who, record)
        assert snap.commit is not None
        base = work.objects.merge_base(snap.commit, work.tip)
        logs = append_only_paths("active", slug)
        merged = work.objects.merge(base, snap.commit, work.tip, union=logs)
        if merged.tree is None:
            raise Conflict(
                f"completing {slug} conflicts with main in: {', '.join(merged.conflicts)}",
                hint="merge main into the session branch, resolve, commit, and complete again",
            )
        result = work.objects.snapshot_tree(merged.tree)
        # what the squash adds to main, not what the branch merged in from main
        kbrule.refuse_canonical_changes(
            slug, result.changed_paths(work.objects.snapshot(snap.commit), KNOWLEDGE)
        )
        # the hazards first: nothing from a refused tree is run
        unsafe = [
            *hazards.scan(result, session_dir("active", slug)),
            *hazards.scan(result, f"{KNOWLEDGE}/sessions/{slug}"),
        ]
        if unsafe:
            raise BadInput(
                f"refusing to complete {slug}: {unsafe[0]}",
                hint="remove it from the session branch with git rm, commit, complete again",
            )
        verified = verifier.check(merged.tree)
        title = message or _title(result, slug)
        done = session_dir("completed", slug)
        handoff = final_handoff(
            slug, "completed", result.text, when=now, agent=who, commits=subjects, files=touched
        )
        body = "\n".join(f"- {s}" for s in subjects)
        text = f"[{slug}] {kind}: {title}\n\n" + (f"Session commits:\n{body}\n\n" if body else "")
        text += f"Session: {slug}\n" + ("Allow-empty: yes\n" if allow_empty else "")
        text += trailers(verified, commands)
        code = diff_text(work.objects, snap.commit, merged.tree, is_code)
        squash = Squash.of(text, who.name, who.email, now, snap.commit, code)
        edits: list[Edit] = [
            Write(LOCK_FILE, lock_remove(snap.text(LOCK_FILE) or "", slug).encode()),
            Remove(f"{session_dir('active', slug)}/{ENV_FILE}"),
            Move(session_dir("active", slug), done),
            Write(f"{done}/{slug}.patch", format_squash(squash).encode()),
            Write(f"{done}/{slug}.journal.patch", journal_text.encode()),
            Write(f"{done}/drift.md", drift_mod.render(report).encode()),
            Write(f"{done}/HANDOFF.md", handoff.encode()),
        ]
        kb_slug[0] = None
        if not slug.startswith("kb-") and has_learnings(result.text(learnings_file(slug))):
            when = dt.datetime.fromtimestamp(now, dt.UTC)
            kb_slug[0], kb_edits = kb_session(snap, slug, when)
            edits += kb_edits
        return Change(tuple(edits), text, who, start_tree=merged.tree)

    def ending(commit: str) -> None:
        ownership.update(ctx.ws.common_dir, slug, ending="completed", tip=work.tip, commit=commit)
        faults.point("complete:before-publish")

    # each lost race redoes the merge and, with verify commands, runs them on the new tree
    timing = Timing(deadline=900.0) if commands else Timing()
    published = update_main(ctx.hub, build, timing, before_publish=ending)
    faults.point("complete:after-publish")
    removed = cleanup(ctx, slug, work.tip, keep_branch=False)
    return Completion(
        slug,
        published.commit,
        f"{session_dir('completed', slug)}/{slug}.patch",
        f"{session_dir('completed', slug)}/{slug}.journal.patch",
        f"{session_dir('completed', slug)}/drift.md",
        kb_slug[0],
        len(subjects),
        report.code_commits,
        allow_empty,
        [
            {"tree": v.tree, "commands": list(v.commands), "seconds": v.seconds}
            for v in verifier.runs
        ],
        published.attempts,
        removed,
    )


def _title(snap: Snapshot, slug: str) -> str:
    return catalog.parse_session(
        slug, "active", snap.text(f"{session_dir('active', slug)}/SESSION.md")
    ).title


def cleanup(ctx: Context, slug: str, tip: str, *, keep_branch: bool) -> bool:
    """Remove the worktree (or the session clone); unless kept, delete the session branch here
    and on the hub while it is still at `tip` (or behind it, on the hub): a branch with
    commits the ending did not archive is never deleted. Then forget the claim."""
    from git_sessions.clones import find_clone, remove_clone

    clone = find_clone(ctx, slug)
    path = worktree_path(ctx, slug)
    branch = worktree.branch_name(slug)
    ref = f"refs/heads/{branch}"
    with ctx.ws.lock():
        removed = ctx.ws.remove_worktree(slug, path) if clone is None else True
        faults.point("complete:in-cleanup")
        if not keep_branch:
            ctx.ws.delete_ref(ref, expected=tip)
            ctx.ws.delete_ref(f"refs/remotes/{ctx.config.remote}/{branch}")
    if not keep_branch:
        on_hub = ctx.hub.heads().get(ref)
        known = on_hub is not None and ctx.ws.objects.has(on_hub)
        if on_hub is not None and known and ctx.ws.objects.is_ancestor(on_hub, tip):
            ctx.hub.delete_ref(ref, expected=on_hub)
    ownership.forget(ctx.ws.common_dir, slug)
    if clone is not None:
        # last, outside the lock: the clone may be the repository this command runs in
        remove_clone(clone)
    return removed


def finish_ending(
    ctx: Context, slug: str, record: ownership.Record, state: str
) -> Completion | None:
    """A `complete` (or `abandon`) that landed on main but was stopped before its local
    cleanup: finish it. None if main does not show that ending (it never landed)."""
    snap = ctx.main()
    if transitions.current_state(snap, slug) != state or record.tip is None:
        return None
    removed = cleanup(ctx, slug, record.tip, keep_branch=state != "completed")
    folder = session_dir(state, slug)
    return Completion(
        slug,
        record.commit or "",
        f"{folder}/{slug}.patch",
        f"{folder}/{slug}.journal.patch",
        f"{folder}/drift.md",
        None,
        0,
        0,
        False,
        [],
        0,
        removed,
        resumed=True,
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
        unshallow(ctx.ws.root, ctx.config.remote)
    if snap.commit is None or not ctx.ws.has_commit(snap.commit):
        ctx.ws.fetch(ctx.config.remote, ctx.branch)
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
