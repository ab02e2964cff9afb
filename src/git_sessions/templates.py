"""Jinja2 templates: the package's own, overridden by the repository's `_templates/` on main.

A template on main is code written by whoever pushed it, run by every agent that drafts or
completes a session. So it runs in Jinja's immutable sandbox (no Python internals, no mutation
of what we pass in), sees only the documented variables and a short list of filters, can name
only other templates in the two template folders, and has a budget: output size, the size of
any one value it builds, and wall time. Any failure is a BadInput naming the template.
"""

from __future__ import annotations

import re
import shlex
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from git_sessions.errors import BadInput
from git_sessions.protocol import TEMPLATES_DIR

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
MAX_OUTPUT = 1024 * 1024  # characters a rendering (and any value inside it) may reach
MAX_SECONDS = 2.0
MAX_TEMPLATE = 256 * 1024  # bytes of template source
# Filters a template may use; everything else (and every global but range) is gone.
SAFE_FILTERS = (
    "capitalize",
    "default",
    "d",
    "escape",
    "e",
    "first",
    "join",
    "last",
    "length",
    "count",
    "list",
    "lower",
    "sort",
    "string",
    "title",
    "trim",
    "truncate",
    "upper",
    "int",
    "float",
    "abs",
    "round",
    "unique",
    "reverse",
)


class TemplateBudget(Exception):
    """A template used more time or memory than a template may."""


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
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    return text.removesuffix("\n...\n").strip()


def _size(value: Any, budget: int = MAX_OUTPUT) -> int:
    """About how many characters `value` turns into as text (stops counting past `budget`)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple | dict):
        total = len(value)
        for item in value.values() if isinstance(value, dict) else value:
            total += _size(item, budget - total)
            if total > budget:
                break
        return total
    return 32


def _bounded(value: Any) -> Any:
    if _size(value) > MAX_OUTPUT:
        raise TemplateBudget(f"a value grew beyond {MAX_OUTPUT} characters")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        raise TemplateBudget("a number grew beyond 64 bits")
    return value


def _check_args(args: Any, kwargs: Mapping[str, Any]) -> None:
    """Arguments that could make a filter or method allocate too much before we see it."""
    for arg in [*args, *kwargs.values()]:
        if isinstance(arg, int) and abs(arg) > MAX_OUTPUT:
            raise TemplateBudget(f"argument {arg} is too large")
        _bounded(arg)


def _guard(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose arguments and result are kept small (`center(10**9)`, a huge join)."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_args(args, kwargs)
        return _bounded(function(*args, **kwargs))

    mark = getattr(function, "jinja_pass_arg", None)  # keep jinja's pass_context marks
    if mark is not None:
        guarded.jinja_pass_arg = mark  # type: ignore[attr-defined]
    return guarded


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old, new = str(value), str(old), str(new)
    hits = text.count(old) if old else len(text) + 1
    if len(text) + hits * len(new) > MAX_OUTPUT:
        raise TemplateBudget("a replace would grow beyond the output budget")
    return text.replace(old, new) if count is None else text.replace(old, new, count)


# str methods a template may call; others (format, expandtabs, ...) can allocate unboundedly
SAFE_STR_METHODS = frozenset(
    (
        *("lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "split"),
        *("title", "capitalize", "isdigit", "isalpha", "count", "find"),
    )
)


def _environment(read_override: Callable[[str], str | None], deadline: float) -> jinja2.Environment:
    import jinja2
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator, Frame
    from jinja2.sandbox import ImmutableSandboxedEnvironment

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

    class Generator(CodeGenerator):
        def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
            self.write("environment.join((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write("))")

    class Sandbox(ImmutableSandboxedEnvironment):
        code_generator_class = Generator
        intercepted_binops = frozenset(["*", "**", "+", "//", "%"])

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            _tick(deadline)
            if operator == "*" and isinstance(left, int | str | list | tuple):
                size = len(left) if not isinstance(left, int) else 1
                other = len(right) if isinstance(right, str | list | tuple) else 1
                count = right if isinstance(right, int) else left if isinstance(left, int) else 1
                if isinstance(count, int) and abs(count) * max(size, other) > MAX_OUTPUT:
                    raise TemplateBudget("a repetition is too large")
            if operator == "**" and isinstance(right, int) and abs(right) > 64:
                raise TemplateBudget("an exponent is too large")
            if operator == "%" and isinstance(left, str):
                raise TemplateBudget("%-formatting is not available to templates")
            return _bounded(super().call_binop(context, operator, left, right))

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            _tick(deadline)
            _check_args(args, kwargs)
            return _bounded(super().call(__context, __obj, *args, **kwargs))

        def join(self, items: Any) -> str:
            """What `a ~ b` compiles to (see Generator): sized before it is built."""
            _tick(deadline)
            texts = [str(_bounded(item)) for item in items]
            return str(_bounded("".join(texts)))

        def getattr(self, obj: Any, attribute: str) -> Any:
            _tick(deadline)
            _str_method(obj, attribute)
            return super().getattr(obj, attribute)

        def getitem(self, obj: Any, argument: Any) -> Any:
            _tick(deadline)
            _str_method(obj, argument)
            return super().getitem(obj, argument)

    env = Sandbox(
        loader=Loader(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_bounded,
    )
    filters = {name: _guard(env.filters[name]) for name in SAFE_FILTERS}
    filters["yaml"] = _guard(_yaml_scalar)
    filters["shquote"] = _guard(lambda v: shlex.quote(str(v)))
    filters["replace"] = _guard(_replace)
    env.filters.clear()
    env.filters.update(filters)
    env.tests = {k: v for k, v in env.tests.items() if k != "callable"}
    env.globals.clear()
    env.globals["range"] = _guard(jinja2.sandbox.safe_range)
    return env


def _str_method(obj: Any, name: Any) -> None:
    is_method = isinstance(obj, str) and isinstance(name, str) and hasattr(str, name)
    if is_method and name not in SAFE_STR_METHODS:
        raise TemplateBudget(f"str.{name} is not available to templates")


def _tick(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise TemplateBudget(f"rendering took longer than {MAX_SECONDS:.0f}s")


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt a loop that calls nothing (`{% for %}` over a list): the hooks above never
    see it. Signals only reach the main thread; elsewhere the hooks must do."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TemplateBudget(f"rendering took longer than {seconds:.0f}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def render(
    name: str, context: Mapping[str, Any], read_override: Callable[[str], str | None]
) -> str:
    """Render template `name`; a variable the template needs but `context` lacks is an error."""
    import jinja2

    where = f"{TEMPLATES_DIR}/{name}"
    deadline = time.monotonic() + MAX_SECONDS
    try:
        with _alarm(MAX_SECONDS):
            env = _environment(read_override, deadline)
            parts: list[str] = []
            size = 0
            for chunk in env.get_template(name).generate(**context):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise TemplateBudget(f"output grew beyond {MAX_OUTPUT} characters")
                parts.append(chunk)
                _tick(deadline)
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
