"""The coordination layout (docs/protocol.md, "Layouts"): `_AGENTS/` lives on its own branch
of the hub (config.yaml's `protocol_branch`), main carries the code and `_AGENTS/config.yaml`.

Two trees meet in a session: its branch starts from main's code with the claim's `_AGENTS/`
grafted on (`session_base`), and `complete` sees the same join (`view`: main's tip with the
coordination branch's `_AGENTS/`), so the merge, the checks and the archive are computed as in
the default layout. The result is split again: the code onto main (or a review branch), the
`_AGENTS/` folder onto the coordination branch, both moved by one `publish_refs` (atomic on
a network hub; code first, then the archive, on a local one). A crash between the two is
repaired by running `complete` again: main already holds the same code, so the merge adds
nothing there (compared by tree, not ancestry) and only the archive is published.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from git_sessions.context import Context
from git_sessions.edits import Change, Edit, Identity, Write
from git_sessions.errors import BadInput, Conflict, GitFailure
from git_sessions.gitrepo import Snapshot
from git_sessions.gitrepo.objects import Objects
from git_sessions.index import with_index
from git_sessions.protocol import (
    AGENTS,
    CLAIM_FILE,
    CONFIG_FILE,
    claim_marker,
    parse_claim_marker,
    session_dir,
)
from git_sessions.publish import Timing, backoff

VIEWER = Identity("git-sessions", "git-sessions@localhost")


def joined(objects: Objects, code: str | None, protocol: str | None) -> str:
    """The tree of `code` (main) with the `_AGENTS/` of `protocol`, keeping main's config."""
    tree = objects.graft(code, AGENTS, protocol)
    return objects.graft(tree, CONFIG_FILE, code)


def code_part(objects: Objects, full: str, main: str | None) -> str:
    """What of a joined tree goes to main: everything but `_AGENTS/`, which stays main's."""
    return objects.graft(full, AGENTS, main)


def protocol_part(objects: Objects, full: str, protocol: str | None) -> str:
    """What of a joined tree goes to the coordination branch: `_AGENTS/` without main's
    config.yaml (the coordination branch's own, if it has one)."""
    return objects.graft(objects.graft(None, AGENTS, full), CONFIG_FILE, protocol)


def fetch_tips(ctx: Context) -> str | None:
    """Fetch main and the coordination branch in one go (as a claim needs both here); main's
    tip."""
    remote = ctx.config.remote
    branches = (ctx.branch, ctx.protocol_branch)
    ctx.ws.fetch_refspecs(remote, [f"+refs/heads/{b}:refs/remotes/{remote}/{b}" for b in branches])
    return ctx.ws.ref_target(f"refs/remotes/{remote}/{ctx.branch}")


def session_base(
    ctx: Context, slug: str, claim: str, who: Identity, main: str | None = None
) -> str:
    """The commit a session branch starts from in the coordination layout: main's tip (`main`,
    else fetched) with `_AGENTS/` as the claim commit left it. Its `.claim` names main's tip as
    the base, so the session's own history (`history.claim_commits`) starts here, as at a
    claim on main."""
    ws = ctx.ws
    if main is None or not ws.has_commit(claim):
        main = fetch_tips(ctx)
    if main is None:
        raise BadInput(f"the hub has no {ctx.branch} branch", hint="push a first commit to it")
    path = f"{session_dir('active', slug)}/{CLAIM_FILE}"
    marker = parse_claim_marker(ws.snapshot(claim).text(path))
    edits: tuple[Edit, ...] = ()
    if marker is not None:
        edits = (Write(path, claim_marker(main, marker.plan, marker.env).encode()),)
    tree = joined(ws.objects, main, claim)
    message = f"[{slug}] chore: start session from {ctx.branch}\n\nClaim: {claim}\n"
    return ws.objects.write(main, Change(edits, message, who, start_tree=tree))


def protocol_claim(objects: Objects, start: str) -> str:
    """The claim commit on the protocol branch for a session whose branch starts at `start`:
    the `Claim:` that `session_base` wrote, else `start` itself (the default layout, where the
    branch starts at the claim). A hint only: the end record checks it (endrecord.is_claim)."""
    found = re.search(r"^Claim: ([0-9a-f]{40,64})$", objects.info(start).message, re.M)
    return found.group(1) if found else start


def view(ctx: Context) -> tuple[str | None, str | None, Snapshot]:
    """main's tip, the coordination branch's tip, and a snapshot of their join (a commit on
    top of main that is never published)."""
    main, protocol = ctx.code_hub.tip(), ctx.hub.tip()
    if main is None:
        raise BadInput(f"the hub has no {ctx.branch} branch", hint="push a first commit to it")
    objects = ctx.hub.objects
    tree = joined(objects, main, protocol)
    commit = ctx.hub.commit(main, Change((), "view", VIEWER, start_tree=tree))
    return main, protocol, ctx.hub.snapshot(commit)


def merge_base(objects: Objects, base: str | None, session_start: str) -> str | None:
    """The merge base of a session branch and the view, as a tree: the code of git's merge
    base with `_AGENTS/` as the session started (git's base has main's, which never had the
    session in it)."""
    return objects.graft(base, AGENTS, session_start)


@dataclass(frozen=True)
class Split:
    code: str | None  # the commit with the code (on main, or the review branch); None: none
    archive: str  # the archive commit on the coordination branch (its end record follows)
    attempts: int


Finish = Callable[[str | None], tuple[str, tuple[Edit, ...]]]


def publish_split(
    ctx: Context,
    build: Callable[[Snapshot], Change],
    finish: Finish,
    *,
    code_ref: str | None = None,
    timing: Timing = Timing(),
    before_publish: Callable[[str | None, str], None] | None = None,
    claims: Mapping[str, str] | None = None,
) -> Split:
    """Build a change on the view, land its code on main (or `code_ref`) and its `_AGENTS/`
    on the coordination branch. `finish(code)` names the archive's message and extra edits
    once the code commit is known. Lost races retry with backoff, as `update_main`; the end
    record of what the change ended follows the archive (`claims`: as for `update_main`)."""
    hub = ctx.hub
    objects = hub.objects
    target = code_ref or f"refs/heads/{ctx.branch}"
    start = timing.clock()
    attempt = 0
    while True:
        attempt += 1
        main, protocol, snap = view(ctx)
        change = with_index(snap, build(snap))
        full = hub.commit(snap.commit, change)
        code_tree = code_part(objects, full, main)
        code = None
        if code_ref is not None or main is None or code_tree != objects.tree(main):
            code = objects.write(main, Change((), change.message, change.author, code_tree))
        message, extra = finish(code)
        archive_tree = protocol_part(objects, full, protocol)
        archive = objects.write(
            protocol, Change(extra, message, change.author, start_tree=archive_tree)
        )
        # the end record follows the archive on the coordination branch, in the same update
        from git_sessions import endrecord

        record = endrecord.following(change, hub.snapshot(protocol), hub.snapshot(archive), claims)
        tip = archive if record is None else objects.write(archive, record)
        if before_publish is not None:
            before_publish(code, archive)
        updates: list[tuple[str, str | None, str]] = []
        if code is not None:
            old = main if code_ref is None else hub.heads().get(code_ref)
            updates.append((target, old, code))
        updates.append((f"refs/heads/{ctx.protocol_branch}", protocol, tip))
        try:
            if hub.publish_refs(updates):
                return Split(code, archive, attempt)
        except GitFailure as exc:
            # main's refusal (a protected branch, a hook) names it; the archive's is passed on
            if code_ref is None and f"refs/heads/{ctx.branch}" in exc.message:
                raise GitFailure(
                    f"{ctx.branch} refused the completion: {exc}",
                    hint="land it through a review branch: git sessions complete --land review",
                ) from None
            raise
        if timing.clock() - start > timing.deadline:
            raise Conflict(
                f"lost the race for {ctx.branch} and {ctx.protocol_branch} {attempt} times "
                f"in {timing.deadline:.0f}s",
                hint="the hub is very busy; try again",
            )
        timing.sleep(backoff(attempt - 1, timing))
