"""Claims: exactly-once ownership of a planned session, then its worktree and .session-env
(giving a claim back is in `releasing`).

The claim itself is one commit on main (lock line, move to active/, .session-env), published by
compare-and-swap; everything local (branch, worktree) follows and is idempotent, so a crash
between the two is repaired by claiming again.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from git_sessions import (
    approvals,
    catalog,
    faults,
    hazards,
    ownership,
    queue,
    safefs,
    sessionenv,
    transitions,
    worktree,
)
from git_sessions.bootstrap import Bootstrap, bootstrap, session_port
from git_sessions.context import Context
from git_sessions.edits import Change, Identity
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo import Snapshot
from git_sessions.history import claim_commit
from git_sessions.holders import AgentKind, claim_file
from git_sessions.protocol import ENV_FILE, check_slug, session_dir
from git_sessions.publish import Timing, update_main
from git_sessions.sessionenv import current_slug as current_slug


@dataclass(frozen=True)
class Claim:
    slug: str
    branch: str
    worktree: Path | None
    env_file: Path | None
    commit: str
    agent: Identity
    attempts: int
    already_held: bool
    bootstrap: Bootstrap | None = None
    kind: AgentKind = field(default_factory=AgentKind)

    def to_json(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "branch": self.branch,
            "worktree": str(self.worktree) if self.worktree else None,
            "env_file": str(self.env_file) if self.env_file else None,
            "commit": self.commit,
            "agent": {
                "name": self.agent.name,
                "email": self.agent.email,
                "agent_type": self.kind.type,
                "agent_version": self.kind.version,
            },
            "attempts": self.attempts,
            "already_held": self.already_held,
            "bootstrap": self.bootstrap.to_json() if self.bootstrap else None,
        }


def worktree_path(ctx: Context, slug: str) -> Path:
    """Where the session is worked on here: its clone if it has one, else its worktree;
    refused if a symlink is on the way there (one committed as `.worktrees/<slug>` would send
    every file operation elsewhere)."""
    from git_sessions.clones import find_clone

    clone = find_clone(ctx, slug)
    if clone is not None:
        return clone
    safefs.no_symlink_on_the_way(ctx.ws.root, f"{ctx.config.worktree_root}/{check_slug(slug)}")
    return ctx.worktree_root / slug


def session_env(
    ctx: Context, slug: str, who: Identity, *, clone: bool = False
) -> sessionenv.SessionEnv:
    """The validated values of the .session-env a claim of `slug` by `who` writes here (in
    clone mode, naming the clone that is about to be made)."""
    from git_sessions.clones import clone_path

    path = clone_path(ctx, slug) if clone else worktree_path(ctx, slug)
    return sessionenv.make(slug, who, str(path), session_port(slug, ctx.config))


# kept for callers that only need the values: split on \n only, known names only
parse_env = sessionenv.parse


def holder(snap: Snapshot, slug: str) -> Identity | None:
    """Who holds active session `slug`, according to its committed .session-env."""
    return identity_in_env(snap.text(f"{session_dir('active', slug)}/{ENV_FILE}"))


def identity_in_env(text: str | None) -> Identity | None:
    """The agent a .session-env names (None if it is missing or not one a claim could have
    written)."""
    if text is None:
        return None
    try:
        return sessionenv.from_text(text).who
    except BadInput:
        return None


def _claim_change(
    ctx: Context,
    snap: Snapshot,
    slug: str,
    who: Identity,
    now: int,
    kind: AgentKind,
    *,
    clone: bool = False,
    clean: list[str | None] | None = None,
) -> Change | None:
    """The claim commit for `slug`, or None if `who` already holds it (idempotent repeat).
    `clean`: [a tree already found free of checkout hazards (see hazards.checkout)], set to
    this main's tree when checking it cost enough to be worth recording."""
    state = transitions.current_state(snap, slug)
    if state == "planned":
        plan = catalog.load(snap, slug)
        if plan.problems:
            raise BadInput(
                f"refusing to claim {slug}: {plan.problems[0]}",
                hint=f"fix {plan.path}/SESSION.md on main (see: git sessions show {slug})",
            )
        blocked = [d for d in plan.depends_on if "completed" not in catalog.locate(snap, d)]
        if blocked:
            raise BadInput(
                f"session {slug} depends on {', '.join(blocked)}, not completed yet",
                hint="claim it once its dependencies are completed",
            )
    if state == "active":
        if ownership.holds(snap, slug, who, ownership.load(ctx.ws.common_dir, slug)):
            return None
        owner = holder(snap, slug)
        by = f" by {owner.name} <{owner.email}>" if owner else ""
        if owner is not None and (owner.name, owner.email) == (who.name, who.email):
            by += " from another clone"
        raise Conflict(f"session {slug} is already claimed{by}", hint="claim another session")
    problems = []
    if state == "planned":
        known = clean[0] if clean else None
        found = hazards.for_claim(snap, state, slug, clean=known)
        problems = found.problems
        if clean and not problems and (known is None or found.looked_at > RECORD_AFTER):
            clean[0] = snap.object_id("")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BadInput(
            f"refusing to claim {slug}: {problems[0]}{more}",
            hint="see them all with: git sessions check; remove them on main with plain git",
        )
    env_text = sessionenv.render(session_env(ctx, slug, who, clone=clone))
    record = claim_file(who.name, who.email, kind, now)
    return transitions.claim(snap, slug, who, now, env_text, record)


def claim(
    ctx: Context,
    slug: str | None,
    who: Identity,
    *,
    capabilities: Iterable[str] = (),
    make_worktree: bool = True,
    clone: bool | None = None,
    kind: AgentKind = AgentKind(),
    clock: Callable[[], float] = time.time,
    timing: Timing = Timing(),
    environ: Mapping[str, str] | None = None,
) -> Claim:
    """Claim `slug`, or with slug None the best claimable session for `capabilities`."""
    caps = tuple(capabilities)
    chosen: list[str] = []
    use_clone = clone if clone is not None else ctx.config.workspace == "clone"
    known = _clean_tree(ctx)
    clean = [known]

    def build(snap: Snapshot) -> Change | None:
        if slug is not None:
            target = check_slug(slug)
        else:
            # a session whose own folder holds hostile entries is passed over, not claimed
            ready = [
                s
                for s in queue.claimable(snap, caps, ctx.plans())
                if not hazards.in_session(snap, "planned", s.slug)
            ]
            if not ready:
                wanted = f" for capabilities {', '.join(caps)}" if caps else ""
                raise BadInput(
                    f"no claimable session{wanted}",
                    hint="see what is planned: git sessions list --state planned",
                )
            target = ready[0].slug
        chosen[:] = [target]
        now = int(clock())
        return _claim_change(ctx, snap, target, who, now, kind, clone=use_clone, clean=clean)

    def record(commit: str) -> None:
        # before publishing: a claim that lands is always one this clone knows it made
        ownership.propose(ctx.ws.common_dir, chosen[0], commit)
        faults.point("claim:before-publish")

    published = update_main(ctx.hub, build, timing, before_publish=record)
    faults.point("claim:after-publish")
    if clean[0] != known:
        _remember_clean(ctx, clean[0])
    ctx.save_plans()
    target = chosen[0]
    path = worktree_path(ctx, target) if make_worktree else None
    setup = None
    if path is not None:
        from git_sessions import clones

        main = None
        if ctx.split:  # both branches in one fetch: the claim commit and main's code
            from git_sessions.coordination import fetch_tips

            main = fetch_tips(ctx)
        base = _claim_commit(ctx, target, published.commit, held=not published.changed)
        if ctx.split:
            base = _session_start(ctx, target, base, who, held=not published.changed, main=main)
        _adopt_hub_branch(ctx, target)
        if use_clone or clones.find_clone(ctx, target) is not None:
            tip = worktree.ensure_branch(ctx.ws, target, base, who)
            path = clones.make_clone(ctx, target, tip)
        else:
            worktree.ensure_worktree(ctx.ws, target, base, path, who)
        worktree.freeze_plan(path, "active", target)
        setup = _bootstrap_once(ctx, target, who, environ=environ)
    env_file = worktree.session_folder(path, "active", target) / ENV_FILE if path else None
    return Claim(
        slug=target,
        branch=worktree.branch_name(target),
        worktree=path,
        env_file=env_file,
        commit=published.commit,
        agent=who,
        attempts=published.attempts,
        already_held=not published.changed,
        bootstrap=setup,
        kind=kind,
    )


# The tree recorded as clean is replaced only once the scan since it looks at more entries
# than this: the folders a claim changes are scanned whatever the record's age, and a write
# and a rename of the record cost about as much as looking at this many entries.
RECORD_AFTER = 256


def _clean_tree_file(ctx: Context) -> Path:
    return ctx.ws.common_dir / "git-sessions" / "clean-tree"


def _clean_tree(ctx: Context) -> str | None:
    """The main tree the last claim here found free of checkout hazards: the next one checks
    only what changed since (a whole-tree scan is 5 ms at 3,000 files, 30 ms at 20,000)."""
    try:
        text = _clean_tree_file(ctx).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text) else None


def _remember_clean(ctx: Context, tree: str | None) -> None:
    """Record `tree` as checked (a cache: any tree that passed is a correct value, so
    racing claims of one clone may overwrite each other; a failed write costs a full scan)."""
    if tree is None:
        return
    path = _clean_tree_file(ctx)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(f"{tree}\n")
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()


def _bootstrap_once(
    ctx: Context, slug: str, who: Identity, *, environ: Mapping[str, str] | None = None
) -> Bootstrap | None:
    """Make the worktree runnable, unless that already succeeded for this claim: a claim
    interrupted during bootstrap (or one whose bootstrap failed) runs it again when repeated."""
    record = ownership.load(ctx.ws.common_dir, slug)
    if record is None or record.bootstrapped:
        return None
    faults.point("claim:before-bootstrap")
    return run_bootstrap(ctx, slug, who, environ=environ)


def run_bootstrap(
    ctx: Context, slug: str, who: Identity, *, environ: Mapping[str, str] | None = None
) -> Bootstrap:
    """Bootstrap the session's worktree; `bootstrap.run` only if this machine approved it.
    Success is recorded with this clone's claim, so a repeated claim does not run it again."""
    ok = approvals.approved(
        ctx.ws.common_dir,
        ctx.config.bootstrap_run,
        environ=os.environ if environ is None else environ,
        git_config=ctx.ws.config(approvals.GIT_CONFIG),
    )
    env = session_env(ctx, slug, who).exports()
    setup = bootstrap(ctx.config, ctx.ws.root, worktree_path(ctx, slug), env, approved=ok)
    if setup.ok:
        ownership.update(ctx.ws.common_dir, slug, bootstrapped=True)
    return setup


def _adopt_hub_branch(ctx: Context, slug: str) -> None:
    """Continue from the session branch on the hub (a reaped or released claim's work) when
    this repository has no local branch for the session yet."""
    branch = worktree.branch_name(slug)
    ref = f"refs/heads/{branch}"
    if ctx.ws.ref_target(ref) is not None or ref not in ctx.hub.heads():
        return
    tracking = f"refs/remotes/{ctx.config.remote}/{branch}"
    ctx.ws.fetch_refspecs(ctx.config.remote, [f"+{ref}:{tracking}"])  # network: not locked
    tip = ctx.ws.ref_target(tracking)
    if tip is not None:
        with ctx.ws.lock():
            ctx.ws.update_ref(ref, tip, None)  # only if still absent: never over local work


def _claim_commit(ctx: Context, slug: str, tip: str, *, held: bool) -> str:
    """The commit that claimed `slug` (`tip` itself unless this was a repeat), fetched locally."""
    if not ctx.ws.has_commit(tip):
        from git_sessions.gitrepo import LocalHub

        # a hub on this filesystem: copy the claim's few objects rather than fetch
        if not (isinstance(ctx.hub, LocalHub) and ctx.hub.copy_commit(tip)):
            ctx.ws.fetch(ctx.config.remote, ctx.protocol_branch)
    if not held:
        return tip
    branch = ctx.ws.ref_target(f"refs/heads/{worktree.branch_name(slug)}")
    starts = [ctx.ws.snapshot(branch)] if branch and ctx.ws.has_commit(branch) else []
    found = claim_commit(slug, *starts, ctx.ws.snapshot(tip))
    return found.commit if found is not None and found.commit else tip


def _session_start(
    ctx: Context, slug: str, claim: str, who: Identity, *, held: bool, main: str | None
) -> str:
    """In the coordination layout, where the session branch starts: main's code joined with
    the claim's `_AGENTS/` (see coordination); a repeated claim keeps the one its branch has."""
    from git_sessions import coordination

    branch = ctx.ws.ref_target(f"refs/heads/{worktree.branch_name(slug)}")
    if held and branch is not None:
        found = claim_commit(slug, ctx.ws.snapshot(branch))
        if found is not None and found.commit is not None:
            return found.commit
    return coordination.session_base(ctx, slug, claim, who, main)


def env_exports(ctx: Context, slug: str) -> str:
    """`export` lines for `slug`, rendered afresh from the validated values of its
    .session-env (the worktree's copy if there is one, else main's): never the file's lines."""
    return sessionenv.export_lines(env_values(ctx, slug))


def env_values(ctx: Context, slug: str) -> sessionenv.SessionEnv:
    """The validated values of `slug`'s .session-env (the worktree's copy, else main's)."""
    rel = f"{session_dir('active', slug)}/{ENV_FILE}"
    path = worktree_path(ctx, slug)
    text = safefs.read_text(path, rel) if (path / ".git").is_file() else None
    if text is None:
        text = ctx.main().text(rel)
    if text is None:
        raise BadInput(f"session {slug} is not active", hint="claim it first: git sessions claim")
    return sessionenv.checked(slug, text)
