"""The server's verdict on a push: `git push --porcelain` reports one line per ref.

Only a lost compare-and-swap means someone else won and a retry on the fresh tip can succeed:
the ref moved since we read it ("stale info", "non-fast-forward", "fetch first" on our side;
"cannot lock ref ... but expected", or its lock held this instant, on the server's). Anything
else the server refuses (a hook, a protected branch, permissions, quota) will refuse the retry
too: it stops at once with the server's own words (the `remote:` lines) and a hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from git_sessions.errors import GitFailure
from git_sessions.gitrepo.network import clean

# "[rejected] (stale info)" and friends: our lease or the fast-forward check saw a moved ref
_LOST_HERE = re.compile(r"stale info|non-fast-forward|fetch first", re.IGNORECASE)
# receive-pack's own compare-and-swap under the ref's lock (its message is on a remote: line)
_LOST_THERE = re.compile(
    r"cannot lock ref .*(but expected|reference already exists|\.lock'?: file exists)"
    r"|incorrect old value",
    re.IGNORECASE,
)
# the server's umbrella reasons: the remote: lines say what really happened
_UMBRELLA = re.compile(r"failed to update ref|failed to lock|atomic transaction failed", re.I)
# a ref refused only because another ref of the same atomic push was
_COLLATERAL = re.compile(r"atomic push failed", re.IGNORECASE)
_OK_FLAGS = " +-*="

_HINTS = [
    (
        re.compile(r"gh006|gh013|protected|hook declined|declined", re.IGNORECASE),
        "the hub's own rules (a hook, a protected branch) refused it: see the hub's message;"
        " for a protected main: git sessions migrate --protocol-branch sessions",
    ),
    (
        re.compile(r"permission|denied|forbidden|not allowed|403", re.IGNORECASE),
        "your account may not push there: ask the hub's owner for access",
    ),
    (
        re.compile(r"quota|disk full|no space|too large|exceeds", re.IGNORECASE),
        "the hub is out of space or over a size limit: ask its owner",
    ),
]


class NoVerdict(GitFailure):
    """The push failed without a verdict for our refs (connection cut, reply lost, timeout):
    the hub may or may not have applied it. Look at the hub before believing either."""


@dataclass(frozen=True)
class RefVerdict:
    flag: str  # git's: ' ' fast-forward, '+' forced, '-' deleted, '*' new, '=' same, '!' refused
    ref: str
    summary: str  # "[rejected] (stale info)", "[remote rejected] (pre-receive hook declined)"

    @property
    def ok(self) -> bool:
        return self.flag in _OK_FLAGS


def parse(out: str) -> dict[str, RefVerdict]:
    """The per-ref lines of `git push --porcelain` (`flag TAB from:to TAB summary`)."""
    verdicts = {}
    for line in out.split("\n"):
        parts = line.split("\t")
        if len(parts) != 3 or len(parts[0]) != 1 or ":" not in parts[1]:
            continue
        ref = parts[1].rsplit(":", 1)[1]
        verdicts[ref] = RefVerdict(parts[0], ref, parts[2].strip())
    return verdicts


def remote_lines(err: str) -> list[str]:
    """What the server said (its `remote:` lines), safe to print."""
    lines = (clean(line[7:]) for line in err.splitlines() if line.startswith("remote:"))
    return [line for line in lines if line][:20]


def judge(verdicts: dict[str, RefVerdict], refs: list[str], err: str, action: str) -> bool:
    """True if every ref in `refs` was updated, False on a lost compare-and-swap; GitFailure
    for any other refusal; NoVerdict when a ref has no verdict at all."""
    server = remote_lines(err)
    missing = [ref for ref in refs if ref not in verdicts]
    if missing:
        raise NoVerdict(f"{action}: no answer from the hub for {', '.join(missing)}")
    refused = [verdicts[ref] for ref in refs if not verdicts[ref].ok]
    if not refused:
        return True
    lost = False
    for verdict in refused:
        if _LOST_HERE.search(verdict.summary) or _COLLATERAL.search(verdict.summary):
            lost = lost or not _COLLATERAL.search(verdict.summary)
            continue
        if _UMBRELLA.search(verdict.summary) and any(_LOST_THERE.search(s) for s in server):
            lost = True
            continue
        raise refusal(verdict, server, action)
    if lost:
        return False
    raise refusal(refused[0], server, action)


def refusal(verdict: RefVerdict, server: list[str], action: str) -> GitFailure:
    """The one-line error for a push the server refused: its reason and its own words."""
    summary = clean(verdict.summary).removeprefix("[remote rejected] ").removeprefix("[rejected] ")
    words = " / ".join(line.removeprefix("error: ") for line in server)
    message = f"{action}: the hub refused {verdict.ref} {summary}"
    if words:
        message += f": {words}"
    said = f"{summary} {words}"
    hint = next((h for pattern, h in _HINTS if pattern.search(said)), None)
    return GitFailure(message[:600], hint=hint)
