"""Reading YAML files (config, catalog, presets, shot lists, batch files) the same way everywhere.

Errors name the file, and the line and column where the parser stopped; a
file that is not UTF-8 is reported as such instead of failing later.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from mediagen.core.errors import MediagenError

# libyaml's loader (when PyYAML was built with it) parses the catalog ~7x faster; same safe semantics.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_text(path: Path, *, error: type[MediagenError], what: str, encoding: str = "utf-8") -> str:
    """A UTF-8 text file, or ``error`` naming the file (missing, unreadable, or another encoding)."""
    try:
        return Path(path).read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise error(f"the {what} file {path} is not UTF-8 text (byte {exc.start} cannot be decoded)",
                    "Save the file as UTF-8 and try again.") from exc
    except OSError as exc:
        raise error(f"cannot read the {what} file {path}: {exc.strerror or exc}", "Check the path.") from exc


def parse_yaml(text: str, *, path: Path, error: type[MediagenError]) -> Any:
    """Parse YAML text read from ``path``; dates become ISO strings."""
    try:
        return iso_dates(yaml.load(text, Loader=LOADER))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise error(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}",
                    "Fix the YAML syntax at the position shown.") from exc


def read_yaml(path: Path, *, error: type[MediagenError], what: str) -> Any:
    """Any YAML document from a UTF-8 file."""
    return parse_yaml(read_text(path, error=error, what=what), path=path, error=error)


def read_mapping(path: Path, *, error: type[MediagenError], what: str, shape_hint: str) -> dict:
    """A YAML file that must hold a mapping."""
    data = read_yaml(path, error=error, what=what)
    if not isinstance(data, dict):
        raise error(f"{path}: the {what} must be a YAML mapping", shape_hint)
    return data


def iso_dates(data: Any) -> Any:
    """YAML turns unquoted dates into date objects; the schemas want ISO strings."""
    if isinstance(data, dict):
        return {k: iso_dates(v) for k, v in data.items()}
    if isinstance(data, list):
        return [iso_dates(v) for v in data]
    if isinstance(data, (dt.date, dt.datetime)):
        return data.isoformat()[:10]
    return data
