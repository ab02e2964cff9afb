"""Abandoning a session: active -> abandoned, its partial work kept as a patch and a branch.

One protocol commit built on the fresh tip and published by compare-and-swap, like `complete`,
whose gathering and cleanup it shares; only the holder may, unless forced (and audited).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from git_sessions import coordination, faults, leases, ownership, transitions, worktree
from git_sessions.claiming import holder
from git_sessions.context import Context
from git_sessions.edits import Change, Edit, Identity, Remove, Write
from git_sessions.endings import cleanup, finish_ending
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo import LocalHub, Snapshot
from git_sessions.handoff import final as final_handoff
from git_sessions.patch import format_series, is_code, is_journal
from git_sessions.protocol import ENV_FILE, LOCK_FILE, lock_remove, session_dir
from git_sessions.publish import update_main
from git_sessions.work import gather


@dataclass(frozen=True)
class Abandonment:
    slug: str
    commit: str
    patch: str
    branch: str


def abandon(
    ctx: Context,
    slug: str,
    who: Identity,
    reason: str,
    *,
    force: bool = False,
    clock: Callable[[], float] = time.time,
) -> Abandonment:
    """active -> abandoned: reason in worklog.md, partial work kept as a patch and a branch.

    Only the holder may, unless `force`: then the holder's work as last pushed to the hub is
    kept, and the commit and the worklog name who forced it."""
    if not reason.strip():
        raise BadInput("abandoning needs a reason", hint='pass --reason "why"')
    record = ownership.load(ctx.ws.common_dir, slug)
    if record is not None and record.ending == "abandoned":
        done = finish_ending(ctx, slug, record, "abandoned")
        if done is not None:
            return Abandonment(slug, done.commit, done.patch, worktree.branch_name(slug))
    work = gather(ctx, slug, who, force=force)
    mine = work.held
    if mine and not isinstance(ctx.hub, LocalHub):
        leases.push_branch(ctx, slug, work.tip)
    patch_text = format_series(work.commits(is_code))
    journal_text = format_series(work.commits(is_journal), keep_empty=True)
    subjects, touched = work.subjects(), work.objects.changed_files(work.claim, work.tip)
    stamp = dt.datetime.fromtimestamp(int(clock()), dt.UTC).isoformat(timespec="seconds")

    def build(snap: Snapshot) -> Change:
        audit = ""
        if not ownership.holds(snap, slug, who, record):
            if not force:
                ownership.check_holder(snap, slug, who, record)
            if transitions.current_state(snap, slug) != "active":
                raise Conflict(f"session {slug} is {transitions.current_state(snap, slug)}")
            audit = ownership.forced_note(who, holder(snap, slug))
        src, dst = session_dir("active", slug), session_dir("abandoned", slug)
        tip = work.objects.snapshot(work.tip)
        edits: list[Edit] = [
            Write(LOCK_FILE, lock_remove(snap.text(LOCK_FILE) or "", slug).encode()),
            Remove(src),
        ]
        for path, data in tip.files(src):
            name = path[len(src) + 1 :]
            if name == ENV_FILE:
                continue
            if name == "worklog.md":
                data += (
                    f"\n## {stamp} Abandoned\n\nBy {who.name} <{who.email}>."
                    f" Reason: {reason.strip()}\n"
                    f"Work kept on branch {worktree.branch_name(slug)} and in {slug}.patch.\n"
                    + (f"{audit}\n" if audit else "")
                ).encode()
            edits.append(Write(f"{dst}/{name}", data))
        edits.append(Write(f"{dst}/{slug}.patch", patch_text.encode()))
        edits.append(Write(f"{dst}/{slug}.journal.patch", journal_text.encode()))
        status = f"abandoned: {reason.strip()}"
        handoff = final_handoff(
            slug, status, tip.text, when=int(clock()), agent=who, commits=subjects, files=touched
        )
        edits.append(Write(f"{dst}/HANDOFF.md", handoff.encode()))
        message = f"[{slug}] chore: abandon session" + (f"\n\n{audit}\n" if audit else "")
        return Change(tuple(edits), message, who)

    def ending(commit: str) -> None:
        if mine:
            ownership.update(
                ctx.ws.common_dir, slug, ending="abandoned", tip=work.tip, commit=commit
            )
        faults.point("abandon:before-publish")

    claims = {slug: coordination.protocol_claim(work.objects, work.claim)}
    published = update_main(ctx.hub, build, before_publish=ending, claims=claims)
    faults.point("abandon:after-publish")
    if mine:
        cleanup(ctx, slug, work.tip, keep_branch=True)
    return Abandonment(
        slug,
        published.commit,
        f"{session_dir('abandoned', slug)}/{slug}.patch",
        worktree.branch_name(slug),
    )
