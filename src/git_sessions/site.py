"""The review site: static HTML rendered by a sandboxed, autoescaping Jinja environment.

Only the package's own templates are used (never `_templates/` from the hub: these pages
display hub content, they must not be shaped by it). Every value is escaped on output, and a
Content-Security-Policy forbids scripts outright, so even a missed escape could not run one.
Output is a pure function of the pages: no clock, no random ids, sorted everything.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from git_sessions.protocol import STATES, is_slug
from git_sessions.templates import package_dir

if TYPE_CHECKING:
    import jinja2

    from git_sessions.review import Page

_NAME = re.compile(r"[a-z][a-z0-9.\-]*\.(?:html\.j2|css)")


def age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
        if len(parts) == 2:
            break
    return " ".join(parts) if parts else f"{seconds}s"


def iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def environment() -> jinja2.Environment:
    from jinja2 import FunctionLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    folder = package_dir() / "review"

    def load(name: str) -> str | None:
        if not _NAME.fullmatch(name):  # no paths: only our own files in our own folder
            return None
        path = folder / name
        return path.read_text(encoding="utf-8") if path.is_file() else None

    env = ImmutableSandboxedEnvironment(
        loader=FunctionLoader(load),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["age"] = age
    env.filters["iso"] = iso
    return env


def render_index(env: jinja2.Environment, pages: Sequence[Page], hub: dict[str, Any]) -> str:
    counts = [(s, sum(p.row.state == s for p in pages)) for s in STATES]
    return env.get_template("index.html.j2").render(
        pages=pages, hub=hub, counts=[c for c in counts if c[1]]
    )


def render_page(env: jinja2.Environment, page: Page, hub: dict[str, Any]) -> str:
    return env.get_template("session.html.j2").render(page=page, hub=hub)


def write_site(out: Path, pages: Sequence[Page], commit: str, time: int) -> list[Path]:
    """Write index.html and one <slug>.html per page into `out`; the files written."""
    env = environment()
    hub = {"commit": commit, "time": time}
    out.mkdir(parents=True, exist_ok=True)
    files = {"index.html": render_index(env, pages, hub)}
    for page in pages:
        if is_slug(page.slug):  # slugs are checked names: safe as file names
            files[f"{page.slug}.html"] = render_page(env, page, hub)
    written = []
    for name, text in sorted(files.items()):
        target = out / name
        temp = out / f".{name}.tmp-{os.getpid()}"
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, target)  # replaces a symlink itself, never writes through it
        written.append(target)
    return written
