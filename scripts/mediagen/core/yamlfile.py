"""Reading the project's YAML data files (catalog, presets) the same way everywhere."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from mediagen.core.errors import MediagenError

# libyaml's loader (when PyYAML was built with it) parses the catalog ~7x faster; same safe semantics.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_mapping(path: Path, *, error: type[MediagenError], what: str, shape_hint: str) -> dict:
    """A YAML file that must hold a mapping; dates become ISO strings; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read the {what} file {path}: {exc.strerror or exc}", "check the path") from exc
    try:
        data = yaml.load(text, Loader=LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise error(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}",
                    "fix the YAML syntax") from exc
    if not isinstance(data, dict):
        raise error(f"{path}: the {what} must be a YAML mapping", shape_hint)
    return iso_dates(data)


def iso_dates(data: Any) -> Any:
    """YAML turns unquoted dates into date objects; the schemas want ISO strings."""
    if isinstance(data, dict):
        return {k: iso_dates(v) for k, v in data.items()}
    if isinstance(data, list):
        return [iso_dates(v) for v in data]
    if isinstance(data, (dt.date, dt.datetime)):
        return data.isoformat()[:10]
    return data
