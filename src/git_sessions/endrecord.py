"""The end record: `<state>/<slug>/.ended`, which names the commit that ended a session (and
the commit that claimed it), so `status` and `history` of an ended session read it in O(1)
instead of walking main back to the ending.

A commit cannot name itself, so the ending commit (complete, abandon, a reap to abandoned)
cannot carry it. The record is a second commit, the ending commit's immediate first-parent
child by the same identity, adding only the `.ended` files; both are published by the same
compare-and-swap (one ref update), so no crash leaves a record without its ending. An ending
without a record (older archives, other clients) is still read by walking, with the same
result: readers trust a record only after checking it against the commits it names (`span`),
and the guard accepts it only as exactly that child (`problem`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from git_sessions.edits import Change, Edit, Identity, Move, Write
from git_sessions.errors import GitFailure
from git_sessions.history import claim_base, claim_commits
from git_sessions.protocol import ENDED_FILE, ENDED_STATES, SESSIONS, is_slug, session_dir

if TYPE_CHECKING:
    from git_sessions.gitrepo import Snapshot

MAX_RECORD = 200  # two ids of 64 hex digits and the JSON around them fit in 170
_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


@dataclass(frozen=True)
class EndRecord:
    ending: str  # the commit that moved the session into completed/ or abandoned/
    claim: str | None  # the commit that claimed it (None: it could not be found)


def record_text(record: EndRecord) -> str:
    """The one spelling of a record: compact JSON, sorted keys, a final newline."""
    fields = {"ending": record.ending, **({"claim": record.claim} if record.claim else {})}
    return json.dumps(fields, sort_keys=True, separators=(",", ":")) + "\n"


def parse_record(text: str | None) -> EndRecord | None:
    """The record in `text`, or None unless it is exactly what `record_text` writes."""
    if text is None or len(text) > MAX_RECORD:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or "ending" not in data or set(data) - {"ending", "claim"}:
        return None
    ending, claim = data["ending"], data.get("claim")
    if not isinstance(ending, str) or not _ID.fullmatch(ending):
        return None
    if claim is not None and (not isinstance(claim, str) or not _ID.fullmatch(claim)):
        return None
    record = EndRecord(ending, claim)
    return record if record_text(record) == text else None


def misplaced_or_malformed(state: str, text: str) -> str | None:
    """What `check` holds against a `.ended` in a session in `state`, without history (whether
    it names the right commits is the guard's to judge; readers check before trusting)."""
    if state not in ENDED_STATES:
        return "only an ended session has one"
    return "not an end record" if parse_record(text) is None else None


def record_path(state: str, slug: str) -> str:
    return f"{session_dir(state, slug)}/{ENDED_FILE}"


def record_subject(slug: str, ending: str) -> str:
    return f"[{slug}] record: ended in {ending[:10]}"


# --------------------------------------------------------------------------- writing


def candidates(change: Change) -> set[tuple[str, str]]:
    """(state, slug) of each completed/ or abandoned/ session folder `change` writes into
    (pure: most changes write none, and then no tree is read)."""
    found: set[tuple[str, str]] = set()
    for edit in change.edits:
        path = _written(edit)
        for state in ENDED_STATES:
            prefix = f"{SESSIONS}/{state}/"
            slug = path.removeprefix(prefix).split("/", 1)[0] if path.startswith(prefix) else ""
            if is_slug(slug):
                found.add((state, slug))
    return found


def ended_by(change: Change, before: Snapshot, after: Snapshot) -> list[tuple[str, str]]:
    """(state, slug) of each session that `change`, which took `before` to `after`, ended:
    active in `before`, in completed/ or abandoned/ in `after`. Only the folders the edits
    write into are looked at."""
    return sorted(
        (state, slug)
        for state, slug in candidates(change)
        if after.is_dir(session_dir(state, slug))
        and not before.is_dir(session_dir(state, slug))
        and before.is_dir(session_dir("active", slug))
    )


def _written(edit: Edit) -> str:
    if isinstance(edit, Move):
        return edit.dst
    return edit.path if isinstance(edit, Write) else ""


def expected(before: Snapshot, ending: str, slug: str, hint: str | None = None) -> EndRecord:
    """The record of `slug` ended by `ending`, built on `before` (where it was active). The
    claim is `hint` when the claim's `.claim` marker confirms it in O(1) (the caller found it
    on the session branch), else found by walking main back to it."""
    if hint is not None and is_claim(before, slug, hint):
        return EndRecord(ending, hint)
    claim = claim_commits(before, [slug]).get(slug)
    return EndRecord(ending, claim.commit if claim is not None else None)


def is_claim(active: Snapshot, slug: str, claim: str) -> bool:
    """`claim` is the commit that claimed `slug`, as its `.claim` in `active` (a commit where
    it is still active) says: the one built on the recorded base that made it active. Without
    the marker this cannot be told in O(1): False."""
    base = claim_base(active, slug)
    if base is None:
        return False
    try:
        found = active.at(claim)
    except GitFailure:
        return False
    parent = found.parent()
    active_dir = session_dir("active", slug)
    return parent is not None and parent.commit == base and found.is_dir(active_dir)


def record_change(
    before: Snapshot,
    ending: str,
    ended: Iterable[tuple[str, str]],
    author: Identity,
    claims: Mapping[str, str] | None = None,
) -> Change | None:
    """The record commit to put right after `ending` (built on `before`), or None."""
    hints = claims or {}
    edits = tuple(
        Write(
            record_path(state, slug),
            record_text(expected(before, ending, slug, hints.get(slug))).encode(),
        )
        for state, slug in ended
    )
    if not edits:
        return None
    first = edits[0].path.split("/")[-2]
    return Change(edits, record_subject(first, ending) + "\n", author)


def following(
    change: Change, before: Snapshot, after: Snapshot, claims: Mapping[str, str] | None = None
) -> Change | None:
    """The record commit for whatever `change` (before -> after) ended, or None; `claims`:
    the claim commits the caller knows (checked before use)."""
    assert after.commit is not None
    ended = ended_by(change, before, after)
    return record_change(before, after.commit, ended, change.author, claims)


# --------------------------------------------------------------------------- reading


def span(snap: Snapshot, slug: str, state: str) -> tuple[Snapshot, Snapshot | None] | None:
    """(the ending commit, the claim commit) from the record of `slug`, checked in O(1)
    against the commits it names; None without a record that holds up (then walk)."""
    record = parse_record(snap.text(record_path(state, slug)))
    if record is None:
        return None
    folder, active = session_dir(state, slug), session_dir("active", slug)
    try:
        end = snap.at(record.ending)
        before = end.parent()
        if before is None or not end.is_dir(folder) or before.is_dir(folder):
            return None
        if not before.is_dir(active):
            return None
        if claim_base(before, slug) is not None:
            # the usual case: the claim's marker confirms it (a record without a claim is
            # left to the walk, which settles whether the claim can be found)
            ok = record.claim is not None and is_claim(before, slug, record.claim)
            return (end, snap.at(record.claim)) if ok and record.claim else None
        if record.claim is None:
            return end, None
        claim = snap.at(record.claim)
        prior = claim.parent()
        if not claim.is_dir(active) or (prior is not None and prior.is_dir(active)):
            return None
        return end, claim
    except GitFailure:
        return None


# --------------------------------------------------------------------------- judging


def recorded(before: Snapshot, after: Snapshot) -> list[tuple[str, str]]:
    """(state, slug) of each ended session whose `.ended` the step before -> after writes."""
    found = []
    for state in ENDED_STATES:
        folder = f"{SESSIONS}/{state}"
        if before.object_id(folder) == after.object_id(folder):
            continue
        slugs = {p[len(folder) + 1 :].split("/")[0] for p in after.changed_paths(before, folder)}
        for slug in sorted(slugs):
            path = f"{folder}/{slug}/{ENDED_FILE}"
            if is_slug(slug) and after.object_id(path) not in (None, before.object_id(path)):
                found.append((state, slug))
    return found


def problem(
    before: Snapshot, after: Snapshot, subject: str, written: list[tuple[str, str]]
) -> str | None:
    """Why the step before -> after may not write the records `written`, or None: it must be
    the ending commit's immediate child, adding exactly the records `following` writes (the
    caller checks the identity against `ending_author`)."""
    parent = after.parent()
    prior = before.parent()
    if parent is None or parent.commit != before.commit or prior is None:
        return f"{_names(written)} may only be written right after the commit that ended it"
    assert before.commit is not None
    paths = []
    for state, slug in written:
        folder = session_dir(state, slug)
        if not before.is_dir(folder) or prior.is_dir(folder):
            return f"{_names([(state, slug)])} may only be written right after {slug} ended"
        want = record_text(expected(prior, before.commit, slug)).encode()
        if after.read(record_path(state, slug)) != want:
            return f"{_names([(state, slug)])} does not name the commits that claimed and ended it"
        paths.append(record_path(state, slug))
    # at the root, changed_paths names paths with a leading "/"
    if [p.lstrip("/") for p in after.changed_paths(before, "")] != sorted(paths):
        return f"the commit writing {_names(written)} may change nothing else"
    if subject not in {record_subject(slug, before.commit) for _, slug in written}:
        title = record_subject(written[0][1], before.commit)
        return f"the commit writing {_names(written)} must be titled {title!r}"
    return None


def ending_author(before: Snapshot) -> Identity:
    """Who wrote the ending commit `before` (its record is written by the same identity)."""
    assert before.commit is not None
    name, email, _ = before.commit_info(before.commit)
    return Identity(name, email)


def _names(written: list[tuple[str, str]]) -> str:
    return ", ".join(f"{state}/{slug}/{ENDED_FILE}" for state, slug in written)
