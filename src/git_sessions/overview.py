"""The board: every session at a glance, from one read of the hub (main and its branches).

For an active session the hub's session branch (pushed by heartbeats and journal commands) is
compared with main in memory: commits ahead and behind, whether merging it now would conflict,
and the drift of its plan. Ended sessions are summed up from the drift.md they left behind.
Each state folder is walked once (DESIGN.md: lookups from the root re-parse big trees).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import yaml

from git_sessions import catalog, events
from git_sessions import drift as drift_mod
from git_sessions.claiming import parse_env
from git_sessions.context import Context
from git_sessions.edits import Identity
from git_sessions.gitrepo import Snapshot
from git_sessions.gitrepo.comparison import ahead_behind, merge_conflicts
from git_sessions.gitrepo.objects import Objects
from git_sessions.landings import LANDING_FILE, parse_marker
from git_sessions.leases import BRANCHES, parse_duration
from git_sessions.protocol import (
    ENV_FILE,
    LOCK_FILE,
    SESSIONS,
    STATES,
    append_only_paths,
    parse_lock,
    session_dir,
)

EVENTS = "events.jsonl"


@dataclass(frozen=True)
class Row:
    slug: str
    state: str
    title: str
    holder: Identity | None = None
    lease_age: int | None = None  # seconds since the last sign of life
    ttl: int = 0
    criteria_done: int = 0
    criteria_total: int = 0
    unplanned: int = 0
    ahead: int | None = None  # session commits main does not have (None: no branch on the hub)
    behind: int | None = None
    conflicts: tuple[str, ...] = ()
    last_event: events.Event | None = None
    blockers: tuple[str, ...] = ()
    landing: str | None = None  # completed, its code waiting on this review branch

    @property
    def stale(self) -> bool:
        return self.lease_age is not None and self.lease_age > self.ttl

    @property
    def waiting(self) -> bool:
        """Work is done by its own account (every criterion met) but not landed yet."""
        if self.landing is not None:  # completed through a review branch not merged yet
            return True
        done = self.criteria_total > 0 and self.criteria_done == self.criteria_total
        return self.state == "active" and bool(self.ahead) and done and not self.conflicts

    def problems(self) -> list[str]:
        found = []
        if self.stale:
            found.append("stale lease")
        if self.blockers:
            found.append("blocked")
        if self.conflicts:
            found.append("conflicts with main")
        if self.waiting:
            found.append("waiting to land")
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "state": self.state,
            "title": self.title,
            "holder": None
            if self.holder is None
            else {"name": self.holder.name, "email": self.holder.email},
            "lease_age": self.lease_age,
            "lease_ttl": self.ttl,
            "stale": self.stale,
            "criteria": {"done": self.criteria_done, "total": self.criteria_total},
            "unplanned_files": self.unplanned,
            "ahead": self.ahead,
            "behind": self.behind,
            "conflicts": list(self.conflicts),
            "blockers": list(self.blockers),
            "waiting_to_land": self.waiting,
            "landing": self.landing,
            "last_event": None if self.last_event is None else self.last_event.to_json(),
            "problems": self.problems(),
        }


@dataclass(frozen=True)
class Branch:
    """A session branch on the hub, readable through `objects`."""

    tip: str
    time: int
    objects: Objects


def hub_branches(ctx: Context) -> dict[str, Branch]:
    """slug -> its session branch on the hub (fetched first from a remote hub)."""
    hub = ctx.hub
    times = hub.branch_times(BRANCHES)
    heads = hub.heads()
    found = {}
    for ref, when in times.items():
        tip = heads.get(ref)
        if tip is not None and hub.objects.has(tip):
            found[ref.removeprefix(f"refs/heads/{BRANCHES}")] = Branch(tip, when, hub.objects)
    return found


def _blob(snap: Snapshot, blobs: dict[str, str], slug: str) -> str:
    blob = blobs.get(slug)
    return snap.blob_text(blob) if blob else ""


def _last(text: str) -> tuple[events.Event | None, tuple[str, ...]]:
    past = events.parse_jsonl(text)
    return (past[-1] if past else None), tuple(events.open_blockers(past))


def criteria_parse(plan: str) -> bool:
    """Whether the plan's front matter parses (drift of a broken plan is left out)."""
    try:
        drift_mod.criteria(plan)
    except (ValueError, yaml.YAMLError):
        return False
    return True


def criteria(plan: str) -> list[drift_mod.Criterion]:
    """The plan's checkboxes; none if its front matter is broken (`check` reports that)."""
    try:
        return drift_mod.criteria(plan)
    except (ValueError, yaml.YAMLError):
        return []


def branch_drift(
    snap: Snapshot, slug: str, plan: str, branch: Branch
) -> tuple[Snapshot, str | None, drift_mod.Drift]:
    """The tip of active session `slug`'s hub branch, its merge base with main (`snap`),
    and the drift of that branch against the plan frozen on main."""
    folder = session_dir("active", slug)
    objects = branch.objects
    tip = objects.snapshot(branch.tip)
    base = objects.merge_base(snap.commit, branch.tip) if snap.commit else None
    notes = ("worklog.md", *drift_mod.SCOPE_FILES)
    report = drift_mod.compute(
        slug,
        plan,
        tip.text(f"{folder}/SESSION.md") or "",
        {n: snap.text(f"{folder}/{n}") or "" for n in notes},
        {n: tip.text(f"{folder}/{n}") or "" for n in notes},
        objects.changed_files(base, branch.tip) if base else [],
        started=0,
        ended=0,
        commits=0,
    )
    return tip, base, report


def active_row(
    snap: Snapshot, slug: str, title: str, plan: str, branch: Branch | None, ttl: int
) -> Row:
    """An active session against main: lease, drift of its branch, ahead/behind, conflicts."""
    folder = session_dir("active", slug)
    if branch is None or snap.commit is None or not criteria_parse(plan):
        crits = criteria(plan)
        last, blockers = _last(snap.text(f"{folder}/{EVENTS}") or "")
        return Row(
            slug,
            "active",
            title,
            criteria_done=sum(c.checked for c in crits),
            criteria_total=len(crits),
            last_event=last,
            blockers=blockers,
            ttl=ttl,
        )
    objects = branch.objects
    tip, base, report = branch_drift(snap, slug, plan, branch)
    ahead, behind = ahead_behind(objects, branch.tip, snap.commit)
    conflicts = merge_conflicts(
        objects, base, snap.commit, branch.tip, append_only_paths("active", slug)
    )
    last, blockers = _last(tip.text(f"{folder}/{EVENTS}") or "")
    return Row(
        slug,
        "active",
        title,
        criteria_done=sum(c.checked for c in report.criteria),
        criteria_total=len(report.criteria),
        unplanned=len(report.unplanned_files),
        ahead=ahead,
        behind=behind,
        conflicts=conflicts,
        last_event=last,
        blockers=blockers,
        ttl=ttl,
    )


def _ended_numbers(text: str) -> tuple[int, int, int]:
    """(criteria met, criteria, unplanned files) from a drift.md; zeros if unreadable."""
    try:
        meta = drift_mod.parse(text) if text else {}
    except (ValueError, yaml.YAMLError):  # hub content: a broken report has no numbers
        return 0, 0, 0
    crits = meta.get("criteria")
    crits = crits if isinstance(crits, list) else []
    unplanned = meta.get("unplanned_files")
    done = sum(1 for c in crits if isinstance(c, dict) and c.get("checked"))
    return done, len(crits), len(unplanned) if isinstance(unplanned, list) else 0


def rows(
    ctx: Context, now: int, states: tuple[str, ...] = STATES, snap: Snapshot | None = None
) -> list[Row]:
    """One row per session, in state order then by slug (of `snap`, default a fresh main)."""
    snap = snap or ctx.main()
    ttl = parse_duration(ctx.config.lease_ttl)
    branches = hub_branches(ctx) if "active" in states else {}
    cache = ctx.plans()
    sessions = catalog.all_sessions(snap, states, cache=cache)
    lock, _ = parse_lock(snap.text(LOCK_FILE) or "")
    since = {e.slug: e.since for e in lock}
    by_state: dict[str, dict[str, dict[str, str]]] = {}
    for state in states:
        names = ["SESSION.md", EVENTS]
        names += [ENV_FILE] if state == "active" else []
        names += ["drift.md"] if state in ("completed", "abandoned") else []
        names += [LANDING_FILE] if state == "completed" and ctx.split else []
        by_state[state] = {n: snap.folder_files(f"{SESSIONS}/{state}", n) for n in names}
    found = []
    for session in sessions:
        slug, state = session.slug, session.state
        blobs = by_state[state]
        if state == "active":
            row = active_row(
                snap,
                slug,
                session.title,
                _blob(snap, blobs["SESSION.md"], slug),
                branches.get(slug),
                ttl,
            )
            env = parse_env(_blob(snap, blobs[ENV_FILE], slug))
            name, email = env.get("GIT_AUTHOR_NAME"), env.get("GIT_AUTHOR_EMAIL")
            life = max(since.get(slug, 0), branches[slug].time if slug in branches else 0)
            row = _with(
                row,
                holder=Identity(name, email) if name and email else None,
                lease_age=max(0, now - life) if life else None,
                ttl=ttl,
            )
        else:
            last, blockers = _last(_blob(snap, blobs[EVENTS], slug))
            if state in ("completed", "abandoned"):
                # drift.md is YAML: parsing a thousand is most of a cold board, so its numbers
                # are kept in the plan cache under the blob id (content-named: never stale)
                blob = blobs["drift.md"].get(slug)
                key = f"drift:{blob}"
                if blob and isinstance(cache.get(key), list) and len(cache[key]) == 3:
                    done, total, unplanned = (int(n) for n in cache[key])
                else:
                    done, total, unplanned = _ended_numbers(_blob(snap, blobs["drift.md"], slug))
                    if blob:
                        cache[key] = [done, total, unplanned]
            else:
                crits = criteria(_blob(snap, blobs["SESSION.md"], slug))
                done, total, unplanned = sum(c.checked for c in crits), len(crits), 0
            row = Row(
                slug,
                state,
                session.title,
                ttl=ttl,
                criteria_done=done,
                criteria_total=total,
                unplanned=unplanned,
                last_event=last,
                blockers=blockers if state != "completed" else (),
                landing=_landing(snap, blobs.get(LANDING_FILE, {}).get(slug)),
            )
        found.append(row)
    ctx.save_plans()
    return found


def _landing(snap: Snapshot, blob: str | None) -> str | None:
    """The review branch a completed session's code still waits on, if any."""
    marker = parse_marker(snap.blob_text(blob)) if blob else None
    return marker.branch if marker is not None and marker.landed is None else None


def _with(row: Row, **changes: Any) -> Row:
    return replace(row, **changes)
