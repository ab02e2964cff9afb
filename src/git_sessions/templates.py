"""Jinja2 templates: the package's own, overridden by the repository's `_templates/` on main."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from git_sessions.errors import BadInput

if TYPE_CHECKING:
    import jinja2
from git_sessions.protocol import TEMPLATES_DIR

NAMES = (
    "SESSION.md.j2",
    "kb-merge-SESSION.md.j2",
    "session-env.template.j2",
    "worklog.md.j2",
    "active-plan.md.j2",
    "subsessions.md.j2",
)


def package_dir() -> Path:
    """Where the shipped templates are: inside the wheel, or `templates/` of a source checkout."""
    shipped = Path(str(resources.files("git_sessions"))) / "templates"
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[2] / "templates"


def package_template(name: str) -> str:
    return (package_dir() / name).read_text()


def _yaml_scalar(value: Any) -> str:
    """Render a value as one line of YAML flow style (safe for any string)."""
    import yaml  # only when a template is rendered: journal commands import this module

    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    return text.removesuffix("\n...\n").strip()


def _environment(read_override: Callable[[str], str | None]) -> jinja2.Environment:
    import jinja2  # imported when a template is rendered, not by every command

    def load(name: str) -> str | None:
        override = read_override(f"{TEMPLATES_DIR}/{name}")
        if override is not None:
            return override
        path = package_dir() / name
        return path.read_text() if path.is_file() else None

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["yaml"] = _yaml_scalar
    env.filters["shquote"] = lambda v: shlex.quote(str(v))
    return env


def render(
    name: str, context: Mapping[str, Any], read_override: Callable[[str], str | None]
) -> str:
    """Render template `name`; a variable the template needs but `context` lacks is an error."""
    import jinja2

    env = _environment(read_override)
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateNotFound:
        raise BadInput(f"template {name} not found") from None
    except jinja2.UndefinedError as exc:
        raise BadInput(
            f"template {name}: {exc.message}",
            hint=f"check {TEMPLATES_DIR}/{name} for variables git-sessions does not provide",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise BadInput(f"template {name} line {exc.lineno}: {exc.message}") from None
