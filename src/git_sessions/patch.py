"""A `git format-patch` style mbox, from commit metadata and diff text (pure)."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header

from git_sessions import __version__

# The fixed date git format-patch puts on every "From <sha>" separator line.
_MBOX_DATE = "Mon Sep 17 00:00:00 2001"


@dataclass(frozen=True)
class PatchCommit:
    id: str
    author_name: str
    author_email: str
    time: int
    offset: int  # minutes east of UTC
    message: str
    diff: str


def _header(text: str) -> str:
    """RFC 2047-encode a header value only when it is not plain ASCII."""
    return text if text.isascii() else Header(text, "utf-8").encode()


def _date(seconds: int, offset_minutes: int) -> str:
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    return email.utils.format_datetime(dt.datetime.fromtimestamp(seconds, zone))


def format_series(commits: Sequence[PatchCommit], *, keep_empty: bool = False) -> str:
    """The commits as one mbox that `git am` applies in order; empty diffs are left out,
    unless `keep_empty` (then it needs `git am --allow-empty`)."""
    series = [c for c in commits if keep_empty or c.diff.strip()]
    parts: list[str] = []
    for number, commit in enumerate(series, start=1):
        subject, _, body = commit.message.partition("\n")
        prefix = f"[PATCH {number}/{len(series)}]" if len(series) > 1 else "[PATCH]"
        body = body.strip("\n")
        diff = commit.diff if commit.diff.endswith("\n") else commit.diff + "\n"
        parts.append(
            f"From {commit.id} {_MBOX_DATE}\n"
            f"From: {_header(commit.author_name)} <{commit.author_email}>\n"
            f"Date: {_date(commit.time, commit.offset)}\n"
            f"Subject: {_header(f'{prefix} {subject.strip()}')}\n"
            "\n"
            + (f"{body}\n\n" if body else "")
            # no "---" without a diff: git am then sees a message lacking a patch, which
            # `git am --allow-empty` records as an empty commit
            + (f"---\n{diff}" if commit.diff.strip() else "")
            + "-- \n"
            f"git-sessions {__version__}\n\n"
        )
    return "".join(parts)


JOURNAL_PREFIXES = ("_AGENTS/sessions/", "_AGENTS/knowledge/sessions/")


def is_journal(path: str) -> bool:
    """A session's own bookkeeping (plan, worklog, events, learnings), not code it changed."""
    return path.startswith(JOURNAL_PREFIXES)


def is_code(path: str) -> bool:
    return not is_journal(path)


@dataclass(frozen=True)
class Squash:
    """What landed on main as one patch: the diff from `base` (the squash commit's parent)."""

    subject: str
    body: str
    author_name: str
    author_email: str
    time: int
    base: str
    diff: str

    @classmethod
    def of(cls, message: str, name: str, email: str, time: int, base: str, diff: str) -> Squash:
        """The squash of a commit `message` (subject, blank line, body) onto `base`."""
        subject, _, body = message.partition("\n\n")
        return cls(subject, body, name, email, time, base, diff)


def format_squash(squash: Squash) -> str:
    """One mbox message; `git am` of it on `base` gives the code of the squash commit.

    It names its base the way `git format-patch --base` does, so a reviewer knows where it
    applies; an empty diff still yields a message (so an --allow-empty landing is visible).
    """
    body = squash.body.strip("\n")
    diff = squash.diff if not squash.diff or squash.diff.endswith("\n") else squash.diff + "\n"
    return (
        f"From {squash.base} {_MBOX_DATE}\n"
        f"From: {_header(squash.author_name)} <{squash.author_email}>\n"
        f"Date: {_date(squash.time, 0)}\n"
        f"Subject: {_header(f'[PATCH] {squash.subject.strip()}')}\n"
        "\n" + (f"{body}\n\n" if body else "") + "---\n"
        f"{diff}"
        "\n"
        f"base-commit: {squash.base}\n"
        "-- \n"
        f"git-sessions {__version__}\n\n"
    )
