"""The sandbox every template runs in: Jinja's immutable sandbox plus a budget.

Jinja's sandbox stops templates from reaching Python internals (`cycler.__init__.__globals__`)
and from mutating what we pass in; it does not stop a template from spending the machine. So a
rendering also gets a wall-clock deadline (checked on every call, attribute, operator and output
chunk, and by SIGALRM for loops that do none of those), and every value it builds is sized
before or right after it is made: `*`, `~`, `join`, `replace` and filter arguments. Only a short
list of filters, str methods and the global `range` are available (docs/security.md).
"""

from __future__ import annotations

import shlex
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

MAX_OUTPUT = 1024 * 1024  # characters a rendering (and any value inside it) may reach
MAX_SECONDS = 2.0
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


def bounded(value: Any) -> Any:
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
        bounded(arg)


def guard(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose arguments and result are kept small (`center(10**9)`, a huge join)."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_args(args, kwargs)
        return bounded(function(*args, **kwargs))

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


def environment(
    loader: jinja2.BaseLoader, deadline: float, filters: Mapping[str, Callable[..., Any]]
) -> jinja2.Environment:
    """A sandboxed environment over `loader`, with the safe filters plus `filters`."""
    import jinja2
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator, Frame
    from jinja2.sandbox import ImmutableSandboxedEnvironment

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
            tick(deadline)
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
            return bounded(super().call_binop(context, operator, left, right))

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            tick(deadline)
            _check_args(args, kwargs)
            return bounded(super().call(__context, __obj, *args, **kwargs))

        def join(self, items: Any) -> str:
            """What `a ~ b` compiles to (see Generator): sized before it is built."""
            tick(deadline)
            texts = [str(bounded(item)) for item in items]
            return str(bounded("".join(texts)))

        def getattr(self, obj: Any, attribute: str) -> Any:
            tick(deadline)
            _str_method(obj, attribute)
            return super().getattr(obj, attribute)

        def getitem(self, obj: Any, argument: Any) -> Any:
            tick(deadline)
            _str_method(obj, argument)
            return super().getitem(obj, argument)

    env = Sandbox(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=bounded,
    )
    allowed = {name: guard(env.filters[name]) for name in SAFE_FILTERS}
    allowed["shquote"] = guard(lambda v: shlex.quote(str(v)))
    allowed["replace"] = guard(_replace)
    allowed.update({name: guard(f) for name, f in filters.items()})
    env.filters.clear()
    env.filters.update(allowed)
    env.tests = {k: v for k, v in env.tests.items() if k != "callable"}
    env.globals.clear()
    env.globals["range"] = guard(jinja2.sandbox.safe_range)
    return env


def _str_method(obj: Any, name: Any) -> None:
    is_method = isinstance(obj, str) and isinstance(name, str) and hasattr(str, name)
    if is_method and name not in SAFE_STR_METHODS:
        raise TemplateBudget(f"str.{name} is not available to templates")


def tick(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise TemplateBudget(f"rendering took longer than {MAX_SECONDS:.0f}s")


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
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
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
