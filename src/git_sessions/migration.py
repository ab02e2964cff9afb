"""`migrate`: move `_AGENTS/` between main (the default layout) and a coordination branch.

Both directions are one `publish_refs` of two compare-and-swap commits, built afresh on each
attempt. On a local hub (refs moved one by one) the order makes a crash harmless:
- to a coordination branch: first the branch gets a copy of main's `_AGENTS/`, then main drops
  it and its config.yaml names the branch. Until the second step main is still the protocol,
  and a re-run copies it again.
- back to main: first main gets the branch's `_AGENTS/` and its config.yaml names no branch,
  then the branch is emptied (a MOVED.md note), so a clone that has not pulled yet finds no
  session there instead of a stale copy. A re-run finds main done and only empties the branch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from git_sessions import coordination
from git_sessions.config import is_branch_name, parse_config
from git_sessions.context import Context
from git_sessions.edits import Change, Identity, Write
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo import RemoteHub
from git_sessions.gitrepo.objects import Objects
from git_sessions.protocol import AGENTS, CONFIG_FILE, SESSIONS
from git_sessions.publish import Timing, backoff

MOVED = f"{AGENTS}/MOVED.md"
_KEY = re.compile(r"^protocol_branch:.*$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    layout: str  # "coordination" or "main"
    protocol_branch: str
    main: str | None  # main's new commit (None: unchanged)
    coordination: str | None  # the coordination branch's new commit (None: unchanged)
    attempts: int

    @property
    def changed(self) -> bool:
        return self.main is not None or self.coordination is not None

    def to_json(self) -> dict[str, object]:
        return {
            "layout": self.layout,
            "protocol_branch": self.protocol_branch,
            "main": self.main,
            "coordination": self.coordination,
            "changed": self.changed,
            "attempts": self.attempts,
        }


def with_protocol_branch(text: str, branch: str | None) -> str:
    """config.yaml's text with its `protocol_branch` set (null: the default layout)."""
    line = f"protocol_branch: {branch or 'null'}"
    if _KEY.search(text):
        text = _KEY.sub(line, text, count=1)
    else:
        text = f"{text}{'' if not text or text.endswith(chr(10)) else chr(10)}{line}\n"
    parse_config(text)  # refuse to publish a config that would not load
    return text


def _tips(ctx: Context, branch: str) -> tuple[str, str | None]:
    main = ctx.code_hub.tip()
    if main is None:
        raise BadInput(f"the hub has no {ctx.branch} branch", hint="run git sessions init first")
    hub = ctx.code_hub
    other = hub.heads().get(f"refs/heads/{branch}")
    if other is not None and isinstance(hub, RemoteHub) and not hub.objects.has(other):
        ctx.ws.fetch(ctx.config.remote, branch)
    return main, other


def migrate(ctx: Context, who: Identity, target: str, timing: Timing = Timing()) -> Migration:
    """Move the protocol to branch `target`, or back to main when `target` is main's name."""
    if not is_branch_name(target):
        raise BadInput(f"{target!r} is not a branch name")
    hub = ctx.code_hub
    objects = hub.objects
    start, attempt = timing.clock(), 0
    while True:
        attempt += 1
        main = hub.tip()
        config = hub.snapshot(main).text(CONFIG_FILE)
        if main is None or config is None:
            raise BadInput("git-sessions is not initialised on main", hint="git sessions init")
        now = parse_config(config).protocol_branch
        back = target == ctx.branch
        # back to main: a re-run after main was done learns the branch from this checkout
        branch = (now or ctx.config.protocol_branch) if back else target
        if branch is None:
            return Migration("main", ctx.branch, None, None, attempt)  # already on main
        if not back and now not in (None, target):
            raise BadInput(
                f"the protocol is on {now}, not main",
                hint=f"move it back first: git sessions migrate --protocol-branch {ctx.branch}",
            )
        main, other = _tips(ctx, branch)
        ref, main_ref = f"refs/heads/{branch}", f"refs/heads/{ctx.branch}"
        if back:
            updates = _back(ctx, who, objects, main, other, config, branch, now is None)
        else:
            updates = _away(ctx, who, objects, main, other, config, branch, now == target)
        if not updates:
            layout = "main" if back else "coordination"
            return Migration(layout, ctx.branch if back else branch, None, None, attempt)
        if hub.publish_refs(updates):
            new = {r: n for r, _o, n in updates}
            layout = "main" if back else "coordination"
            return Migration(
                layout, ctx.branch if back else branch, new.get(main_ref), new.get(ref), attempt
            )
        if timing.clock() - start > timing.deadline:
            raise Conflict(f"lost the race for the hub {attempt} times", hint="try again")
        timing.sleep(backoff(attempt - 1, timing))


def _away(
    ctx: Context,
    who: Identity,
    objects: Objects,
    main: str,
    other: str | None,
    config: str,
    branch: str,
    done: bool,
) -> list[tuple[str, str | None, str]]:
    if done:
        return []
    copy = coordination.protocol_part(objects, main, None)
    message = f"[{AGENTS}] chore: move the protocol here from {ctx.branch}\n"
    moved = objects.write(other, Change((), message, who, start_tree=copy))
    rest = objects.graft(main, AGENTS, None)
    edits = (Write(CONFIG_FILE, with_protocol_branch(config, branch).encode()),)
    message = f"[{AGENTS}] chore: move the protocol to branch {branch}\n"
    code = objects.write(main, Change(edits, message, who, start_tree=rest))
    return [(f"refs/heads/{branch}", other, moved), (f"refs/heads/{ctx.branch}", main, code)]


def _back(
    ctx: Context,
    who: Identity,
    objects: Objects,
    main: str,
    other: str | None,
    config: str,
    branch: str,
    main_done: bool,
) -> list[tuple[str, str | None, str]]:
    updates: list[tuple[str, str | None, str]] = []
    if not main_done:
        if other is None:
            raise BadInput(f"the hub has no branch {branch} to move the protocol back from")
        joined = coordination.joined(objects, main, other)
        edits = (Write(CONFIG_FILE, with_protocol_branch(config, None).encode()),)
        message = f"[{AGENTS}] chore: move the protocol back from branch {branch}\n"
        code = objects.write(main, Change(edits, message, who, start_tree=joined))
        updates.append((f"refs/heads/{ctx.branch}", main, code))
    if other is not None and objects.snapshot(other).is_dir(SESSIONS):
        note = f"# Moved\n\nThe git-sessions protocol lives on {ctx.branch} again.\n"
        empty = objects.graft(None, AGENTS, None)
        message = f"[{AGENTS}] chore: the protocol moved back to {ctx.branch}\n"
        change = Change((Write(MOVED, note.encode()),), message, who, start_tree=empty)
        updates.append((f"refs/heads/{branch}", other, objects.write(other, change)))
    return updates
