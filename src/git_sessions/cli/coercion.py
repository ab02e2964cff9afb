"""Value conversion for CLI parameters without pydantic.

typer 0.29 converts every parameter value (except a flag's bool) through a pydantic
`TypeAdapter` that it builds on first use in each process (`_TyperParameter.get_runtime_param`
-> `typer._coercion.build_runtime_param` -> `typer._adapters`): importing pydantic and building
the adapters costs 100-200 ms per command, more than the work of most commands. typer has no
setting to turn this off (a custom `parser=` is wrapped in a `TypeAdapter` too), so after the
click command is built we hand each parameter whose type we convert ourselves (str, int,
float, bool, Path, lists of those) a `RuntimeParam` of ours; anything else keeps typer's
pydantic path. This uses typer's private `_runtime_param` slot, which is why pyproject pins
typer below 0.30, and tests/test_startup.py fails if pydantic is imported by a command again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._click import Command, Context
from typer._click.exceptions import BadParameter
from typer._coercion import RuntimeParam
from typer._param_types import coerce_cli_path
from typer.core import TyperGroup, _TyperParameter

_NUMBER_NAMES = {int: "integer", float: "number"}
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}


def _convert(annotation: Any, value: Any, param: _TyperParameter, ctx: Context) -> Any:
    if annotation is bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise BadParameter(f"{value!r} is not a valid boolean", ctx=ctx, param=param)
    if annotation is str:
        return value.decode() if isinstance(value, bytes) else str(value)
    if annotation in _NUMBER_NAMES:
        try:
            number = annotation(value)
        except (TypeError, ValueError, OverflowError):
            raise BadParameter(
                f"{value!r} is not a valid {_NUMBER_NAMES[annotation]}", ctx=ctx, param=param
            ) from None
        info = param.type_descriptor.parameter_info
        low, high = info.min, info.max
        if (low is not None and number < low) or (high is not None and number > high):
            bounds = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
            raise BadParameter(f"{value!r} is not in the range {bounds}", ctx=ctx, param=param)
        return number
    if annotation is Path:
        path = value if isinstance(value, Path) else Path(value)
        return coerce_cli_path(
            path, param.type_descriptor.parameter_info, path_type=Path, param=param, ctx=ctx
        )
    raise AssertionError(f"unsupported annotation {annotation!r}")  # excluded by _supported


@dataclass(frozen=True)
class _Plain(RuntimeParam):
    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        annotation: Any = self.annotation
        if get_origin(annotation) is list:
            (item,) = get_args(annotation)
            items = value if isinstance(value, (list, tuple)) else [value]
            return [_convert(item, one, param, ctx) for one in items]
        return _convert(annotation, value, param, ctx)


def _supported(annotation: Any, param: _TyperParameter) -> bool:
    info = param.type_descriptor.parameter_info
    if info.parser is not None or getattr(info, "clamp", None):
        return False
    if get_origin(annotation) is list:
        args = get_args(annotation)
        return len(args) == 1 and _supported(args[0], param)
    if annotation is Path:
        return getattr(info, "path_type", None) is None
    return annotation in (str, int, float, bool)


def install(command: Command, parent: Context | None = None) -> None:
    """Give every parameter of `command` (and its subcommands) pydantic-free conversion."""
    # A context like the one click will make, so that get_params() also creates (and caches)
    # the --help option with the names the context settings give it.
    ctx = Context(command, parent=parent, info_name=command.name, **command.context_settings)
    for param in command.get_params(ctx):
        if isinstance(param, _TyperParameter) and param._runtime_param is None:
            annotation = param.type_descriptor.annotation
            if _supported(annotation, param):
                param._runtime_param = _Plain(
                    parameter_info=param.type_descriptor.parameter_info, annotation=annotation
                )
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            install(sub, ctx)
