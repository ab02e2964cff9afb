"""Landing a completed session's code on main in the coordination layout: directly (one
publish with the archive), or through a review branch `land/<slug>` when main refuses direct
pushes (`landing: review`, `complete --land review`).

A session waiting to land is completed on the coordination branch with a `.landing` file
("branch land/<slug>", "commit <squash>"); `land` adds "landed <main's commit>" once main holds
that change. Squash and rebase merges break ancestry, so "holds" is judged by content: merging
the squash into main (three-way, from the squash's parent) changes nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from git_sessions import coordination, ownership
from git_sessions.context import Context
from git_sessions.edits import Change, Edit, Identity, Write
from git_sessions.errors import BadInput, GitFailure
from git_sessions.gitrepo import Snapshot
from git_sessions.protocol import AGENTS, SESSIONS, check_slug, session_dir
from git_sessions.publish import Timing, update_main

LANDING_FILE = ".landing"
MODES = ("direct", "review")
_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def waiting_branch(slug: str) -> str:
    return f"land/{slug}"


def mode(ctx: Context, land: str | None) -> str:
    """The landing mode of this `complete`: the flag, else config.yaml's `landing`."""
    chosen = land or ctx.config.landing
    if chosen not in MODES:
        raise BadInput(f"unknown landing mode {chosen!r}", hint="use direct or review")
    if chosen == "review" and not ctx.split:
        raise BadInput(
            "landing through a review branch needs the coordination layout",
            hint="move the protocol off main: git sessions migrate --protocol-branch sessions",
        )
    return chosen


@dataclass(frozen=True)
class Marker:
    branch: str
    commit: str
    landed: str | None
    base: str | None = None  # main's tip the squash was built on
    patch: str | None = None  # the squash's patch id: found on main even once the branch is gone


def parse_marker(text: str | None) -> Marker | None:
    """A `.landing` file's fields; None if absent or not one `complete` could have written."""
    if text is None or len(text) > 500:
        return None
    fields = dict(line.partition(" ")[::2] for line in text.split("\n") if line)
    branch, commit = fields.get("branch", ""), fields.get("commit", "")
    landed, base, patch = fields.get("landed"), fields.get("base"), fields.get("patch")
    slug = branch.removeprefix("land/")
    try:
        check_slug(slug)
    except BadInput:
        return None
    if not branch.startswith("land/") or not _COMMIT.fullmatch(commit):
        return None
    if any(v is not None and not _COMMIT.fullmatch(v) for v in (landed, base, patch)):
        return None
    return Marker(branch, commit, landed, base, patch)


def render_marker(marker: Marker) -> str:
    lines = [f"branch {marker.branch}", f"commit {marker.commit}"]
    lines += [f"base {marker.base}"] if marker.base else []
    lines += [f"patch {marker.patch}"] if marker.patch else []
    lines += [f"landed {marker.landed}"] if marker.landed else []
    return "".join(f"{line}\n" for line in lines)


def waiting(snap: Snapshot) -> dict[str, Marker]:
    """Completed sessions whose code waits on a review branch (one pass over completed/)."""
    found = {}
    for slug, blob in snap.folder_files(f"{SESSIONS}/completed", LANDING_FILE).items():
        marker = parse_marker(snap.blob_text(blob))
        if marker is not None and marker.landed is None:
            found[slug] = marker
    return found


def waiting_on(snap: Snapshot, slug: str) -> str | None:
    """The review branch completed session `slug`'s code waits on (None: landed, or never)."""
    text = snap.text(f"{session_dir('completed', slug)}/{LANDING_FILE}")
    marker = parse_marker(text)
    return marker.branch if marker is not None and marker.landed is None else None


def publish(
    ctx: Context,
    slug: str,
    build: Callable[[Snapshot], Change],
    timing: Timing,
    ending: Callable[[str], None],
    landing: str,
    record: ownership.Record | None,
    claim: str | None = None,
) -> coordination.Split:
    """Publish a completion in the coordination layout: the code on main (or on land/<slug>),
    the archive on the coordination branch (then its end record; `claim`: the claim commit,
    if known)."""
    claims = {slug: claim} if claim else None
    done = session_dir("completed", slug)
    branch = waiting_branch(slug)

    def finish(code: str | None) -> tuple[str, tuple[Edit, ...]]:
        if landing == "review":
            assert code is not None
            objects = ctx.hub.objects
            base = objects.info(code).parents[0]
            patch = objects.patch_id(base, code)
            marker = render_marker(Marker(branch, code, None, base, patch))
            return (
                f"[{slug}] chore: complete session, waiting to land\n\nLanding: {branch} {code}\n",
                (Write(f"{done}/{LANDING_FILE}", marker.encode()),),
            )
        # a re-run after a crash between the two refs, or a retry after the archive lost its
        # race: main already has the code, landed by this process or the interrupted one
        landed = code or seen[0] or _recorded(ctx, record)
        trailer = f"\n\nLanded: {landed}\n" if landed else "\n"
        return f"[{slug}] chore: archive completed session{trailer}", ()

    seen: list[str | None] = [None]

    def before(code: str | None, archive: str) -> None:
        seen[0] = code or seen[0]
        ending(code or archive)

    code_ref = f"refs/heads/{branch}" if landing == "review" else None
    return coordination.publish_split(
        ctx, build, finish, code_ref=code_ref, timing=timing, before_publish=before, claims=claims
    )


def _recorded(ctx: Context, record: ownership.Record | None) -> str | None:
    """The code commit an interrupted `complete` recorded, if main has it."""
    commit = record.commit if record is not None else None
    main = ctx.code_hub.tip()
    objects = ctx.hub.objects
    if commit is None or main is None or not objects.has(commit):
        return None
    return commit if objects.is_ancestor(commit, main) else None


@dataclass(frozen=True)
class Landed:
    slug: str
    branch: str
    commit: str
    landed: str | None  # main's commit that holds the change; None: still waiting

    def to_json(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "branch": self.branch,
            "commit": self.commit,
            "landed": self.landed,
        }


def land(ctx: Context, who: Identity, slugs: list[str] | None = None) -> list[Landed]:
    """Mark as landed every waiting session (or those named) whose change main now holds, in
    one protocol commit, and delete their review branches; the state of each."""
    if not ctx.split:
        raise BadInput("nothing lands through review branches in the default layout")
    snap = ctx.main()
    pending = waiting(snap)
    for slug in slugs or []:
        if slug not in pending:
            raise BadInput(f"session {slug} is not waiting to land")
    chosen = {s: m for s, m in pending.items() if not slugs or s in slugs}
    main = ctx.code_hub.tip()
    if main is None:
        raise BadInput(f"the hub has no {ctx.branch} branch")
    objects = ctx.hub.objects
    missing = [m.commit for m in chosen.values() if not objects.has(m.commit)]
    if missing:  # a network hub: bring the review branches here
        remote = ctx.config.remote
        ctx.ws.fetch_refspecs(remote, [f"+refs/heads/land/*:refs/remotes/{remote}/land/*"])
    result = []
    for slug, marker in sorted(chosen.items()):
        landed = main if objects.has(marker.commit) and _holds(ctx, main, marker.commit) else None
        landed = landed or _by_patch(ctx, main, marker)
        result.append(Landed(slug, marker.branch, marker.commit, landed))
    done = {r.slug: r for r in result if r.landed is not None}
    if not done:
        return result

    def build(current: Snapshot) -> Change | None:
        still = waiting(current)
        edits = tuple(
            Write(
                f"{session_dir('completed', slug)}/{LANDING_FILE}",
                render_marker(replace(still[slug], landed=r.landed)).encode(),
            )
            for slug, r in done.items()
            if slug in still
        )
        if not edits:
            return None
        names = ", ".join(sorted(done))
        return Change(edits, f"[{AGENTS}] chore: landed {names}\n", who)

    update_main(ctx.hub, build, Timing())
    for r in done.values():
        # the review branch has done its job; one moved since is left alone
        with contextlib.suppress(GitFailure):
            ctx.hub.delete_ref(f"refs/heads/{r.branch}", expected=r.commit)
    return result


MAX_WALK = 2000


def _by_patch(ctx: Context, main: str, marker: Marker) -> str | None:
    """The commit on main since the squash's base whose change has the squash's patch id (a
    forge that deleted the review branch after merging leaves only this to go by)."""
    objects = ctx.hub.objects
    if marker.base is None or marker.patch is None or not objects.has(marker.base):
        return None
    for info in objects.log(marker.base, main)[:MAX_WALK]:
        parent = info.parents[0] if info.parents else None
        if objects.patch_id(parent, info.id) == marker.patch:
            return info.id
    return None


def _holds(ctx: Context, main: str, commit: str) -> bool:
    """Whether main's tree already holds the change of squash `commit` (by content)."""
    objects = ctx.hub.objects
    parents = objects.info(commit).parents
    merged = objects.merge(parents[0] if parents else None, main, commit)
    return merged.tree is not None and merged.tree == objects.tree(main)
