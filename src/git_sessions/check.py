"""`check`: the invariants of DESIGN.md section 1, verified on a snapshot of main."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from git_sessions import hazards, sessionenv
from git_sessions.errors import GitFailure
from git_sessions.history import claim_commits
from git_sessions.protocol import (
    CLAIM_FILE,
    CONFIG_FILE,
    ENDED_FILE,
    ENV_FILE,
    INIT_SUBJECT,
    KNOWLEDGE,
    LOCK_FILE,
    OVERRIDE_FILE,
    SESSIONS,
    STATES,
    ClaimMarker,
    is_slug,
    parse_claim_marker,
    parse_lock,
)

if TYPE_CHECKING:
    from git_sessions.gitrepo import Snapshot as History
    from git_sessions.gitrepo.reflocks import StaleLock

_SESSION_KNOWLEDGE = f"{KNOWLEDGE}/sessions/"
_KNOWLEDGE_README = f"{KNOWLEDGE}/README.md"  # init may create it; only kb- sessions change it


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    commit: str | None = None


def session_slug_of(message: str) -> str | None:
    """The `<slug>` of a `[<slug>] type: ...` subject, if any."""
    if message.startswith("[") and "]" in message:
        return message[1 : message.index("]")]
    return None


def check_layout(snap: History) -> list[Violation]:
    found: list[Violation] = []
    where: dict[str, list[str]] = {}
    for state in STATES:
        folder = f"{SESSIONS}/{state}"
        plans = snap.folder_blobs(folder, ["SESSION.md"])  # one pass over the folder
        for name in snap.listdir(folder):
            if name == ".gitkeep":
                continue
            if not is_slug(name):
                found.append(Violation("slug", f"{state}/{name} is not a valid session slug"))
                continue
            where.setdefault(name, []).append(state)
            if "SESSION.md" not in plans.get(name, {}):
                found.append(Violation("layout", f"{state}/{name} has no SESSION.md"))
    for slug, states in sorted(where.items()):
        if len(states) > 1:
            found.append(
                Violation("one-state", f"{slug} is in several states: {', '.join(states)}")
            )
    lock = snap.text(LOCK_FILE)
    if lock is None:
        found.append(Violation("layout", f"{LOCK_FILE} is missing (run: git sessions init)"))
    entries, bad = parse_lock(lock or "")
    for line in bad:
        found.append(Violation("lock", f"malformed line in sessions.lock: {line!r}"))
    counts = Counter(e.slug for e in entries)
    active = {s for s, states in where.items() if "active" in states}
    for slug, n in sorted(counts.items()):
        if n > 1:
            found.append(Violation("lock", f"{slug} is listed {n} times in sessions.lock"))
        if slug not in active:
            found.append(Violation("lock", f"{slug} is in sessions.lock but not active"))
    for slug in sorted(active - set(counts)):
        found.append(Violation("lock", f"active session {slug} is missing from sessions.lock"))
    return found


def check_frozen_plans(snap: History, *, deep: bool = False) -> list[Violation]:
    """SESSION.md of every active session is its version at the claim, changed since only by
    audited `[<slug>] OVERRIDE: <reason>` commits.

    By default, for a session whose claim recorded its plan (`.claim`, which an override
    rewrites with the new plan's id), one lookup, however long main's history. `deep` (and a
    session without the marker) finds the claim commit, and the overrides since, by walking
    main instead."""
    active = [n for n in snap.listdir(f"{SESSIONS}/active") if is_slug(n)]
    found: list[Violation] = []
    if not deep:
        marked = _markers(snap)
        found += _frozen_by_marker(snap, marked)
        active = [slug for slug in active if slug not in marked]
    claims = claim_commits(snap, active)
    for slug, claimed in sorted(claims.items()):
        path = f"{SESSIONS}/active/{slug}/SESSION.md"
        before = claimed.parent()
        planned = before.object_id(f"{SESSIONS}/planned/{slug}/SESSION.md") if before else None
        if planned is not None and claimed.object_id(path) != planned:
            found.append(
                Violation(
                    "frozen-plan",
                    f"SESSION.md of {slug} was edited by the commit that claimed it",
                    claimed.commit,
                )
            )
    found += _unaudited_plan_edits(snap, claims)
    return found


def _unaudited_plan_edits(snap: History, claims: dict[str, History]) -> list[Violation]:
    """Each active SESSION.md must be byte-identical to its version at the claim or, after an
    audited `[<slug>] OVERRIDE: ...` commit, to the version the newest override wrote.

    One walk down to the oldest claim finds the newest override of each session; commits that
    leave active/ alone are skipped cheaply.
    """
    from git_sessions.overrides import is_override

    pending = {slug: claimed.commit for slug, claimed in claims.items()}
    audited: dict[str, History] = {}
    child: History | None = snap
    while pending and child is not None:
        for slug in [s for s, commit in pending.items() if commit == child.commit]:
            del pending[slug]
        parent = child.parent()
        if parent is None or not pending:
            break
        if child.object_id(f"{SESSIONS}/active") != parent.object_id(f"{SESSIONS}/active"):
            for slug in [s for s in pending if is_override(child.message, s)]:
                path = f"{SESSIONS}/active/{slug}/SESSION.md"
                if child.object_id(path) != parent.object_id(path):
                    audited[slug] = child
                    del pending[slug]
        child = parent
    found: list[Violation] = []
    for slug, claimed in sorted(claims.items()):
        path = f"{SESSIONS}/active/{slug}/SESSION.md"
        frozen = audited.get(slug, claimed)
        if frozen.object_id(path) != snap.object_id(path):
            since = "its OVERRIDE" if slug in audited else "its claim"
            found.append(
                Violation(
                    "frozen-plan",
                    f"SESSION.md of active session {slug} changed since {since}",
                    frozen.commit,
                )
            )
    return found


Marked = dict[str, tuple[ClaimMarker, str | None, str | None]]


def _markers(snap: History) -> Marked:
    """Each active session's parsed `.claim`, its SESSION.md blob id and the plan id its newest
    OVERRIDE recorded, if any (one folder pass)."""
    found: Marked = {}
    names = ["SESSION.md", CLAIM_FILE, OVERRIDE_FILE]
    for slug, blobs in snap.folder_blobs(f"{SESSIONS}/active", names).items():
        marker = (
            parse_claim_marker(snap.blob_text(blobs[CLAIM_FILE])) if CLAIM_FILE in blobs else None
        )
        if is_slug(slug) and marker is not None:
            # `.override` holds a `.claim`-style plan line: parsed (and bounded) the same way
            override = parse_claim_marker(
                f"base {marker.base}\n{snap.blob_text(blobs[OVERRIDE_FILE]) or ''}"
                if OVERRIDE_FILE in blobs
                else None
            )
            found[slug] = (marker, blobs.get("SESSION.md"), override.plan if override else None)
    return found


def _frozen_by_marker(snap: History, marked: Marked) -> list[Violation]:
    """The plan frozen by the claim, as `.claim` records it (or the plan an audited override
    recorded in `.override`): compared without any history."""
    found: list[Violation] = []
    for slug, (marker, current, overridden) in sorted(marked.items()):
        frozen = marker.plan
        if frozen is None:  # a marker without the plan id: the plan in the base commit
            try:
                frozen = snap.at(marker.base).object_id(f"{SESSIONS}/planned/{slug}/SESSION.md")
            except GitFailure:
                found.append(
                    Violation(
                        "frozen-plan", f"{slug}: its .claim names unknown commit {marker.base}"
                    )
                )
                continue
        if current not in (frozen, overridden):
            since = "its OVERRIDE" if overridden else "its claim"
            found.append(
                Violation(
                    "frozen-plan", f"SESSION.md of active session {slug} changed since {since}"
                )
            )
    return found


def check_knowledge(snap: History, *, deep: bool = True, honour: bool = True) -> list[Violation]:
    """Only kb- sessions change _AGENTS/knowledge/ outside knowledge/sessions/.

    History is judged from the oldest commit that initialised git-sessions on (a repository
    that adopts the protocol is not failed for what it did before; a later re-run of `init`
    hides nothing). Without `deep`, only the latest commit is judged (each commit was the
    latest once: run `check --deep` for the record). Violations acknowledged on main (see
    kbrule.py) are not counted unless `honour` is false.
    """
    from git_sessions.kbrule import acknowledged

    found: list[Violation] = []
    judged = None  # how many of `found` are newer than the oldest init seen so far
    child: History | None = snap
    steps = 0
    while child is not None:
        if child.message.startswith(INIT_SUBJECT):
            judged = len(found)
        if not deep and steps == 1:
            break
        steps += 1
        parent = child.parent()
        if parent is not None:
            owner = session_slug_of(child.message) or ""
            touched = [
                p
                for p in child.changed_paths(parent, KNOWLEDGE)
                if not p.startswith(_SESSION_KNOWLEDGE)
                and not (p == _KNOWLEDGE_README and parent.read(p) is None)
            ]
            if touched and not (owner.startswith("kb-") and is_slug(owner)):
                subject = child.message.splitlines()[0] if child.message else "no message"
                found.append(
                    Violation(
                        "knowledge",
                        f"{touched[0]} changed outside a kb- session ({subject})",
                        child.commit,
                    )
                )
        child = parent
    found = found if judged is None else found[:judged]
    if honour:
        done = acknowledged(snap)
        found = [v for v in found if v.commit not in done]
    return found


def check_hazards(snap: History) -> list[Violation]:
    """Symlinks, gitlinks, .git entries, special names and misplaced files in _AGENTS/."""
    return [Violation("hazard", problem) for problem in hazards.everywhere(snap)]


def check_session_envs(snap: History, *, deep: bool = False) -> list[Violation]:
    """Each active .session-env is exactly the rendering of its own values, names its session,
    is unchanged since the claim and names the agent who made the claim commit. A claim's
    `.claim` records the blob it wrote: compared in one step; without it (or with `deep`) the
    claim commit is found by walking main."""
    blobs = snap.folder_blobs(f"{SESSIONS}/active", [ENV_FILE, CLAIM_FILE])  # one folder pass
    active = [n for n in snap.listdir(f"{SESSIONS}/active") if is_slug(n)]
    written: dict[str, str] = {}  # the env blob the claim recorded in .claim, if it did
    for slug in active:
        marker_blob = blobs.get(slug, {}).get(CLAIM_FILE)
        marker = parse_claim_marker(snap.blob_text(marker_blob)) if marker_blob else None
        if marker is not None and marker.env is not None and not deep:
            written[slug] = marker.env
    claims = claim_commits(snap, [s for s in active if s not in written])
    found: list[Violation] = []
    for slug in active:
        path = f"{SESSIONS}/active/{slug}/{ENV_FILE}"
        text = snap.text(path)
        claimed = claims.get(slug)
        before = len(found)
        if text is None:
            found.append(Violation("session-env", f"{path} is missing"))
        elif not sessionenv.is_generated(text):
            found.append(Violation("session-env", f"{path} is not what a claim writes"))
        elif sessionenv.from_text(text).slug != slug:
            found.append(Violation("session-env", f"{path} names another session"))
        elif claimed is not None and claimed.commit is not None:
            name, email, _ = snap.commit_info(claimed.commit)
            who = sessionenv.from_text(text).who
            if claimed.text(path) != text:
                found.append(
                    Violation("session-env", f"{path} changed since its claim", claimed.commit)
                )
            elif (who.name, who.email) != (name, email):
                found.append(
                    Violation(
                        "session-env",
                        f"{path} names {who.name} <{who.email}>, not the claimer {name} <{email}>",
                        claimed.commit,
                    )
                )
        if len(found) == before and slug in written and blobs[slug].get(ENV_FILE) != written[slug]:
            found.append(Violation("session-env", f"{path} changed since its claim"))
    return found


def check_content(snap: History, plans: dict[str, Any] | None = None) -> list[Violation]:
    """Files on main that git-sessions parses, each parsed as it would be: plans, journals,
    drift reports, patches and config.yaml."""
    from git_sessions.catalog import all_sessions
    from git_sessions.config import parse_config
    from git_sessions.drift import parse as parse_drift
    from git_sessions.errors import BadInput
    from git_sessions.events import bad_lines
    from git_sessions.patch import patch_problems

    found: list[Violation] = []
    files = {state: snap.folder_blobs(f"{SESSIONS}/{state}") for state in STATES}
    for session in all_sessions(snap, cache=plans):
        for problem in session.problems:
            if problem == "SESSION.md is missing":
                continue  # check_layout reports it
            found.append(Violation("plan", f"{session.path}/SESSION.md: {problem}"))
        blobs = files[session.state].get(session.slug, {})
        wanted = ("events.jsonl", "drift.md", f"{session.slug}.patch", ENDED_FILE)
        text = {name: snap.blob_text(blobs[name]) for name in wanted if name in blobs}
        if ENDED_FILE in text:
            from git_sessions.endrecord import misplaced_or_malformed

            bad_record = misplaced_or_malformed(session.state, text[ENDED_FILE])
            if bad_record:
                found.append(Violation("ended", f"{session.path}/{ENDED_FILE}: {bad_record}"))
        bad = bad_lines(text.get("events.jsonl", ""))
        if bad:
            lines = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
            found.append(Violation("journal", f"{session.path}/events.jsonl: bad line(s) {lines}"))
        if "drift.md" in text:
            try:
                parse_drift(text["drift.md"])
            except ValueError as exc:
                found.append(Violation("drift", f"{session.path}/drift.md: {exc}"))
        broken = patch_problems(text.get(f"{session.slug}.patch", ""))
        if broken:
            found.append(Violation("patch", f"{session.path}/{session.slug}.patch: {broken}"))
    config = snap.read(CONFIG_FILE)
    if config is not None:
        try:
            parse_config(config.decode("utf-8"))
        except UnicodeDecodeError:
            found.append(Violation("config", f"{CONFIG_FILE} is not UTF-8 text"))
        except BadInput as exc:
            found.append(Violation("config", exc.message))
    return found


def check(
    snap: History, plans: dict[str, Any] | None = None, *, deep: bool = False
) -> list[Violation]:
    """Every violation on main; `plans` is the parsed-plan cache (see plancache), if any.

    `deep` also audits main's whole history (its cost grows with it); the default reads a
    fixed number of commits."""
    return (
        check_layout(snap)
        + check_hazards(snap)
        + check_frozen_plans(snap, deep=deep)
        + check_session_envs(snap, deep=deep)
        + check_content(snap, plans)
        + check_knowledge(snap, deep=deep)
    )


def check_ref_locks(locks: list[StaleLock]) -> list[Violation]:
    """Ref locks a killed writer left in a hub on this filesystem: every writer of that ref
    fails on them (git-sessions removes one it meets; plain git never does)."""
    return [
        Violation(
            "ref-lock",
            f"{lock.path} was left {lock.age:.0f}s ago by a killed writer; no git process"
            f" holds a ref lock that long: remove it with: rm '{lock.path}'",
        )
        for lock in locks
    ]
