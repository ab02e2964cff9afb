"""Drift: the frozen plan against what happened (pure over texts and file lists)."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import yaml

from git_sessions.catalog import split_front_matter

_CHECKBOX = re.compile(r"^\s*[-*]\s+\[([ xX])\]\s+(.+?)\s*$")
_PATHLIKE = re.compile(r"`((?:[\w.\-]+/)+[\w.\-]*|[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z0-9]{1,8})`")
# A checkbox whose whole text is in italics is a template's hint, not a criterion: plans drafted
# by older templates carry `- [ ] _Define what done means..._`, which nobody can ever tick.
_PLACEHOLDER = re.compile(r"_[^_].*_")
SCOPE_FILES = ("subsessions.md", "active-plan.md")


@dataclass(frozen=True)
class Criterion:
    text: str
    checked: bool


@dataclass(frozen=True)
class Drift:
    slug: str
    plan_changed: bool
    plan_diff: str
    criteria: tuple[Criterion, ...]
    planned_files: tuple[str, ...]
    touched_files: tuple[str, ...]
    unplanned_files: tuple[str, ...]
    untouched_planned_files: tuple[str, ...]
    scope_added: dict[str, list[str]]
    started: int
    ended: int
    duration_seconds: int
    commits: int
    overrides: tuple[str, ...] = ()  # reasons of audited plan changes (git sessions override)
    code_commits: int = 0
    allow_empty: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["criteria"] = [asdict(c) for c in self.criteria]
        for key in ("planned_files", "touched_files", "unplanned_files", "untouched_planned_files"):
            data[key] = list(data[key])
        data["criteria_met"] = sum(c.checked for c in self.criteria)
        data["overrides"] = list(self.overrides)
        return data


def criteria(plan: str) -> list[Criterion]:
    """The checkboxes of the plan's "Acceptance criteria" section (the whole plan if none)."""
    _, body = split_front_matter(plan) if plan.startswith("---\n") else ({}, plan)
    section = re.search(r"^#+\s*Acceptance criteria\s*$(.*?)(?=^#+\s|\Z)", body, re.M | re.S | re.I)
    text = section.group(1) if section else body
    found = []
    for line in text.splitlines():
        match = _CHECKBOX.match(line)
        if match and not _PLACEHOLDER.fullmatch(match.group(2)):
            found.append(Criterion(match.group(2), match.group(1) != " "))
    return found


def _checked_anywhere(texts: Sequence[str]) -> set[str]:
    done = set()
    for text in texts:
        for line in text.splitlines():
            match = _CHECKBOX.match(line)
            if match and match.group(1) != " ":
                done.add(match.group(2).strip().lower())
    return done


def planned_files(plan: str) -> list[str]:
    """Paths the plan names in backticks, such as `src/app.py` or `docs/`."""
    return sorted({m.rstrip("/") for m in _PATHLIKE.findall(plan)})


def added_lines(before: str, after: str) -> list[str]:
    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    return [line[2:] for line in diff if line.startswith("+ ") and line[2:].strip()]


def compute(
    slug: str,
    plan_then: str,
    plan_now: str,
    notes_then: Mapping[str, str],
    notes_now: Mapping[str, str],
    touched: Sequence[str],
    started: int,
    ended: int,
    commits: int,
    overrides: Sequence[str] = (),
    code_commits: int = 0,
    allow_empty: bool = False,
) -> Drift:
    """Compare the plan frozen at the claim with the session's state now."""
    done = _checked_anywhere([plan_now, *notes_now.values()])
    crits = tuple(
        Criterion(c.text, c.checked or c.text.strip().lower() in done) for c in criteria(plan_then)
    )
    planned = planned_files(plan_then)
    touched_code = sorted(p for p in touched if not p.startswith("_AGENTS/"))

    def named(path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in planned)

    plan_diff = "".join(
        difflib.unified_diff(
            plan_then.splitlines(keepends=True),
            plan_now.splitlines(keepends=True),
            "SESSION.md (at claim)",
            "SESSION.md (now)",
        )
    )
    return Drift(
        slug=slug,
        plan_changed=plan_then != plan_now,
        plan_diff=plan_diff,
        criteria=crits,
        planned_files=tuple(planned),
        touched_files=tuple(touched_code),
        unplanned_files=tuple(p for p in touched_code if not named(p)),
        untouched_planned_files=tuple(
            p for p in planned if not any(t == p or t.startswith(p + "/") for t in touched_code)
        ),
        scope_added={
            name: added_lines(notes_then.get(name, ""), notes_now.get(name, ""))
            for name in SCOPE_FILES
            if added_lines(notes_then.get(name, ""), notes_now.get(name, ""))
        },
        started=started,
        ended=ended,
        duration_seconds=max(0, ended - started),
        commits=commits,
        overrides=tuple(overrides),
        code_commits=code_commits,
        allow_empty=allow_empty,
    )


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"


def render(drift: Drift) -> str:
    """drift.md: the numbers as YAML front matter (for --json), then a report for reviewers."""
    # libyaml's emitter when present: the same YAML, several times faster than the pure-Python
    # one on the thousands of path scalars a big session lists.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    meta = yaml.dump(drift.to_json(), Dumper=dumper, sort_keys=True, allow_unicode=True)
    met = sum(c.checked for c in drift.criteria)
    lines = [
        f"---\n{meta}---",
        f"# Drift: {drift.slug}",
        "",
        f"- Duration: {_duration(drift.duration_seconds)}, {drift.commits} commit(s),"
        f" {drift.code_commits} with code",
        *(["- Landed with --allow-empty: no code commits"] if drift.allow_empty else []),
        f"- Acceptance criteria met: {met} of {len(drift.criteria)}",
        f"- Plan changed after the claim: {'yes' if drift.plan_changed else 'no'}"
        + (f", by {len(drift.overrides)} OVERRIDE(s)" if drift.overrides else ""),
        *[f"  - OVERRIDE: {reason}" for reason in drift.overrides],
        "",
        "## Acceptance criteria",
        *[f"- [{'x' if c.checked else ' '}] {c.text}" for c in drift.criteria],
        *([] if drift.criteria else ["_The plan lists no checkable criteria._"]),
        "",
        "## Files",
        f"- Named in the plan: {', '.join(drift.planned_files) or 'none'}",
        f"- Touched: {', '.join(drift.touched_files) or 'none'}",
        f"- Touched but not in the plan: {', '.join(drift.unplanned_files) or 'none'}",
        f"- In the plan but untouched: {', '.join(drift.untouched_planned_files) or 'none'}",
        "",
        "## Scope added",
    ]
    for name, added in drift.scope_added.items():
        lines += [f"### {name}", *[f"    {line}" for line in added]]
    if not drift.scope_added:
        lines.append("_None._")
    lines += ["", "## SESSION.md since the claim"]
    lines += (
        ["```diff", drift.plan_diff.rstrip("\n"), "```"] if drift.plan_diff else ["_Unchanged._"]
    )
    return "\n".join(lines) + "\n"


_STORED: dict[str, type | tuple[type, ...]] = {
    "slug": str,
    "plan_changed": bool,
    "plan_diff": str,
    "criteria": list,
    "criteria_met": int,
    "planned_files": list,
    "touched_files": list,
    "unplanned_files": list,
    "untouched_planned_files": list,
    "scope_added": dict,
    "started": int,
    "ended": int,
    "duration_seconds": int,
    "commits": int,
}


_OPTIONAL: dict[str, type] = {"code_commits": int, "allow_empty": bool, "overrides": list}


def parse(text: str) -> dict[str, Any]:
    """The numbers stored in a drift.md's front matter; ValueError if they are not what
    `render` writes (a drift.md on main may have been edited by anyone)."""
    meta, _ = split_front_matter(text)
    for key, kind in _STORED.items():
        value = meta.get(key)
        if value is None or not isinstance(value, kind):
            raise ValueError(f"{key} is missing or not a {getattr(kind, '__name__', kind)}")
    try:
        json.dumps(meta)
    except (TypeError, ValueError):
        raise ValueError("it holds values that are not plain data (dates, tags)") from None
    found = {k: meta[k] for k in _STORED}
    for key, kind in _OPTIONAL.items():  # written since verified landing; older reports lack them
        if isinstance(meta.get(key), kind):
            found[key] = meta[key]
    if not all(isinstance(r, str) for r in found.get("overrides", [])):
        del found["overrides"]  # reasons are text: anything else is not what `render` writes
    return found


@dataclass(frozen=True)
class Stored:
    """A drift.md written when a session ended: its numbers and its report for humans."""

    numbers: dict[str, Any]
    text: str


def stored(text: str) -> Stored:
    """A drift.md from the hub: ValueError if it is not what `render` writes."""
    numbers = parse(text)
    _, body = split_front_matter(text)
    return Stored(numbers, body.lstrip("\n"))
