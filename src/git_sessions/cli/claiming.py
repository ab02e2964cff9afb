"""Commands that take and give back sessions: claim, env, release."""

from __future__ import annotations

import shlex

import typer

from git_sessions.cli.app import app, context, emit_json, note, out, session_slug
from git_sessions.cli.authoring import AGENT, EMAIL, JSON


@app.command()
def claim(
    slug: str | None = typer.Argument(None, help="The session to claim (or use --next)."),
    next_: bool = typer.Option(False, "--next", help="Claim the best claimable session."),
    capability: list[str] = typer.Option(
        [], "--capability", "-c", help="A capability this agent has (repeatable)."
    ),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    agent_type: str | None = typer.Option(
        None, "--agent-type", help="What kind of agent (e.g. claude); $GIT_SESSIONS_AGENT_TYPE."
    ),
    agent_version: str | None = typer.Option(
        None, "--agent-version", help="Its version or model; $GIT_SESSIONS_AGENT_VERSION."
    ),
    no_worktree: bool = typer.Option(False, "--no-worktree", help="Only claim; no worktree."),
    clone: bool | None = typer.Option(
        None,
        "--clone/--worktree",
        help="Work in a shallow clone in .sessions/<slug> (default: config `workspace`).",
    ),
    as_json: bool = JSON,
) -> None:
    """Claim a planned session atomically, then create its worktree and .session-env."""
    import os

    from git_sessions import claiming
    from git_sessions.holders import agent_kind

    if (slug is None) == (not next_):
        raise typer.BadParameter("name a session or pass --next (not both)")
    ctx = context()
    caps = capability or list(ctx.config.capabilities)
    result = claiming.claim(
        ctx,
        slug,
        ctx.identity(agent, email),
        capabilities=caps,
        make_worktree=not no_worktree,
        clone=clone,
        kind=agent_kind(agent_type, agent_version, os.environ),
    )
    if result.bootstrap and not result.bootstrap.ok:
        boot = result.bootstrap
        for name in boot.missing:
            note(f"warning: bootstrap: {name} is not in the main checkout, not copied")
        for ran in boot.ran:
            if not ran.ok:
                note(f"warning: bootstrap: `{ran.command}` failed with exit {ran.returncode}")
                note(ran.output.rstrip())
        note("the claim stands; fix the worktree by hand or adjust bootstrap in config.yaml")
    if as_json:
        emit_json(result.to_json())
        return
    verb = "already held" if result.already_held else "claimed"
    kind = " ".join(k for k in (result.kind.type, result.kind.version) if k)
    who = f"{result.agent.name} <{result.agent.email}>" + (f" ({kind})" if kind else "")
    out(f"{verb} {result.slug} as {who} ({result.commit[:10]})")
    if result.worktree and result.env_file:
        out(f"worktree {result.worktree} on branch {result.branch}")
        rel = result.env_file.relative_to(result.worktree)
        out(f"cd {shlex.quote(str(result.worktree))} && source {shlex.quote(str(rel))}")
    else:
        out(f'eval "$(git sessions env {result.slug})"')


@app.command()
def env(slug: str | None = typer.Argument(None, help="Session (default: $SESSION_ID).")) -> None:
    """Print the session's environment as export lines, for eval "$(git sessions env)"."""
    from git_sessions import claiming

    ctx = context()
    name = session_slug(slug)
    text = claiming.env_text(ctx, name)
    out("\n".join(line for line in text.splitlines() if line.startswith("export ")))


@app.command()
def release(
    slug: str,
    force: bool = typer.Option(
        False, "--force", help="Release even if the session branch has commits (kept)."
    ),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Give a claim back: active -> planned, lock line removed, worktree removed."""
    from git_sessions import claiming

    ctx = context()
    result = claiming.release(ctx, slug, ctx.identity(agent, email), force=force)
    if as_json:
        emit_json(result.__dict__)
        return
    out(f"released {slug} ({result.commit[:10]}); it is planned again")
    if result.branch_kept:
        note(f"kept branch session/{slug} with its commits")
