"""The background agent's loop: poll main cheaply, claim what matches, run a command, repeat.

A poll when nothing changed is one ref read (a local hub) or one ref listing (a remote hub);
only a new tip of main costs a fetch and a scan of planned/. Clock, sleep and the stop signal
are parameters, so the loop is tested without waiting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from git_sessions import queue, safefs, sessionenv
from git_sessions.claiming import Claim, claim
from git_sessions.context import Context
from git_sessions.edits import Identity
from git_sessions.errors import BadInput, Conflict
from git_sessions.holders import AgentKind
from git_sessions.protocol import ENV_FILE, SESSIONS
from git_sessions.runner import Ran, run_shell


@dataclass(frozen=True)
class Event:
    kind: str  # "started", "idle", "found", "claimed", "lost", "ran", "stopped"
    slug: str | None = None
    detail: str = ""
    claim: Claim | None = None
    ran: Ran | None = None


def run_in_session(result: Claim, command: str) -> Ran:
    """Run `command` in the claimed session's worktree with its environment."""
    assert result.worktree is not None
    rel = f"{SESSIONS}/active/{result.slug}/{ENV_FILE}"
    values = sessionenv.from_text(safefs.read_text(result.worktree, rel) or "").exports()
    return run_shell(command, result.worktree, {**os.environ, **values})


def watch(
    ctx: Context,
    capabilities: Iterable[str],
    who: Identity,
    *,
    interval: float,
    do_claim: bool,
    command: str | None,
    once: bool,
    emit: Callable[[Event], None],
    stop: Callable[[], bool],
    sleep: Callable[[float], object],
    kind: AgentKind = AgentKind(),
) -> int:
    """Poll until stopped (or, with `once`, until work is found or claimed); claims made."""
    caps = tuple(capabilities)
    seen: str | None = None
    claims = 0
    first = True
    while not stop():
        tip = ctx.hub.peek()
        if first or tip != seen:
            first = False
            snap = ctx.main()
            seen = snap.commit
            ready = queue.claimable(snap, caps, ctx.plans())
            ctx.save_plans()
            if ready and not do_claim:
                emit(Event("found", ready[0].slug, f"{len(ready)} claimable"))
                if once:
                    break
            elif ready:
                try:
                    result = claim(ctx, None, who, capabilities=caps, make_worktree=True, kind=kind)
                except (BadInput, Conflict) as exc:
                    emit(Event("lost", None, exc.message))
                else:
                    claims += 1
                    seen = None  # main moved with our claim: look again next time
                    emit(Event("claimed", result.slug, claim=result))
                    if command:
                        emit(Event("ran", result.slug, ran=run_in_session(result, command)))
                    if once:
                        break
                    continue
            else:
                emit(Event("idle", None, "nothing claimable"))
        sleep(interval)
    emit(Event("stopped"))
    return claims
