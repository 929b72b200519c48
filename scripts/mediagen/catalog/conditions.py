"""The rule language of ``models.yaml``: evaluating ``when`` and ``require`` conditions.

A condition is a value (equals), a list (in) or a map of operators:
``present``, ``absent``, ``in``, ``not_in``, ``equals``, ``min`` and ``max``.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from mediagen.core.errors import CatalogError


def given(value: Any) -> bool:
    """'present' in the rule language: not missing, null, false, 0 or ''."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return False
    return True


def same(a: Any, b: Any) -> bool:
    """Equal as the catalog means it: booleans exactly, anything else also case- and space-insensitively."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if a == b:
        return True
    return str(a).strip().lower() == str(b).strip().lower()


def member(value: Any, allowed: Iterable[Any]) -> bool:
    """True if ``value`` is the ``same`` as one of ``allowed``."""
    return any(same(value, item) for item in allowed)


def number(value: Any) -> float:
    """``value`` as a float, or NaN when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _as_ops(condition: Any) -> dict:
    if isinstance(condition, dict):
        return condition
    if isinstance(condition, list):
        return {"in": condition}
    return {"equals": condition}


def _presence(op: str, arg: Any, value: Any) -> bool:
    if op == "present":
        return given(value) == bool(arg)
    return (not given(value)) == bool(arg)


def _compare(op: str, arg: Any, value: Any) -> bool:
    if op == "in":
        return member(value, arg)
    if op == "equals":
        return same(value, arg)
    if op == "min":
        return number(value) >= arg
    if op == "max":
        return number(value) <= arg
    raise CatalogError(f"unknown rule operator {op!r}")


def holds(condition: Any, value: Any, *, strict: bool) -> bool:
    """Evaluate one condition.  ``strict`` (for ``when``): value tests on a missing field are false;
    otherwise (``require``) they pass, because the server's default applies."""
    missing = value is None
    for op, arg in _as_ops(condition).items():
        if op in ("present", "absent"):
            ok = _presence(op, arg, value)
        elif op == "not_in":
            ok = missing or not member(value, arg)
        elif missing:
            ok = not strict
        else:
            ok = _compare(op, arg, value)
        if not ok:
            return False
    return True
