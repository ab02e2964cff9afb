"""Commands that take and give back sessions: claim, env, release."""

from __future__ import annotations

import os
import shlex
import sys
from typing import TYPE_CHECKING

import typer

from git_sessions.cli.app import (
    app,
    complete_slug,
    context,
    emit_json,
    note,
    out,
    repository,
    session_slug,
    start_directory,
)
from git_sessions.cli.authoring import AGENT, EMAIL, JSON
from git_sessions.errors import BadInput
from git_sessions.protocol import CONFIG_FILE

if TYPE_CHECKING:
    from git_sessions.bootstrap import Bootstrap
    from git_sessions.context import Context


YES = typer.Option(
    False,
    "--yes",
    help="Approve the bootstrap.run commands of config.yaml on this machine, then run them.",
)


def approve_bootstrap(ctx: Context) -> None:
    from git_sessions import approvals

    approvals.approve(ctx.ws.common_dir, ctx.config.bootstrap_run)


@app.command()
def claim(
    slug: str | None = typer.Argument(
        None, help="The session to claim (or use --next).", autocompletion=complete_slug
    ),
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
    yes: bool = YES,
    as_json: bool = JSON,
) -> None:
    """Claim a planned session atomically, then create its worktree and .session-env."""
    import os

    from git_sessions import documents
    from git_sessions.holders import agent_kind

    if (slug is None) == (not next_):
        raise typer.BadParameter("name a session or pass --next (not both)")
    repo = repository(agent, email)
    if yes:
        approve_bootstrap(repo.ctx)
    claimed = repo.claim(
        slug,
        capabilities=capability,
        worktree=not no_worktree,
        clone=clone,
        kind=agent_kind(agent_type, agent_version, os.environ),
    )
    result = claimed.claim
    if result.bootstrap and not result.bootstrap.ok:
        report_bootstrap(result.slug, result.bootstrap)
        note("the claim stands; fix the worktree by hand or adjust bootstrap in config.yaml")
    if as_json:
        emit_json(documents.claim(claimed))
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


def report_bootstrap(slug: str, boot: Bootstrap) -> None:
    """Warnings for a bootstrap that did not fully happen, on stderr."""
    for name in boot.missing:
        note(f"warning: bootstrap: {name} is not a regular file in the main checkout, not copied")
    for ran in boot.ran:
        if not ran.ok:
            note(f"warning: bootstrap: `{ran.command}` failed with exit {ran.returncode}")
            note(ran.output.rstrip())
    if boot.unapproved:
        note(
            f"bootstrap: not running {len(boot.unapproved)} command(s) from {CONFIG_FILE}"
            " that this machine has not approved:"
        )
        for command in boot.unapproved:
            note(f"  $ {command}")
        note(f"hint: review them, then run: git sessions bootstrap {slug} --yes")


@app.command("bootstrap")
def bootstrap_(
    slug: str | None = typer.Argument(
        None, help="Session (default: $SESSION_ID).", autocompletion=complete_slug
    ),
    yes: bool = YES,
    as_json: bool = JSON,
) -> None:
    """Copy bootstrap files and run the approved bootstrap commands in a session's worktree."""
    from git_sessions import claiming
    from git_sessions.journal import session_identity, session_worktree

    ctx = context()
    name = session_slug(slug)
    if session_worktree(ctx, name) is None:
        raise BadInput(f"session {name} has no worktree here", hint=f"git sessions claim {name}")
    if yes:
        approve_bootstrap(ctx)
    boot = claiming.run_bootstrap(ctx, name, session_identity(ctx, name, os.environ))
    if as_json:
        from git_sessions.documents import stamp

        emit_json(stamp("bootstrap", {"slug": name, **boot.to_json()}))
    else:
        for ran in boot.ran:
            out(f"ran `{ran.command}`: exit {ran.returncode}")
        report_bootstrap(name, boot)
    if boot.unapproved:
        raise BadInput("bootstrap commands not approved", hint="pass --yes to approve them")
    if not boot.ok:
        raise BadInput("bootstrap did not finish", hint="see the warnings above")


@app.command()
def env(
    slug: str | None = typer.Argument(
        None, help="Session (default: $SESSION_ID).", autocompletion=complete_slug
    ),
    as_json: bool = JSON,
) -> None:
    """Print the session's environment as export lines, for eval "$(git sessions env)"."""
    from git_sessions.sessionenv import exports_text, worktree_env_text

    name = session_slug(slug)
    if not as_json:
        text = worktree_env_text(start_directory().resolve(), name)
        if text is not None:  # inside the session's worktree: no need to open the repository
            sys.stdout.write(exports_text(name, text))
            return
    from git_sessions import claiming, documents

    repo = repository()
    if as_json:
        emit_json(documents.env(name, repo.env(name)))
        return
    sys.stdout.write(claiming.env_exports(repo.ctx, name))


@app.command()
def release(
    slug: str = typer.Argument(..., help="The session.", autocompletion=complete_slug),
    force: bool = typer.Option(
        False,
        "--force",
        help="Release even if the session branch has commits (kept), or if someone else holds"
        " the session (recorded with your name).",
    ),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Give a claim back: active -> planned, lock line removed, worktree removed."""
    from git_sessions import documents

    result = repository(agent, email).release(slug, force=force)
    if as_json:
        emit_json(documents.release(result))
        return
    out(f"released {slug} ({result.commit[:10]}); it is planned again")
    if result.branch_kept:
        note(f"kept branch session/{slug} with its commits")
