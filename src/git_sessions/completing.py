"""Ending a session with `complete` (squash merge, patch, drift, archive, KB session). What
`abandon` shares with it lives in `work` (gathering the work) and `endings` (cleaning up,
finishing an interrupted ending).

Both are one protocol commit on main built on the fresh tip and published by compare-and-swap;
a lost race redoes the merge on the new tip. Local cleanup follows only after that succeeds, so
nothing is lost if the commit does not land.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from git_sessions import (
    catalog,
    coordination,
    faults,
    hazards,
    kbrule,
    landings,
    ownership,
)
from git_sessions import drift as drift_mod
from git_sessions.context import Context
from git_sessions.edits import Change, Edit, Identity, Move, Remove, Write
from git_sessions.endings import Completion, cleanup, finish_ending
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo import Snapshot
from git_sessions.gitrepo.comparison import diff_text
from git_sessions.handoff import final as final_handoff
from git_sessions.journal import learnings_file
from git_sessions.knowledge import has_learnings, kb_session
from git_sessions.patch import (
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
from git_sessions.work import gather, session_drift

COMMIT_TYPES = ("feat", "fix", "refactor", "docs", "test", "chore", "perf", "build")


def complete(
    ctx: Context,
    slug: str,
    who: Identity,
    *,
    message: str | None = None,
    kind: str = "feat",
    allow_empty: bool = False,
    approve: bool = False,
    land: str | None = None,
    clock: Callable[[], float] = time.time,
) -> Completion:
    """Squash-merge the session into main with its patches, drift report and archive; with
    `verify:` commands configured, only a merged tree that passed them is published."""
    if kind not in COMMIT_TYPES:
        raise BadInput(
            f"unknown commit type {kind!r}", hint=f"use one of: {', '.join(COMMIT_TYPES)}"
        )
    landing = landings.mode(ctx, land)
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
        if ctx.split:  # the view joins main's code with the coordination branch's _AGENTS/
            base = coordination.merge_base(work.objects, base, work.claim)
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
        parent = snap.parent() if ctx.split else snap  # the view's parent is main's tip
        assert parent is not None and parent.commit is not None
        squash = Squash.of(text, who.name, who.email, now, parent.commit, code)
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
    if ctx.split:
        claim = coordination.protocol_claim(work.objects, work.claim)
        split = landings.publish(ctx, slug, build, timing, ending, landing, record, claim)
        commit, attempts = split.code or split.archive, split.attempts
    else:
        published = update_main(
            ctx.hub, build, timing, before_publish=ending, claims={slug: work.claim}
        )
        commit, attempts = published.commit, published.attempts
    faults.point("complete:after-publish")
    removed = cleanup(ctx, slug, work.tip, keep_branch=False)
    return Completion(
        slug,
        commit,
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
        attempts,
        removed,
        landing=landings.waiting_branch(slug) if landing == "review" else None,
    )


def _title(snap: Snapshot, slug: str) -> str:
    return catalog.parse_session(
        slug, "active", snap.text(f"{session_dir('active', slug)}/SESSION.md")
    ).title
