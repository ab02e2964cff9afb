"""HANDOFF.md: where a session stands, for whoever picks it up next.

`render` is pure over values; `write` records it from the session's worktree or branch (one
journal commit with the handoff event), and `final` is what `complete` and `abandon` store.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from git_sessions import events, journal, safefs, worktree
from git_sessions.context import Context
from git_sessions.edits import Identity
from git_sessions.history import claim_commits
from git_sessions.summaries import summarize

FILE = "HANDOFF.md"


def section_items(markdown: str, title: str) -> list[str]:
    """The list items of the `## <title>` section of a markdown text (placeholders skipped)."""
    match = re.search(
        rf"^#+\s*{re.escape(title)}\s*$(.*?)(?=^#+\s|\Z)", markdown, re.M | re.S | re.I
    )
    if match is None:
        return []
    items = []
    for line in match.group(1).splitlines():
        stripped = re.sub(r"^\s*(?:[-*]|\d+\.)\s+(?:\[[ xX]\]\s+)?", "", line, count=1)
        if stripped != line and stripped.strip() and not stripped.startswith("_"):
            items.append(stripped.strip())
    return items


@dataclass(frozen=True)
class Facts:
    slug: str
    title: str
    status: str  # "active", "completed", "abandoned: <reason>"
    when: int
    agent: str | None
    commits: Sequence[str]  # subjects, oldest first
    files: Sequence[str]
    uncommitted: Sequence[str] = ()
    plan_next_steps: Sequence[str] = ()


def render(facts: Facts, past: Sequence[events.Event]) -> str:
    """HANDOFF.md: where the session stands, for whoever picks it up next."""
    summary = summarize(past)
    journal = re.compile(
        rf"\[{re.escape(facts.slug)}\] docs: (?:(?:{'|'.join(events.KINDS)}) |capture learning)"
    )
    work = [c for c in facts.commits if not journal.match(c)]
    done = [m for m, d in summary.milestones.items() if d]
    todo = [m for m, d in summary.milestones.items() if not d]
    steps = summary.next_steps or [*facts.plan_next_steps, *todo]
    note = next((str(e.metadata["note"]) for e in reversed(past) if e.metadata.get("note")), "")

    def bullets(items: Iterable[str], empty: str = "_None._") -> list[str]:
        lines = [f"- {i}" for i in items]
        return lines or [empty]

    metrics = ", ".join(f"{k} {v}" for k, v in sorted(summary.metrics.items()))
    lines = [
        f"# Handoff: {facts.slug}",
        "",
        f"- Title: {facts.title}",
        f"- Status: {facts.status} (as of {events.iso(facts.when)})",
        *([f"- Agent: {facts.agent}"] if facts.agent else []),
        f"- Commits since the claim: {len(work)}, and {len(facts.commits) - len(work)} journal",
        f"- Milestones: {len(done)} of {len(done) + len(todo)} reached",
        *([f"- Metrics: {metrics}"] if metrics else []),
        "",
        "## Files touched",
        *bullets(facts.files),
    ]
    if facts.uncommitted:
        lines += ["", "## Uncommitted changes", *bullets(facts.uncommitted)]
    lines += ["", "## Decisions"]
    lines += [
        f"- {d.text} (rationale: {d.metadata.get('rationale', '-')})" for d in summary.decisions
    ] or ["_None._"]
    lines += ["", "## Milestones"]
    lines += [f"- [{'x' if d else ' '}] {m}" for m, d in summary.milestones.items()] or ["_None._"]
    lines += ["", "## Blockers", *bullets(summary.blockers)]
    lines += ["", "## Next steps", *bullets(steps)]
    if note:
        lines += ["", "## Notes", note]
    lines += ["", "## Commits", *bullets(work)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- writing it


def _local_work(ctx: Context, slug: str) -> tuple[list[str], list[str]]:
    """(subjects of the session's commits, files they touched), from the local branch alone:
    no hub round trip."""
    tip = ctx.ws.ref_target(f"refs/heads/{worktree.branch_name(slug)}")
    if tip is None:
        return [], []
    claimed = claim_commits(ctx.ws.snapshot(tip), [slug]).get(slug)
    base = claimed.commit if claimed is not None else None
    log = [c for c in ctx.ws.objects.log(base, tip) if len(c.parents) == 1]
    return [c.subject for c in log], ctx.ws.objects.changed_files(base, tip) if base else []


def facts(
    slug: str,
    status: str,
    read: Callable[[str], str | None],
    *,
    when: int,
    agent: Identity,
    commits: Sequence[str],
    files: Sequence[str],
    uncommitted: Sequence[str] = (),
) -> Facts:
    """What HANDOFF.md states; the plan is read from the active folder through `read`."""
    from git_sessions.catalog import parse_session

    plan = read(journal.session_file(slug, "SESSION.md"))
    steps = section_items(read(journal.session_file(slug, "active-plan.md")) or "", "Next steps")
    return Facts(
        slug=slug,
        title=parse_session(slug, "active", plan).title,
        status=status,
        when=when,
        agent=f"{agent.name} <{agent.email}>",
        commits=list(commits),
        files=[f for f in files if not f.startswith("_AGENTS/")],
        uncommitted=list(uncommitted),
        plan_next_steps=steps,
    )


def final(
    slug: str,
    status: str,
    read: Callable[[str], str | None],
    *,
    when: int,
    agent: Identity,
    commits: Sequence[str],
    files: Sequence[str],
) -> str:
    """HANDOFF.md as `complete` and `abandon` store it, from the session's last tree."""
    past = events.parse_jsonl(read(journal.session_file(slug, journal.EVENTS)) or "")
    stated = facts(slug, status, read, when=when, agent=agent, commits=commits, files=files)
    return render(stated, past)


def write(
    ctx: Context,
    slug: str,
    next_steps: Sequence[str] = (),
    note: str | None = None,
    *,
    commit: bool = True,
    clock: Callable[[], float] | None = None,
    environ: Mapping[str, str] | None = None,
) -> journal.Recorded:
    """Write HANDOFF.md and record the handoff, in one journal commit."""
    now = journal.now_of(clock)
    subjects, files = _local_work(ctx, slug)
    wt = journal.session_worktree(ctx, slug)
    env = dict(os.environ) if environ is None else environ
    own = {journal.session_file(slug, n) for n in (journal.WORKLOG, journal.EVENTS, FILE)}
    dirty = [f for f in ctx.ws.status_dirty(wt, untracked=True) if f not in own] if wt else []

    def read(path: str) -> str | None:
        if wt is not None:
            return safefs.read_text(wt, path)
        tip = ctx.ws.ref_target(f"refs/heads/{worktree.branch_name(slug)}")
        return ctx.ws.snapshot(tip).text(path)

    who = journal.session_identity(ctx, slug, env)
    stated = facts(
        slug, "active", read, when=now, agent=who, commits=subjects, files=files, uncommitted=dirty
    )

    def rendered(_: str | None, past: Sequence[events.Event]) -> str:
        return render(stated, past)

    return journal.record(
        ctx,
        slug,
        lambda _: events.handoff_event(next_steps, note, now),
        extra={journal.session_file(slug, FILE): rendered},
        commit=commit,
        environ=env,
    )
