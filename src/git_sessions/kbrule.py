"""The KB rule (seed 004): only `kb-` sessions change the canonical knowledge base.

`_AGENTS/knowledge/` outside `knowledge/sessions/` is canonical. `complete` refuses a session
that would change it unless its slug starts with `kb-`, so the violation never lands through
git-sessions. A change pushed by other means is found by `check`, and has a remedy: a human
acknowledges it (`git sessions acknowledge COMMIT --reason R`), which appends
`<commit> <reason>` to `_AGENTS/sessions/acknowledged-violations` in one audited commit on main;
`check` then no longer counts that commit. (Undoing the change in a `kb-` session fixes the
content, but the old commit stays in history: acknowledge it too.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from git_sessions.edits import Change, Identity, Write
from git_sessions.errors import BadInput, Conflict
from git_sessions.protocol import AGENTS, KNOWLEDGE, SESSIONS

if TYPE_CHECKING:
    from git_sessions.context import Context
    from git_sessions.gitrepo import Snapshot
    from git_sessions.publish import Published

SESSION_KNOWLEDGE = f"{KNOWLEDGE}/sessions/"
ACKNOWLEDGED = f"{SESSIONS}/acknowledged-violations"
_LINE = re.compile(r"([0-9a-f]{40}) (\S.{0,499})")
MAX_ACKNOWLEDGED = 10_000


def canonical(paths: Iterable[str]) -> list[str]:
    """The paths that belong to the canonical knowledge base."""
    return sorted(
        p for p in paths if p.startswith(f"{KNOWLEDGE}/") and not p.startswith(SESSION_KNOWLEDGE)
    )


def may_change_canonical(slug: str) -> bool:
    return slug.startswith("kb-")


def refuse_canonical_changes(slug: str, paths: Iterable[str]) -> None:
    """Raise Conflict (exit 3) naming the canonical paths a non-kb session would change."""
    changed = canonical(paths)
    if changed and not may_change_canonical(slug):
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        raise Conflict(
            f"session {slug} changes the canonical knowledge base: {shown}",
            hint="only kb- sessions may; revert them on the branch and record the insight "
            "with `git sessions learn` (a kb- session merges it)",
        )


def acknowledged(snap: Snapshot) -> dict[str, str]:
    """commit -> reason of every acknowledged violation (malformed lines are ignored)."""
    text = snap.text(ACKNOWLEDGED) or ""
    found: dict[str, str] = {}
    for line in text.split("\n")[:MAX_ACKNOWLEDGED]:
        match = _LINE.fullmatch(line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


def acknowledge_change(
    snap: Snapshot, commit: str, reason: str, who: Identity, violations: dict[str, str]
) -> Change | None:
    """Append the acknowledgement of `commit` (one of `violations`, commit -> message)."""
    why = " ".join(reason.split())[:500]
    if not why:
        raise BadInput("an acknowledgement needs a reason", hint='--reason "approved by ..."')
    matches = [c for c in violations if c.startswith(commit.lower())] if len(commit) >= 7 else []
    if len(matches) != 1:
        raise BadInput(
            f"{commit!r} is not a knowledge violation on main"
            + (" (ambiguous)" if len(matches) > 1 else ""),
            hint="see them with: git sessions check",
        )
    full = matches[0]
    if full in acknowledged(snap):
        return None
    text = snap.text(ACKNOWLEDGED) or ""
    text = (text if not text or text.endswith("\n") else text + "\n") + f"{full} {why}\n"
    message = f"[{AGENTS}] chore: acknowledge knowledge change {full[:10]}\n\nReason: {why}\n"
    return Change((Write(ACKNOWLEDGED, text.encode()),), message, who)


def acknowledge(ctx: Context, commit: str, reason: str, who: Identity) -> Published:
    """Record on main (by compare-and-swap) that a knowledge violation was reviewed."""
    from git_sessions.check import check_knowledge
    from git_sessions.publish import update_main

    def build(snap: Snapshot) -> Change | None:
        found = {v.commit: v.message for v in check_knowledge(snap, honour=False) if v.commit}
        return acknowledge_change(snap, commit, reason, who, found)

    return update_main(ctx.hub, build)
