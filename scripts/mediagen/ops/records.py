"""Versioned JSON records: dataclasses that name their schema on disk and keep what they do not know.

Job records and sidecars are written with ``"schema": 1``; files written before
the field existed read as schema 1. Fields a record class does not know (a
newer version wrote them) are kept in ``extra`` and written back unchanged. A
field is written as ``null`` only when it was given as null, never merely
because it was not set yet, and fields keep the order they were given (or read)
in, so rewriting a file changes only what was updated.
"""
from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, TypeVar

SCHEMA_FIELD = "schema"
SCHEMA_VERSION = 1
_OWN = frozenset({SCHEMA_FIELD, "extra", "written"})

R = TypeVar("R", bound="Record")


@dataclass(kw_only=True)
class Record:
    """A JSON object on disk with a schema version, unknown fields kept, and explicit nulls remembered."""

    schema: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    # The fields given (or read), in order; these are written even when null.
    written: dict[str, None] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The record's own fields, in the order they are written."""
        return tuple(f.name for f in fields(cls) if f.name not in _OWN)

    @classmethod
    def of(cls: type[R], **values: Any) -> R:
        """A new record from ``values``, written in that order; the ones given as None are written as null."""
        record = cls(**values)
        record.written = dict.fromkeys(values)
        return record

    @classmethod
    def from_json(cls: type[R], doc: Mapping[str, Any]) -> R:
        """Read a record (any schema version); unknown fields go to ``extra``."""
        names = set(cls.field_names())
        known = {k: v for k, v in doc.items() if k in names}
        record = cls(**known, schema=_version(doc.get(SCHEMA_FIELD)))
        record.extra = {k: v for k, v in doc.items() if k not in names and k != SCHEMA_FIELD}
        record.written = dict.fromkeys(known)
        return record

    def to_json(self) -> dict[str, Any]:
        """The JSON object: the schema version, the fields given (or read), other fields set, then ``extra``."""
        doc: dict[str, Any] = {SCHEMA_FIELD: self.schema}
        for name in self.written:
            doc[name] = getattr(self, name)
        for name in self.field_names():
            value = getattr(self, name)
            if value is not None:
                doc.setdefault(name, value)
        for key, value in self.extra.items():
            doc.setdefault(key, value)
        return doc

    def problems(self) -> list[str]:
        """Fields whose values do not have their declared types (a damaged or hand-edited file)."""
        hints = typing.get_type_hints(type(self))
        found = []
        for name in self.field_names():
            value = getattr(self, name)
            if not _fits(value, hints.get(name, Any)):
                found.append(f"{name} is {_kind(value)}, not {_hint_text(hints.get(name, Any))}")
        return found

    def set(self, **changes: Any) -> None:
        """Change fields by name (new ones are written last; None as null); unknown names are an error."""
        names = self.field_names()
        for name, value in changes.items():
            if name not in names:
                raise AttributeError(f"{type(self).__name__} has no field {name!r}")
            setattr(self, name, value)
            self.written.setdefault(name)


def _version(value: Any) -> int:
    """The schema version a file declares (files written before the field existed are version 1)."""
    try:
        return max(1, int(value)) if value is not None else SCHEMA_VERSION
    except (TypeError, ValueError):
        return SCHEMA_VERSION


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` (read from JSON) has the declared type ``hint`` (list items are checked one level deep)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint in (int, float):
        return isinstance(value, (int, float) if hint is float else int) and not isinstance(value, bool)
    if (origin or hint) is list:
        args = typing.get_args(hint)
        return isinstance(value, list) and (not args or all(_fits(item, args[0]) for item in value))
    if (origin or hint) is dict:
        return isinstance(value, dict)
    return isinstance(value, hint) if isinstance(hint, type) else True


_WORDS = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", dict: "an object",
          list: "a list", type(None): "null"}


def _kind(value: Any) -> str:
    for kind in (bool, type(None), str, dict, list):
        if isinstance(value, kind):
            return _WORDS[kind]
    return "a number" if isinstance(value, (int, float)) else type(value).__name__


def _hint_text(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_hint_text(arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is list and typing.get_args(hint):
        return f"a list of {_hint_text(typing.get_args(hint)[0]).removeprefix('an ').removeprefix('a ')}s"
    return _WORDS.get(typing.get_origin(hint) or hint, str(hint))
