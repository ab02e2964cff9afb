"""Journal entries written by a session on its own branch (learnings for now)."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from git_sessions import worktree
from git_sessions.claiming import holder, parse_env, worktree_path
from git_sessions.context import Context
from git_sessions.edits import Identity
from git_sessions.errors import BadInput
from git_sessions.protocol import ENV_FILE, KNOWLEDGE


def learnings_file(slug: str) -> str:
    return f"{KNOWLEDGE}/sessions/{slug}/learnings.md"


@dataclass(frozen=True)
class Entry:
    slug: str
    path: str
    commit: str | None


def session_identity(ctx: Context, slug: str, environ: Mapping[str, str]) -> Identity:
    """Who writes for the session: the sourced .session-env, its file, or the claim on main."""
    name, email = environ.get("GIT_AUTHOR_NAME"), environ.get("GIT_AUTHOR_EMAIL")
    if environ.get("SESSION_ID") == slug and name and email:
        return Identity(name, email)
    local = worktree.session_folder(worktree_path(ctx, slug), "active", slug) / ENV_FILE
    if local.is_file():
        env = parse_env(local.read_text())
        if env.get("GIT_AUTHOR_NAME") and env.get("GIT_AUTHOR_EMAIL"):
            return Identity(env["GIT_AUTHOR_NAME"], env["GIT_AUTHOR_EMAIL"])
    owner = holder(ctx.main(), slug)
    return owner if owner is not None else ctx.identity()


def append_entry(
    ctx: Context,
    slug: str,
    path: str,
    header: str,
    line: str,
    message: str,
    *,
    commit: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Entry:
    """Append `line` to `path` in the session's worktree (or branch) and commit it there."""
    env = dict(os.environ) if environ is None else environ
    wt: Path | None = worktree_path(ctx, slug)
    if wt is not None and not (wt / ".git").exists():
        wt = None
    branch = worktree.branch_name(slug)
    if wt is None and ctx.ws.ref_target(f"refs/heads/{branch}") is None:
        raise BadInput(
            f"session {slug} has no worktree or branch here",
            hint=f"claim it first: git sessions claim {slug}",
        )
    with ctx.ws.lock():
        if wt is not None:
            current = (wt / path).read_text() if (wt / path).exists() else ""
        else:
            tip = ctx.ws.ref_target(f"refs/heads/{branch}")
            current = ctx.ws.snapshot(tip).text(path) or ""
        text = (current or header) + line
        if not commit:
            if wt is None:
                raise BadInput("--no-commit needs the session's worktree on this machine")
            (wt / path).parent.mkdir(parents=True, exist_ok=True)
            (wt / path).write_text(text)
            return Entry(slug, path, None)
        who = session_identity(ctx, slug, env)
        new = ctx.ws.commit_on_branch(branch, {path: text.encode()}, message, who, wt)
    return Entry(slug, path, new)


def learn(
    ctx: Context,
    slug: str,
    insight: str,
    *,
    commit: bool = True,
    clock: Callable[[], float] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Entry:
    """Record a learning in knowledge/sessions/<slug>/learnings.md on the session branch."""
    if not insight.strip():
        raise BadInput("a learning needs some text")
    now = dt.datetime.fromtimestamp((clock or time.time)(), dt.UTC).strftime("%Y-%m-%d %H:%M")
    return append_entry(
        ctx,
        slug,
        learnings_file(slug),
        f"# Learnings: {slug}\n\n",
        f"- {now} {' '.join(insight.split())}\n",
        f"[{slug}] docs: capture learning",
        commit=commit,
        environ=environ,
    )
