"""A `git format-patch` style mbox: written from commit metadata and diff text, and parsed back
(pure)."""

from __future__ import annotations

import datetime as dt
import email
import email.errors
import email.header
import email.utils
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header

from git_sessions import __version__
from git_sessions.edits import Identity

# The fixed date git format-patch puts on every "From <sha>" separator line.
_MBOX_DATE = "Mon Sep 17 00:00:00 2001"
_PATCH_START = re.compile(r"^From ([0-9a-f]{40}) Mon Sep 17 00:00:00 2001$", re.M)


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


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class PatchEntry:
    id: str
    author: Identity
    time: int
    message: str
    diff: str


def _decoded_header(value: str | None) -> str:
    return str(email.header.make_header(email.header.decode_header(value or "")))


def parse_patch(text: str) -> list[PatchEntry]:
    """The commits of a `git format-patch` style series, as `complete` stores it; an entry
    that does not parse (a hand-edited or hostile patch on main) is left out."""
    starts = list(_PATCH_START.finditer(text))
    found = []
    for n, match in enumerate(starts):
        end = starts[n + 1].start() if n + 1 < len(starts) else len(text)
        try:
            found.append(_patch_entry(match.group(1), text[match.end() + 1 : end]))
        except (ValueError, TypeError, LookupError, OverflowError, email.errors.MessageError):
            continue
    return found


def patch_problems(text: str) -> str | None:
    """Why a stored patch series does not parse as `complete` writes it, or None."""
    total = len(_PATCH_START.findall(text))
    if text.strip() and total == 0:
        return "no `From <sha>` entries"
    broken = total - len(parse_patch(text))
    return f"{broken} of {total} entries do not parse" if broken else None


def _patch_entry(commit: str, chunk: str) -> PatchEntry:
    msg = email.message_from_string(chunk)
    payload = msg.get_payload()
    payload = payload if isinstance(payload, str) else ""
    if payload.startswith("---\n"):  # no body: the separator comes first
        body, diff = "", payload[4:]
    elif "\n---\n" in payload:
        body, _, diff = payload.partition("\n---\n")
    else:  # a commit with no diff (in a journal series): the signature ends the body
        body, diff = ("\n" + payload).partition("\n-- \n")[0], ""
    subject = re.sub(r"^\[PATCH[^\]]*\]\s*", "", _decoded_header(msg["Subject"]))
    name, mail = email.utils.parseaddr(_decoded_header(msg["From"]))
    when = int(email.utils.parsedate_to_datetime(msg["Date"]).timestamp())
    message = subject + ("\n\n" + body.strip("\n") if body.strip() else "") + "\n"
    if not 0 <= when < 2**33:
        raise ValueError("date out of range")
    return PatchEntry(commit, Identity(name, mail), when, message, diff)


def added_lines(diff: str, path: str) -> int:
    """Lines a diff adds to `path`."""
    count, inside = 0, False
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            inside = line.endswith(f" b/{path}")
        elif inside and line.startswith("+") and not line.startswith("+++ "):
            count += 1
    return count
