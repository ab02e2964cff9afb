"""OVERRIDE: the one audited way to change a claimed session's frozen plan (seed 004).

An override is two commits with the same subject, `[<slug>] OVERRIDE: <reason>`:
- on main, by compare-and-swap, rewriting `active/<slug>/SESSION.md` (only the holder may), so
  `check` on main sees every plan change since the claim arrive in an audited commit;
- on the session branch, with the same SESSION.md, an `override` event in events.jsonl and a
  worklog line giving the reason, so drift and the squash merge agree with main.
Main goes first: if the claim was lost, nothing is written anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_sessions import catalog, events, journal, safefs, worktree
from git_sessions.context import Context
from git_sessions.edits import Change, Identity, Write
from git_sessions.errors import BadInput
from git_sessions.gitrepo import Snapshot
from git_sessions.protocol import OVERRIDE_FILE, blob_id, session_dir
from git_sessions.publish import update_main
from git_sessions.worklog import commit_message

SUBJECT = "OVERRIDE"
MAX_PLAN = 1_000_000


def subject_prefix(slug: str) -> str:
    return f"[{slug}] {SUBJECT}: "


def is_override(message: str, slug: str) -> bool:
    """Whether a commit message is an audited override of `slug`'s plan."""
    return message.startswith(subject_prefix(slug))


def plan_path(slug: str) -> str:
    return f"{session_dir('active', slug)}/SESSION.md"


def clean_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise BadInput("an override needs a reason", hint='say why: --reason "the API changed"')
    return text


def check_plan(text: str) -> str:
    """The new plan must be a usable SESSION.md: bounded, with front matter that parses."""
    if len(text.encode()) > MAX_PLAN:
        raise BadInput(f"the new plan is larger than {MAX_PLAN} bytes")
    if not text.strip():
        raise BadInput("the new plan is empty")
    problems = catalog.parse_fields(text).get("problems") or []
    if problems:
        raise BadInput(f"the new plan's front matter is invalid: {problems[0]}")
    return text if text.endswith("\n") else text + "\n"


def workspace_plan(ctx: Context, slug: str) -> Path | None:
    """SESSION.md in the session's worktree on this machine, if there is one."""
    wt = journal.session_worktree(ctx, slug)
    return wt / plan_path(slug) if wt is not None else None


def unlock(ctx: Context, slug: str) -> Path:
    """Make the workspace's SESSION.md writable for editing; its path. A symlink in its place
    is refused (chmod would change its target)."""
    wt = journal.session_worktree(ctx, slug)
    if wt is None or not safefs.chmod(wt, plan_path(slug), 0o644):
        raise BadInput(
            f"session {slug} has no worktree with a SESSION.md here",
            hint="pass the new plan with --file PATH (or --file - for stdin)",
        )
    return wt / plan_path(slug)


def refreeze(ctx: Context, slug: str) -> None:
    """Make the workspace's SESSION.md read-only again (after an override, or a failed one)."""
    wt = journal.session_worktree(ctx, slug)
    if wt is not None:
        worktree.freeze_plan(wt, "active", slug)


def main_change(
    ctx: Context, snap: Snapshot, slug: str, plan: str, message: str, who: Identity
) -> Change | None:
    from git_sessions.leases import check_holder

    check_holder(ctx, snap, slug, who)
    if snap.text(plan_path(slug)) == plan:
        return None  # published already (a retry after a lost reply)
    record = f"{session_dir('active', slug)}/{OVERRIDE_FILE}"
    # the default `check` accepts the plan `.override` names without reading history
    edits = (
        Write(plan_path(slug), plan.encode()),
        Write(record, f"plan {blob_id(plan.encode())}\n".encode()),
    )
    return Change(edits, message, who)


@dataclass(frozen=True)
class Overridden:
    slug: str
    reason: str
    main_commit: str
    branch_commit: str | None
    note: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def override(
    ctx: Context,
    slug: str,
    plan: str,
    reason: str,
    who: Identity,
    *,
    clock: Callable[[], float] = time.time,
) -> Overridden:
    """Replace the frozen plan of active session `slug` with `plan`, audited; re-freeze it."""
    why = clean_reason(reason)
    plan = check_plan(plan)
    if ctx.main().text(plan_path(slug)) == plan:
        raise BadInput(f"the new plan is the same as the frozen plan of {slug}")
    event = events.Event(int(clock()), "override", why)
    message = commit_message(slug, event)
    published = update_main(ctx.hub, lambda s: main_change(ctx, s, slug, plan, message, who))

    def new_plan(_: str | None, __: Sequence[events.Event]) -> str:
        return plan

    done = journal.record(
        ctx, slug, lambda _: event, extra={plan_path(slug): new_plan}, environ=_env(who, slug)
    )
    refreeze(ctx, slug)
    return Overridden(slug, why, published.commit, done.commit, done.note)


def _env(who: Identity, slug: str) -> Mapping[str, str]:
    """Commit the branch side as the same agent who was checked as the holder on main."""
    return {"SESSION_ID": slug, "GIT_AUTHOR_NAME": who.name, "GIT_AUTHOR_EMAIL": who.email}


def reasons(past: Sequence[events.Event]) -> list[str]:
    """The reasons of the overrides in a session's events, oldest first."""
    return [e.text for e in past if e.kind == "override"]
