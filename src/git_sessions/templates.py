"""Jinja2 templates: the package's own, overridden by the repository's `_templates/` on main.

A template on main is code written by whoever pushed it, run by every agent that drafts or
completes a session. So it runs in the sandbox (see sandbox.py), sees only the documented
variables, and can name only other templates, by plain name, from the two template folders.
Any failure is a BadInput naming the template, never a traceback.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from git_sessions import sandbox
from git_sessions.errors import BadInput
from git_sessions.protocol import TEMPLATES_DIR
from git_sessions.sandbox import TemplateBudget

if TYPE_CHECKING:
    import jinja2

NAMES = (
    "SESSION.md.j2",
    "kb-merge-SESSION.md.j2",
    "worklog.md.j2",
    "active-plan.md.j2",
    "subsessions.md.j2",
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
MAX_TEMPLATE = 256 * 1024  # bytes of template source
MAX_OUTPUT = sandbox.MAX_OUTPUT


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


def _loader(read_override: Callable[[str], str | None]) -> jinja2.BaseLoader:
    """Serves plain template names only: the override on main, else the shipped copy."""
    import jinja2

    def source(name: str) -> str | None:
        if not _NAME.fullmatch(name) or ".." in name:
            return None  # never a path: no /, no .., no absolute names
        text = read_override(f"{TEMPLATES_DIR}/{name}")
        if text is None:
            path = package_dir() / name
            text = path.read_text() if path.is_file() else None
        if text is not None and len(text) > MAX_TEMPLATE:
            raise TemplateBudget(f"template {name} is larger than {MAX_TEMPLATE} bytes")
        return text

    class Loader(jinja2.BaseLoader):
        def get_source(
            self, environment: jinja2.Environment, template: str
        ) -> tuple[str, str | None, Callable[[], bool] | None]:
            text = source(template)
            if text is None:
                raise jinja2.TemplateNotFound(template)
            return text, None, lambda: True

    return Loader()


def render(
    name: str, context: Mapping[str, Any], read_override: Callable[[str], str | None]
) -> str:
    """Render template `name`; a variable the template needs but `context` lacks is an error."""
    import jinja2

    where = f"{TEMPLATES_DIR}/{name}"
    deadline = time.monotonic() + sandbox.MAX_SECONDS
    try:
        with sandbox.alarm(sandbox.MAX_SECONDS):
            env = sandbox.environment(_loader(read_override), deadline, {"yaml": _yaml_scalar})
            parts: list[str] = []
            size = 0
            for chunk in env.get_template(name).generate(**context):
                size += len(chunk)
                if size > sandbox.MAX_OUTPUT:
                    raise TemplateBudget(f"output grew beyond {sandbox.MAX_OUTPUT} characters")
                parts.append(chunk)
                sandbox.tick(deadline)
            return "".join(parts)
    except jinja2.TemplateNotFound as exc:
        raise BadInput(
            f"template {name}: template {exc.name} not found",
            hint=f"templates may include only other templates in {TEMPLATES_DIR}/",
        ) from None
    except jinja2.UndefinedError as exc:
        raise BadInput(
            f"template {name}: {exc.message}",
            hint=f"check {where} for variables git-sessions does not provide",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise BadInput(f"template {name} line {exc.lineno}: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise BadInput(f"template {name}: refused by the sandbox: {exc}", hint=_HINT) from None
    except TemplateBudget as exc:
        raise BadInput(f"template {name}: {exc}", hint=_HINT) from None
    except BadInput:
        raise
    except Exception as exc:  # the template is foreign code: whatever it raises is its error
        raise BadInput(
            f"template {name} failed: {type(exc).__name__}: {exc}"[:300], hint=_HINT
        ) from None


_HINT = (
    f"fix or remove the override in {TEMPLATES_DIR}/"
    " (docs/security.md lists what a template may use)"
)
