"""`init`: scaffold `_AGENTS/` on main, idempotently, and connect the repository to a hub."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from git_sessions import gitrepo, templates
from git_sessions.config import DEFAULT_CONFIG
from git_sessions.context import Context
from git_sessions.edits import Change, Edit, Identity, Write
from git_sessions.errors import BadInput, GitFailure
from git_sessions.gitrepo import Snapshot
from git_sessions.protocol import (
    BIN_DIR,
    CONFIG_FILE,
    INIT_SUBJECT,
    KNOWLEDGE,
    LOCK_FILE,
    SESSIONS,
    STATES,
    TEMPLATES_DIR,
)
from git_sessions.publish import Published, update_main

WRAPPERS = {
    "claim-session": "claim",
    "complete-session": "complete",
}

KNOWLEDGE_README = """\
# Knowledge base

Canonical knowledge for agents working in this repository. Only `kb-` sessions change files
here; other sessions write their learnings to `sessions/<slug>/learnings.md`, and completing
a session with learnings plans a `kb-` session that merges them.
"""


def wrapper_script(verb: str) -> str:
    return (
        "#!/bin/sh\n"
        f"# Seed-compatible wrapper: same arguments as `git-sessions {verb}`.\n"
        f'exec git-sessions {verb} "$@"\n'
    )


def scaffold_files(worktree_root: str) -> dict[str, tuple[str, bool]]:
    """Every file `init` guarantees: path -> (content, executable)."""
    files: dict[str, tuple[str, bool]] = {
        LOCK_FILE: ("", False),
        CONFIG_FILE: (DEFAULT_CONFIG.replace(".worktrees", worktree_root), False),
        f"{SESSIONS}/SESSIONS-README.md": (templates.package_template("SESSIONS-README.md"), False),
        f"{SESSIONS}/SESSIONS-REFERENCE.md": (
            templates.package_template("SESSIONS-REFERENCE.md"),
            False,
        ),
        f"{KNOWLEDGE}/README.md": (KNOWLEDGE_README, False),
        f"{KNOWLEDGE}/sessions/.gitkeep": ("", False),
    }
    for state in STATES:
        files[f"{SESSIONS}/{state}/.gitkeep"] = ("", False)
    for name in templates.NAMES:
        files[f"{TEMPLATES_DIR}/{name}"] = (templates.package_template(name), False)
    for name, verb in WRAPPERS.items():
        files[f"{BIN_DIR}/{name}"] = (wrapper_script(verb), True)
    return files


CLONE_IGNORE = ".sessions/"  # clone-mode workspaces (claim --clone), ignored from the first init
# INDEX.md rows are single lines: a union merge keeps both sides and never conflicts
INDEX_ATTRIBUTES = f"{SESSIONS}/INDEX.md merge=union"


def ignore_line(worktree_root: str) -> str:
    return worktree_root.strip("/") + "/"


def scaffold_change(snap: Snapshot, worktree_root: str, author: Identity) -> Change | None:
    """The edits that bring main up to a full scaffold, never overwriting what is there."""
    edits: list[Edit] = [
        Write(path, text.encode(), executable)
        for path, (text, executable) in scaffold_files(worktree_root).items()
        if snap.read(path) is None
    ]
    for path, wanted in (
        (".gitignore", [ignore_line(worktree_root), CLONE_IGNORE]),
        (".gitattributes", [INDEX_ATTRIBUTES]),
    ):
        text = snap.text(path) or ""
        missing = [line for line in wanted if line not in text.split("\n")]
        if missing:
            sep = "" if not text or text.endswith("\n") else "\n"
            edits.append(Write(path, (text + sep + "".join(f"{m}\n" for m in missing)).encode()))
    if not edits:
        return None
    return Change(tuple(edits), INIT_SUBJECT, author)


@dataclass(frozen=True)
class InitResult:
    commit: str
    changed: bool
    created_hub: Path | None
    hub: str


def connect_hub(ctx: Context, hub_path: Path) -> Path | None:
    """Create a bare hub at `hub_path` (if needed) and make it the remote; the path if created."""
    path = hub_path.resolve()
    existing = ctx.ws.remote_url(ctx.config.remote)
    if existing is not None:
        if gitrepo.is_local_url(existing) and gitrepo.local_path(existing, ctx.ws.root) == path:
            gitrepo.init_bare(path, ctx.config.main_branch or "main")  # its settings, if missing
            return None
        raise BadInput(
            f"remote {ctx.config.remote!r} already points to {existing}",
            hint="drop --hub to use it, or remove the remote first",
        )
    created = not path.exists()
    branch = ctx.config.main_branch or ctx.ws.head_branch() or "main"
    gitrepo.init_bare(path, branch)
    ctx.ws.add_remote(ctx.config.remote, str(path))
    local = ctx.ws.head_branch()
    if local is not None and ctx.ws.config(f"branch.{local}.remote") is None:
        # so that a plain `git pull` brings main's protocol commits into this checkout
        ctx.ws.set_config(f"branch.{local}.remote", ctx.config.remote)
        ctx.ws.set_config(f"branch.{local}.merge", f"refs/heads/{branch}")
    return path if created else None


def seed_hub(ctx: Context) -> None:
    """Give an empty hub our local history as main, so protocol commits build on it."""
    head = ctx.ws.head_commit()
    hub = ctx.code_hub  # main, in either layout
    if head is None or hub.tip() is not None:
        return
    if isinstance(hub, gitrepo.LocalHub):
        # Transfer objects to a private ref, then create main only if nobody else did.
        staging = "refs/git-sessions/seed"
        if not ctx.ws.push(ctx.config.remote, head, staging, force=True):
            raise GitFailure("could not copy local history to the hub")
        hub.publish(None, head)
        hub.delete_ref(staging)
    else:
        ctx.ws.push(ctx.config.remote, head, hub.ref)


def exclude_worktrees(ctx: Context) -> None:
    """Ignore the worktree root locally at once (the .gitignore on main arrives with a pull)."""
    exclude = ctx.ws.common_dir / "info" / "exclude"
    line = ignore_line(ctx.config.worktree_root)
    text = exclude.read_text() if exclude.exists() else ""
    if line not in text.splitlines():
        exclude.parent.mkdir(parents=True, exist_ok=True)
        sep = "" if not text or text.endswith("\n") else "\n"
        exclude.write_text(f"{text}{sep}{line}\n")


def init(
    ctx: Context,
    author: Identity,
    *,
    hub_path: Path | None = None,
    protocol_branch: str | None = None,
) -> InitResult:
    """Scaffold `_AGENTS/` on main; with `protocol_branch`, then move it to that branch (see
    migration). A checkout already in the coordination layout leaves the protocol as it is."""
    created = connect_hub(ctx, hub_path) if hub_path is not None else None
    seed_hub(ctx)
    root = ctx.config.worktree_root
    if ctx.split:
        tip = ctx.hub.tip()
        if tip is None:
            raise BadInput(
                f"the hub has no branch {ctx.protocol_branch}, which config.yaml names",
                hint="git pull, or: git sessions migrate --protocol-branch NAME",
            )
        result = Published(tip, tip, 1, changed=False)
    else:
        result = update_main(ctx.hub, lambda snap: scaffold_change(snap, root, author))
    if protocol_branch is not None and protocol_branch != ctx.protocol_branch:
        from git_sessions import migration

        moved = migration.migrate(ctx, author, protocol_branch)
        if moved.changed:
            result = Published(moved.main or result.commit, None, 1, changed=True)
    exclude_worktrees(ctx)
    url = ctx.ws.remote_url(ctx.config.remote) or ""
    return InitResult(result.commit, result.changed, created, url)
