"""How a settings field is declared and checked: the building block of the one config schema.

Every component defines its settings once, beside its code, as a frozen dataclass deriving from
`Settings`, each field declared with `setting` (default, one-line doc with the unit, allowed
range)::

    @dataclass(frozen=True)
    class LooccSettings(Settings):
        weight: float = setting(0.01, "weight of the NT-Xent term", lo=0.0)

`Settings.__post_init__` checks every field (type, choices of a ``Literal``, range) and then the
class's own cross-field `Settings.validate`, whether the object comes from a YAML file or from
code. A bad value raises `SettingError` naming the field; `unsup3d.config` turns that into one
line naming the file and the dotted key. Types: bool, int, float (an int is accepted), str,
``Literal[...]``, ``list[T]`` and ``T | None``.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal

__all__ = [
    "SettingError",
    "Settings",
    "as_dict",
    "as_yaml",
    "field_doc",
    "field_range",
    "setting",
    "type_name",
]


class SettingError(ValueError):
    """A settings value is invalid.

    Attributes:
        key: the field's name (dotted below a section, e.g. ``weight``).
        problem: what is wrong and the fix, without the key.
        related: other fields of the same settings the problem names in quotes (``'max_depth'``),
            so a config error can print them as dotted keys too.
    """

    def __init__(self, key: str, problem: str, related: tuple[str, ...] = ()) -> None:
        super().__init__(f"'{key}': {problem}")
        self.key = key
        self.problem = problem
        self.related = related


def setting(
    default: Any,
    doc: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> Any:
    """Declare a settings field.

    Args:
        default: the default value (a list default is copied per instance).
        doc: one line: what it is, its unit, a good value.
        lo, hi: allowed range (inclusive; ``lo_open`` / ``hi_open`` make a bound exclusive).

    Returns:
        A `dataclasses.field`.
    """
    metadata = {"doc": doc, "range": (lo, hi, lo_open, hi_open)}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def field_doc(f: dataclasses.Field) -> str:
    """The one-line doc of a field declared with `setting`."""
    return f.metadata.get("doc", "")


def field_range(f: dataclasses.Field) -> tuple[float | None, float | None, bool, bool]:
    """(lo, hi, lo_open, hi_open) of a field declared with `setting`."""
    return f.metadata.get("range", (None, None, False, False))


def type_name(tp: Any) -> str:
    """A readable name of a field type (``'none' | 'L' | 'LV'``, ``list of int``, ...)."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        return f"list of {type_name(typing.get_args(tp)[0])}"
    return getattr(tp, "__name__", str(tp))


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the field type ``tp`` and return it (ints become floats).

    Raises:
        SettingError: wrong type, or a value outside a ``Literal``'s choices.
    """
    origin = typing.get_origin(tp)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            hint = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise SettingError(
                key, f"{value!r} is not one of {', '.join(map(repr, choices))}{extra}"
            )
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise SettingError(key, f"expected a list, got {type(value).__name__} {value!r}")
        (item,) = typing.get_args(tp)
        return [coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else coerce(value, args[0], key)
    if tp is bool:
        if not isinstance(value, bool):
            raise SettingError(key, f"expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingError(key, f"expected an integer, got {type(value).__name__} {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingError(key, f"expected a number, got {type(value).__name__} {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise SettingError(key, f"expected a string, got {type(value).__name__} {value!r}")
        return value
    raise TypeError(f"unsupported settings field type {tp!r}")  # a schema bug, not user input


def check_range(value: Any, f: dataclasses.Field, key: str) -> None:
    """Raise `SettingError` if ``value`` lies outside the field's declared range."""
    lo, hi, lo_open, hi_open = field_range(f)
    if value is None or isinstance(value, (list, str, bool)):
        return
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise SettingError(
            key, f"{value!r} is out of range; must be {'>' if lo_open else '>='} {lo}"
        )
    if hi is not None and (value >= hi if hi_open else value > hi):
        raise SettingError(
            key, f"{value!r} is out of range; must be {'<' if hi_open else '<='} {hi}"
        )


class Settings:
    """Base of every settings dataclass: checks each field on construction, then `validate`.

    Subclasses are ``@dataclass(frozen=True)`` with fields declared by `setting`.
    """

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = coerce(getattr(self, f.name), hints[f.name], f.name)
            check_range(value, f, f.name)
            object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; raise `SettingError` naming the field. None by default."""


def as_dict(settings: Any) -> dict:
    """Settings (or a composition of them, like `unsup3d.config.Config`) as a plain dict."""
    return dataclasses.asdict(settings)


def as_yaml(settings: Any) -> str:
    """Settings as YAML text, fields in declaration order."""
    import yaml

    return yaml.safe_dump(as_dict(settings), sort_keys=False)
