"""Whether one move of the protocol branch is legal: what `git sessions guard` holds each
pushed commit to, against the commit before it.

Two kinds of rule. The moves: each session goes only where TRANSITIONS allow, an active
session is changed, completed or abandoned only by its holder (the identity its claim wrote
into `.session-env`; the commit's author and committer must both be that identity), released
by force only with the audit line the tool writes, reaped only once its lease ran out, never
claimed a second time while held, and its plan changes only in an audited OVERRIDE commit.
The invariants: every violation `check` would report on the new commit that it did not
report on the one before (so a hub with an old violation still accepts traffic that leaves it
as it was).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from git_sessions import check
from git_sessions.edits import Identity
from git_sessions.holders import CLAIM_FILE as HOLDER_FILE
from git_sessions.protocol import (
    AGENTS,
    CLAIM_FILE,
    ENV_FILE,
    LOCK_FILE,
    SESSIONS,
    STATES,
    TRANSITIONS,
    commit_message,
    is_slug,
    parse_claim_marker,
    parse_lock,
)

if TYPE_CHECKING:
    from git_sessions.gitrepo import Snapshot

# What only a claim writes: changed while the session stays active, it is a second claim.
CLAIM_FILES = (CLAIM_FILE, ENV_FILE, HOLDER_FILE)


@dataclass(frozen=True)
class Step:
    """One move of the protocol branch: `after` is the pushed commit, `before` the value the
    branch had just before it."""

    before: Snapshot
    after: Snapshot
    author: Identity
    committer: Identity
    message: str


@dataclass(frozen=True)
class Leases:
    """What reaping is judged by: the hub's lease TTL, the time now, and the hub's session
    branches' commit times (read only when a reap is pushed)."""

    ttl: int
    now: int
    branch_times: Callable[[], dict[str, int]]


def judge(step: Step, leases: Leases) -> str | None:
    """Why `step` is illegal, or None. A commit that leaves `_AGENTS/` alone is code."""
    if step.before.object_id(AGENTS) == step.after.object_id(AGENTS):
        return None
    return _moves(step, leases) or _records(step) or _invariants(step)


def where(snap: Snapshot, states: tuple[str, ...] = STATES) -> dict[str, str]:
    """Each session slug in these state folders and its state (the first, if several)."""
    found: dict[str, str] = {}
    for state in states:
        for name in snap.listdir(f"{SESSIONS}/{state}"):
            if is_slug(name):
                found.setdefault(name, state)
    return found


def _who(person: Identity) -> str:
    return f"{person.name} <{person.email}>"


def _moves(step: Step, leases: Leases) -> str | None:
    # a state folder that did not change holds the same sessions before and after: only the
    # changed ones are read (completed/ alone may hold thousands)
    changed = tuple(
        state
        for state in STATES
        if step.before.object_id(f"{SESSIONS}/{state}")
        != step.after.object_id(f"{SESSIONS}/{state}")
    )
    before, after = where(step.before, changed), where(step.after, changed)
    locks = [
        {e.slug: e.since for e in parse_lock(snap.text(LOCK_FILE) or "")[0]}
        for snap in (step.before, step.after)
    ]
    for slug in sorted(before.keys() | after.keys()):
        src, dst = before.get(slug), after.get(slug)
        if src is None and dst is not None:
            if dst not in ("drafting", "planned"):
                return (
                    f"session {slug} appears in {dst}/: new sessions start in drafting/ or planned/"
                )
        elif src is not None and dst is None:
            return f"session {slug} was deleted from {src}/"
        elif src != dst:
            assert src is not None and dst is not None
            problem = _transition(step, leases, slug, src, dst)
            if problem:
                return problem
        elif src == "active":
            held = locks[0].get(slug) != locks[1].get(slug)
            problem = _active_change(step, slug, held)
            if problem:
                return problem
    return None


def _holder(snap: Snapshot, slug: str) -> Identity | None:
    from git_sessions.claiming import identity_in_env

    return identity_in_env(snap.text(f"{SESSIONS}/active/{slug}/{ENV_FILE}"))


# git drops these from both ends of a name when it writes a signature (ident.c's "crud")
_CRUD = ".,:;<>\"'\\ \t\n"


def _same(a: Identity, b: Identity) -> bool:
    return (a.name.strip(_CRUD), a.email) == (b.name.strip(_CRUD), b.email)


def _is(step: Step, person: Identity | None) -> bool:
    """Both the author and the committer of the step are `person`."""
    return person is not None and all(_same(p, person) for p in (step.author, step.committer))


def _transition(step: Step, leases: Leases, slug: str, src: str, dst: str) -> str | None:
    verb = TRANSITIONS.get((src, dst))
    if verb is None:
        return f"session {slug} cannot move from {src} to {dst}"
    if dst == "active":
        problem = _claim(step, slug)
        if problem:
            return problem
    if src != "active":
        return None
    owner = _holder(step.before, slug)
    if _is(step, owner):
        return None
    subject = step.message.split("\n", 1)[0]
    if subject == commit_message(slug, "reap"):
        return _reap(step, leases, slug)
    from git_sessions.ownership import forced_note

    # an audited takeover (release --force, abandon --force): the line those commands write,
    # naming the committer (as author too) and the holder it took the session from
    audit = forced_note(step.committer, owner)
    if verb in ("release", "abandon") and audit in step.message and _is(step, step.committer):
        return None
    held = _who(owner) if owner else "an unknown agent"
    return f"only the holder {held} may {verb} session {slug} (committed by {_who(step.committer)})"


def _claim(step: Step, slug: str) -> str | None:
    """A claim freezes the plan as it was planned, names its committer in `.session-env`, and
    its `.claim` (which the default `check` trusts instead of walking history) says exactly
    that: the commit it was built on, the plan and the `.session-env` it wrote."""
    claimer = _holder(step.after, slug)
    if not _is(step, claimer):
        named = _who(claimer) if claimer else "nobody"
        return (
            f"the claim of {slug} names {named} in {ENV_FILE} but was committed by"
            f" {_who(step.committer)}"
        )
    folder = f"{SESSIONS}/active/{slug}"
    plan = step.before.object_id(f"{SESSIONS}/planned/{slug}/SESSION.md")
    if step.after.object_id(f"{folder}/SESSION.md") != plan:
        return f"the claim of {slug} changed its plan (SESSION.md)"
    text = step.after.text(f"{folder}/{CLAIM_FILE}")
    if text is None:
        return None  # a claim without the marker: `check` finds it by walking history
    marker = parse_claim_marker(text)
    parent = step.after.parent()
    if (
        marker is None
        or parent is None
        or marker.base != parent.commit
        or marker.plan not in (None, plan)
        or marker.env not in (None, step.after.object_id(f"{folder}/{ENV_FILE}"))
    ):
        return f"the claim of {slug} has a {CLAIM_FILE} that does not describe it"
    return None


def _reap(step: Step, leases: Leases, slug: str) -> str | None:
    from git_sessions.leases import BRANCHES
    from git_sessions.leases import leases as current

    found = current(step.before, leases.branch_times(), only=slug)
    if found and leases.now - found[0].last_life <= leases.ttl:
        quiet = leases.now - found[0].last_life
        return (
            f"session {slug} showed life {quiet}s ago: it may be reaped only after"
            f" lease_ttl ({leases.ttl}s) without a sign of life (commits on {BRANCHES}{slug}"
            " or a renewed lock line)"
        )
    return None


def _active_change(step: Step, slug: str, lock_changed: bool) -> str | None:
    folder = f"{SESSIONS}/active/{slug}"
    if step.before.object_id(folder) == step.after.object_id(folder) and not lock_changed:
        return None
    if not lock_changed and _spawned_into(step, folder):
        return None
    owner = _holder(step.before, slug)
    held = _who(owner) if owner else "an unknown agent"
    for name in CLAIM_FILES:
        if step.before.object_id(f"{folder}/{name}") != step.after.object_id(f"{folder}/{name}"):
            return f"session {slug} is already claimed by {held}: {name} may not change"
    if not _is(step, owner):
        return (
            f"only the holder {held} may change active session {slug}"
            f" (committed by {_who(step.committer)})"
        )
    from git_sessions.overrides import is_override  # it imports the journal: only when needed

    plan = f"{folder}/SESSION.md"
    if step.before.object_id(plan) != step.after.object_id(plan) and not is_override(
        step.message, slug
    ):
        return (
            f"the plan (SESSION.md) of active session {slug} changed without an audited"
            f" '[{slug}] OVERRIDE: <reason>' commit (git sessions override)"
        )
    return None


def _spawned_into(step: Step, folder: str) -> bool:
    """Anyone may spawn a subsession of an active session: its only change to the parent is
    a line appended to `subsessions.md`."""
    path = f"{folder}/subsessions.md"
    if step.after.changed_paths(step.before, folder) != [path]:
        return False
    old, new = step.before.read(path) or b"", step.after.read(path) or b""
    return new.startswith(old)


def _records(step: Step) -> str | None:
    """An end record (`.ended`) is written only by the commit right after the one that ended
    its session, by the same identity, with exactly the content `endrecord` computes."""
    from git_sessions import endrecord

    written = endrecord.recorded(step.before, step.after)
    if not written:
        return None
    subject = step.message.split("\n", 1)[0]
    reason = endrecord.problem(step.before, step.after, subject, written)
    if reason is None and not _is(step, endrecord.ending_author(step.before)):
        reason = f"{written[0][1]}'s end record must be committed by whoever ended it"
    return reason


def _invariants(step: Step) -> str | None:
    """The first violation of `check` that `after` has and `before` had not."""

    # entries git cannot check out are looked for in the whole tree (30 ms per 20,000 files,
    # twice): only when the commit changed more than _AGENTS/, which is scanned anyway
    code = any(
        step.before.object_id(name) != step.after.object_id(name)
        for name in {*step.before.listdir(""), *step.after.listdir("")} - {AGENTS}
    )

    def found(snap: Snapshot) -> list[check.Violation]:
        return (
            check.check_layout(snap)
            + (check.check_hazards(snap) if code else _agents_hazards(snap))
            + check.check_frozen_plans(snap)
            + check.check_session_envs(snap)
            + check.check_knowledge(snap, deep=False)
        )

    fresh = new_violations(found(step.before), found(step.after))
    return fresh[0] if fresh else None


def _agents_hazards(snap: Snapshot) -> list[check.Violation]:
    """check_hazards without the whole-tree scan (its outside-_AGENTS/ part did not change)."""
    from git_sessions import hazards

    return [
        check.Violation("hazard", p) for p in [*hazards.layout(snap), *hazards.scan(snap, AGENTS)]
    ]


def new_violations(before: list[check.Violation], after: list[check.Violation]) -> list[str]:
    """`after`'s violations that `before` did not have, as `rule: message` lines."""
    old = {_key(v) for v in before}
    return [f"{v.rule}: {v.message}" for v in after if _key(v) not in old]


# A session's problem moves with it: claiming a planned session with a bad journal line is no
# new violation, though the path in the message now says active/.
_STATE_FOLDER = re.compile(r"\b(?:" + "|".join(STATES) + r")/")


def _key(v: check.Violation) -> tuple[str, str, str | None]:
    return (v.rule, _STATE_FOLDER.sub("*/", v.message), v.commit)
