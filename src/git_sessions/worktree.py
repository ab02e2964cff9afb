"""The local side of a claim: branch, worktree, frozen SESSION.md, under the workspace lock."""

from __future__ import annotations

import time
from pathlib import Path

from git_sessions import faults, safefs
from git_sessions.edits import Change, Identity
from git_sessions.errors import Conflict
from git_sessions.gitrepo import Workspace
from git_sessions.protocol import SESSIONS, append_only_paths


def branch_name(slug: str) -> str:
    return f"session/{slug}"


def session_folder(worktree: Path, state: str, slug: str) -> Path:
    return worktree / SESSIONS / state / slug


def _usable(ws: Workspace, slug: str, path: Path) -> bool:
    """A worktree that finished being created: registered, with its .git link and index."""
    admin = ws.common_dir / "worktrees" / slug
    return (path / ".git").is_file() and admin.is_dir() and (admin / "index").is_file()


def ensure_branch(ws: Workspace, slug: str, claim: str, who: Identity) -> str:
    """Branch session/<slug> holding claim commit `claim` (started there, or continued by a
    merge of the claim); its tip."""
    with ws.lock():
        ref = f"refs/heads/{branch_name(slug)}"
        tip = ws.ref_target(ref)
        if tip is None:
            ws.set_ref(ref, claim)
            return claim
        if not ws.objects.is_ancestor(claim, tip):
            tip = _absorb(ws, slug, tip, claim, who)
            ws.set_ref(ref, tip)
        return tip


def ensure_worktree(ws: Workspace, slug: str, claim: str, path: Path, who: Identity) -> None:
    """Check out branch session/<slug>, holding claim commit `claim`, at `path`; idempotent.

    A new branch starts at the claim. A branch that already exists (work kept by a release or
    a reap) continues: the claim is merged into it, so it carries the new .session-env.
    Debris of an interrupted creation (kill -9 mid-checkout) is cleared first; a folder in the
    way is moved aside, never deleted.
    """
    with ws.lock():
        if _usable(ws, slug, path):
            return
        ref = f"refs/heads/{branch_name(slug)}"
        tip = ws.ref_target(ref)
        if tip is None:
            moved = ws.update_ref(ref, claim, None)
        elif not ws.objects.is_ancestor(claim, tip):
            moved = ws.update_ref(ref, _absorb(ws, slug, tip, claim, who), tip)
        else:
            moved = True
        if not moved:  # git itself (not under our lock) moved the branch meanwhile
            raise Conflict(f"{branch_name(slug)} moved while claiming", hint="claim again")
        if path.is_symlink():
            raise safefs.Unsafe(f"refusing to use {path} as a worktree: it is a symlink")
        faults.point("claim:in-worktree")
        if path.exists() and any(path.iterdir()):
            path.rename(path.with_name(f"{path.name}.orphaned-{int(time.time())}"))
        elif path.exists():
            path.rmdir()
        ws.prune_worktree(slug)
        path.parent.mkdir(parents=True, exist_ok=True)
        ws.add_worktree(slug, path, branch_name(slug), sparse=sparse_patterns(slug))


def sparse_patterns(slug: str) -> tuple[str, ...]:
    """Everything but other sessions' folders: with 20k sessions in the archive a full
    checkout is 100k+ files nobody in this worktree reads (sessions read main's tree)."""
    return ("/*", f"!/{SESSIONS}/*/*/", f"/{SESSIONS}/active/{slug}/")


def _absorb(ws: Workspace, slug: str, tip: str, claim: str, who: Identity) -> str:
    """Bring claim commit `claim` into a session branch at `tip`: fast-forward or merge."""
    if ws.objects.is_ancestor(tip, claim):
        return claim
    logs = append_only_paths("active", slug)
    merged = ws.objects.merge(ws.objects.merge_base(tip, claim), tip, claim, union=logs)
    if merged.tree is None:
        raise Conflict(
            f"the kept branch {branch_name(slug)} conflicts with the new claim in "
            f"{', '.join(merged.conflicts)}",
            hint=f"rename the branch (git branch -m {branch_name(slug)} OLD) and claim again",
        )
    message = f"[{slug}] chore: continue session after a new claim"
    change = Change((), message, who, start_tree=merged.tree, merged=(claim,))
    return ws.objects.write(tip, change)


def freeze_plan(worktree: Path, state: str, slug: str) -> None:
    """Make SESSION.md read-only, so the frozen plan is not edited by accident (a committed
    symlink in its place is refused: chmod would change the mode of its target)."""
    safefs.chmod(worktree, f"{SESSIONS}/{state}/{slug}/SESSION.md", 0o444)
