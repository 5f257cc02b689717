"""Typed fields read from settings text or a TOML table: conversion, limits, one problem per field.

Settings and the rules file declare their fields as annotated class attributes (``Annotated[int,
Limits(ge=1)]``); ``check`` converts a mapping of raw values to them and names every problem at once.
This replaces pydantic, which cost about 9 MiB of the idle bot's memory for these two uses (issue 13).
The messages keep pydantic's wording, which the README and existing configurations already show.

Two modes: *strict* for TOML, where a value already has a type (``"30"`` is not a number), and *lax*
for the environment, where every value is text (``"30"`` is 30, ``"yes"`` is True, ``"a, b"`` is a
list, a choice matches in any case, and an empty optional is unset).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
from collections.abc import Mapping
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, TypeVar, Union, get_args, get_origin, get_type_hints

TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE = frozenset({"0", "false", "f", "no", "n", "off"})
T = TypeVar("T")
_INT = re.compile(r"[+-]?\d{1,30}")  # longer is not a setting anyone means (and int() of it is slow)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds of a number or a string (``pattern`` is searched, so anchor it)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None


class Problem(NamedTuple):
    """One field's problem: where (``("keywords", 2)``), what kind (missing, extra, invalid), and why."""

    loc: tuple[str | int, ...]
    kind: Literal["missing", "extra", "invalid"]
    message: str


class Invalid(ValueError):
    """Values that do not fit their fields; ``problems`` has one entry per field."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{dotted(p.loc)}: {p.message}" for p in problems))


class _Bad(Exception):
    def __init__(self, message: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message, self.loc = message, loc


class Field(NamedTuple):
    kind: Any  # the annotation without Annotated
    limits: Limits | None
    default: Any  # REQUIRED when there is none


REQUIRED: Any = object()
BUILT: Any = object()  # a dataclass field with a default factory: left for the constructor to make


def dotted(loc: tuple[str | int, ...]) -> str:
    """``("keywords", 2, "x")`` as ``keywords[2].x``."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


_KNOWN: dict[type, dict[str, Field]] = {}


def fields_of(cls: type) -> dict[str, Field]:
    """The annotated public attributes of ``cls`` (and its bases), in declaration order."""
    if cls not in _KNOWN:
        _KNOWN[cls] = _fields(cls)
    return _KNOWN[cls]


def _fields(cls: type) -> dict[str, Field]:
    hints = get_type_hints(cls, include_extras=True)
    defaults = {
        f.name: BUILT if f.default_factory is not MISSING else REQUIRED if f.default is MISSING else f.default
        for f in (dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ())
    }
    found = {}
    for name, hint in hints.items():
        if name.startswith("_"):
            continue
        limits = None
        if get_origin(hint) is Annotated:
            hint, *extra = get_args(hint)
            limits = next((x for x in extra if isinstance(x, Limits)), None)
        found[name] = Field(hint, limits, defaults.get(name, getattr(cls, name, REQUIRED)))
    return found


def check(
    cls: type, raw: Mapping[str, object], *, lax: bool, forbid_extra: bool
) -> tuple[dict[str, object], list[Problem]]:
    """Every field of ``cls`` from ``raw`` (or its default): the values, and every problem found."""
    fields = fields_of(cls)
    values: dict[str, object] = {}
    problems: list[Problem] = []
    for name, field in fields.items():
        if name not in raw:
            if field.default is REQUIRED:
                problems.append(Problem((name,), "missing", "Field required"))
            elif field.default is not BUILT:
                values[name] = field.default
            continue
        try:
            values[name] = convert(field.kind, raw[name], lax=lax, limits=field.limits)
        except _Bad as bad:
            problems.append(Problem((name, *bad.loc), "invalid", bad.message))
    if forbid_extra:
        problems += [
            Problem((key,), "extra", "Extra inputs are not permitted") for key in raw if key not in fields
        ]
    return values, problems


def build(cls: type[T], raw: Mapping[str, object], *, lax: bool = False) -> T:
    """An instance of ``cls`` (a dataclass taking its fields as keywords); ``Invalid`` if it cannot be."""
    values, problems = check(cls, raw, lax=lax, forbid_extra=True)
    if problems:
        raise Invalid(problems)
    return cls(**values)


def convert(kind: Any, value: object, *, lax: bool, limits: Limits | None = None) -> object:
    """``value`` as ``kind``; ``_Bad`` with pydantic's wording when it is not one."""
    converted = _as(kind, value, lax)
    if limits is not None:
        _within(converted, limits)
    return converted


def _as(kind: Any, value: object, lax: bool) -> object:
    origin = get_origin(kind)
    if kind is Any:
        return value
    if origin in (Union, types.UnionType):
        return _union(get_args(kind), value, lax)
    if origin is Literal:
        return _choice(get_args(kind), value, lax)
    if origin in (list, tuple):
        return _items(origin, get_args(kind), value, lax)
    reader = _SCALARS.get(kind)
    if reader is None:
        raise TypeError(f"no reader for fields of type {kind!r}")
    return reader(value, lax)


def _union(options: tuple[Any, ...], value: object, lax: bool) -> object:
    if type(None) in options and (value is None or (lax and value == "")):
        return None
    rest = [o for o in options if o is not type(None)]
    if len(rest) != 1:
        raise TypeError(f"only X | None unions are read, not {options!r}")
    return _as(rest[0], value, lax)


def _choice(choices: tuple[Any, ...], value: object, lax: bool) -> object:
    if value in choices and type(value) in {type(c) for c in choices}:
        return value
    if lax and isinstance(value, str):
        folded = value.strip().casefold()
        found = next((c for c in choices if isinstance(c, str) and c.casefold() == folded), None)
        if found is not None:
            return found
    names = [repr(c) for c in choices]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    raise _Bad(f"Input should be {listed}")


def _items(origin: type, args: tuple[Any, ...], value: object, lax: bool) -> object:
    if lax and isinstance(value, str):  # a comma-separated list
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or (not lax and not isinstance(value, origin)):
        raise _Bad(f"Input should be a valid {origin.__name__}")
    item = args[0] if args else Any
    out = []
    for i, one in enumerate(value):
        try:
            out.append(_as(item, one, lax))
        except _Bad as bad:
            raise _Bad(bad.message, (i, *bad.loc)) from None
    return origin(out)


def _str(value: object, lax: bool) -> str:
    if isinstance(value, str):
        return value
    raise _Bad("Input should be a valid string")


def _bool(value: object, lax: bool) -> bool:
    if isinstance(value, bool):
        return value
    if lax and isinstance(value, str) and value.strip().casefold() in TRUE | FALSE:
        return value.strip().casefold() in TRUE
    if lax and isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _Bad("Input should be a valid boolean" + (", unable to interpret input" if lax else ""))


def _int(value: object, lax: bool) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if lax and isinstance(value, str) and _INT.fullmatch(value.strip()):
        return int(value.strip())
    if lax and isinstance(value, float) and value.is_integer():
        return int(value)
    parse = ", unable to parse string as an integer" if lax and isinstance(value, str) else ""
    raise _Bad("Input should be a valid integer" + parse)


def _float(value: object, lax: bool) -> float:
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif lax and isinstance(value, str) and len(value) <= 50:
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None:
        parse = ", unable to parse string as a number" if lax and isinstance(value, str) else ""
        raise _Bad("Input should be a valid number" + parse)
    if not math.isfinite(number):
        raise _Bad("Input should be a finite number")
    return number


def _path(value: object, lax: bool) -> Path:
    if isinstance(value, Path):
        return value
    if isinstance(value, str) and value and "\x00" not in value:
        return Path(value)
    raise _Bad("Input is not a valid path")


_SCALARS: dict[Any, Any] = {str: _str, bool: _bool, int: _int, float: _float, Path: _path}


def _within(value: object, limits: Limits) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if limits.ge is not None and not value >= limits.ge:
            raise _Bad(f"Input should be greater than or equal to {_number(limits.ge)}")
        if limits.gt is not None and not value > limits.gt:
            raise _Bad(f"Input should be greater than {_number(limits.gt)}")
        if limits.le is not None and not value <= limits.le:
            raise _Bad(f"Input should be less than or equal to {_number(limits.le)}")
    if isinstance(value, str):
        if limits.min_length is not None and len(value) < limits.min_length:
            plural = "" if limits.min_length == 1 else "s"
            raise _Bad(f"String should have at least {limits.min_length} character{plural}")
        if limits.max_length is not None and len(value) > limits.max_length:
            raise _Bad(f"String should have at most {limits.max_length} characters")
        if limits.pattern is not None and not re.search(limits.pattern, value):
            raise _Bad(f"String should match pattern '{limits.pattern}'")


def _number(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)
