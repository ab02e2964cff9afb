"""Claims: exactly-once ownership of a planned session, then its worktree and .session-env.

The claim itself is one commit on main (lock line, move to active/, .session-env), published by
compare-and-swap; everything local (branch, worktree) follows and is idempotent, so a crash
between the two is repaired by claiming again.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from git_sessions import catalog, queue, templates, transitions, worktree
from git_sessions.bootstrap import Bootstrap, bootstrap, session_port
from git_sessions.context import Context
from git_sessions.edits import Change, Identity
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo import Snapshot
from git_sessions.history import claim_commits
from git_sessions.holders import AgentKind, claim_file
from git_sessions.protocol import ENV_FILE, check_slug, session_dir
from git_sessions.publish import Timing, update_main


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
    """Where the session is worked on here: its clone if it has one, else its worktree."""
    from git_sessions.clones import find_clone

    return find_clone(ctx, slug) or ctx.worktree_root / slug


def env_context(
    ctx: Context, slug: str, who: Identity, *, clone: bool = False
) -> dict[str, object]:
    from git_sessions.clones import clone_path

    path = clone_path(ctx, slug) if clone else worktree_path(ctx, slug)
    return {
        "SESSION_SLUG": slug,
        "USER_NAME": who.name,
        "USER_EMAIL": who.email,
        "SESSION_BRANCH": worktree.branch_name(slug),
        "SESSION_WORKTREE": str(path),
        "SESSION_DIR": str(worktree.session_folder(path, "active", slug)),
        "SESSION_PORT": session_port(slug, ctx.config),
    }


def parse_env(text: str) -> dict[str, str]:
    """The `export NAME=value` lines of a .session-env, unquoted as the shell would."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, raw = line[len("export ") :].partition("=")
            try:
                words = shlex.split(raw)
            except ValueError:
                continue
            values[name] = words[0] if words else ""
    return values


def holder(snap: Snapshot, slug: str) -> Identity | None:
    """Who holds active session `slug`, according to its committed .session-env."""
    text = snap.text(f"{session_dir('active', slug)}/{ENV_FILE}")
    if text is None:
        return None
    env = parse_env(text)
    name, email = env.get("GIT_AUTHOR_NAME"), env.get("GIT_AUTHOR_EMAIL")
    return Identity(name, email) if name and email else None


def _claim_change(
    ctx: Context,
    snap: Snapshot,
    slug: str,
    who: Identity,
    now: int,
    kind: AgentKind,
    *,
    clone: bool = False,
) -> Change | None:
    """The claim commit for `slug`, or None if `who` already holds it (idempotent repeat)."""
    state = transitions.current_state(snap, slug)
    if state == "planned":
        blocked = [
            d
            for d in catalog.load(snap, slug).depends_on
            if "completed" not in catalog.locate(snap, d)
        ]
        if blocked:
            raise BadInput(
                f"session {slug} depends on {', '.join(blocked)}, not completed yet",
                hint="claim it once its dependencies are completed",
            )
    if state == "active":
        owner = holder(snap, slug)
        if owner is not None and owner.email == who.email and owner.name == who.name:
            return None
        by = f" by {owner.name} <{owner.email}>" if owner else ""
        raise Conflict(f"session {slug} is already claimed{by}", hint="claim another session")
    values = env_context(ctx, slug, who, clone=clone)
    env_text = templates.render("session-env.template.j2", values, snap.text)
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
) -> Claim:
    """Claim `slug`, or with slug None the best claimable session for `capabilities`."""
    caps = tuple(capabilities)
    chosen: list[str] = []
    use_clone = clone if clone is not None else ctx.config.workspace == "clone"

    def build(snap: Snapshot) -> Change | None:
        if slug is not None:
            target = check_slug(slug)
        else:
            ready = queue.claimable(snap, caps, ctx.plans())
            if not ready:
                wanted = f" for capabilities {', '.join(caps)}" if caps else ""
                raise BadInput(
                    f"no claimable session{wanted}",
                    hint="see what is planned: git sessions list --state planned",
                )
            target = ready[0].slug
        chosen[:] = [target]
        return _claim_change(ctx, snap, target, who, int(clock()), kind, clone=use_clone)

    published = update_main(ctx.hub, build, timing)
    ctx.save_plans()
    target = chosen[0]
    path = worktree_path(ctx, target) if make_worktree else None
    setup = None
    if path is not None:
        from git_sessions import clones

        claim_commit = _claim_commit(ctx, target, published.commit, held=not published.changed)
        _adopt_hub_branch(ctx, target)
        fresh = not (path / ".git").exists()
        if use_clone or clones.find_clone(ctx, target) is not None:
            tip = worktree.ensure_branch(ctx.ws, target, claim_commit, who)
            path = clones.make_clone(ctx, target, tip)
        else:
            worktree.ensure_worktree(ctx.ws, target, claim_commit, path, who)
        worktree.freeze_plan(worktree.session_folder(path, "active", target))
        if fresh:
            env = parse_env(
                (worktree.session_folder(path, "active", target) / ENV_FILE).read_text()
            )
            setup = bootstrap(ctx.config, ctx.ws.root, path, env)
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


def _adopt_hub_branch(ctx: Context, slug: str) -> None:
    """Continue from the session branch on the hub (a reaped or released claim's work) when
    this repository has no local branch for the session yet."""
    branch = worktree.branch_name(slug)
    ref = f"refs/heads/{branch}"
    if ctx.ws.ref_target(ref) is not None or ref not in ctx.hub.heads():
        return
    with ctx.ws.lock():
        ctx.ws.fetch_refspecs(ctx.config.remote, [f"{ref}:{ref}"])


def _claim_commit(ctx: Context, slug: str, tip: str, *, held: bool) -> str:
    """The commit that claimed `slug` (`tip` itself unless this was a repeat), fetched locally."""
    if not ctx.ws.has_commit(tip):
        with ctx.ws.lock():
            ctx.ws.fetch(ctx.config.remote, ctx.branch)
    if not held:
        return tip
    found = claim_commits(ctx.ws.snapshot(tip), [slug]).get(slug)
    return found.commit if found is not None and found.commit else tip


@dataclass(frozen=True)
class Release:
    slug: str
    commit: str
    branch_kept: bool
    worktree_removed: bool


def release(ctx: Context, slug: str, who: Identity, *, force: bool = False) -> Release:
    """Give a claim back: active -> planned. Refused if the session branch has work, unless
    `force`, which keeps the branch; a worktree with uncommitted changes is always refused."""
    check_slug(slug)
    path = worktree_path(ctx, slug)
    if path.exists():
        dirty = ctx.ws.status_dirty(path, untracked=True)
        if dirty:
            raise BadInput(
                f"worktree {path} has uncommitted changes ({', '.join(dirty[:3])})",
                hint="commit or discard them first",
            )
    work = _session_work(ctx, slug)
    if work and not force:
        raise Conflict(
            f"session branch {worktree.branch_name(slug)} has {work} commit(s) since the claim",
            hint="complete or abandon the session, or release --force to keep the branch",
        )
    published = update_main(ctx.hub, lambda snap: transitions.release(snap, slug, who))
    removed = False
    with ctx.ws.lock():
        if path.exists() or (ctx.ws.common_dir / "worktrees" / slug).exists():
            ctx.ws.remove_worktree(slug, path)
            removed = True
        if not work:
            ctx.ws.delete_ref(f"refs/heads/{worktree.branch_name(slug)}")
    return Release(slug, published.commit, bool(work), removed)


def _session_work(ctx: Context, slug: str) -> int:
    """Commits on the local session branch (the clone's, in clone mode) after its claim."""
    from git_sessions.clones import bring_home

    bring_home(ctx, slug)
    tip = ctx.ws.ref_target(f"refs/heads/{worktree.branch_name(slug)}")
    if tip is None:
        return 0
    snap = ctx.main()
    if transitions.current_state(snap, slug) != "active":
        raise Conflict(f"session {slug} is {transitions.current_state(snap, slug)}, not active")
    if snap.commit is None or not ctx.ws.has_commit(snap.commit):
        with ctx.ws.lock():
            ctx.ws.fetch(ctx.config.remote, ctx.branch)
    claimed = claim_commits(ctx.ws.snapshot(snap.commit), [slug]).get(slug)
    if claimed is None or claimed.commit is None:
        return 0
    return len(ctx.ws.commits_between(claimed.commit, tip))


def current_slug(explicit: str | None, cwd: Path, environ: dict[str, str]) -> str:
    """The session a command acts on: the argument, $SESSION_ID, or the worktree we are in."""
    if explicit:
        return check_slug(explicit)
    if environ.get("SESSION_ID"):
        return check_slug(environ["SESSION_ID"])
    for part in reversed(cwd.parts):
        if part.startswith(("20", "kb-")):
            try:
                return check_slug(part)
            except BadInput:
                continue
    raise BadInput("no current session", hint="name the session, or source its .session-env")


def env_text(ctx: Context, slug: str) -> str:
    """The .session-env of `slug`: the worktree's copy if there is one, else main's."""
    local = worktree.session_folder(worktree_path(ctx, slug), "active", slug) / ENV_FILE
    if local.is_file():
        return local.read_text()
    text = ctx.main().text(f"{session_dir('active', slug)}/{ENV_FILE}")
    if text is None:
        raise BadInput(f"session {slug} is not active", hint="claim it first: git sessions claim")
    return text
