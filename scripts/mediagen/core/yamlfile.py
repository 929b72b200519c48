"""Reading YAML files (config, catalog, presets, shot lists, batch files) the same way everywhere.

Errors name the file, and the line and column where the parser stopped; a
file that is not UTF-8 is reported as such instead of failing later. Files read
on every run (the catalog, the presets) can keep their parsed form in the user
cache folder, named after a hash of their text: a run then loads that copy
(``marshal``, well under a millisecond) and never imports PyYAML.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import marshal
import sys
from pathlib import Path
from typing import Any, Callable

from mediagen.core.errors import MediagenError


def loader() -> Any:
    """PyYAML's safe loader: libyaml's when PyYAML was built with it (it parses the catalog ~7x faster)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def __getattr__(name: str) -> Any:
    # ``LOADER`` stays importable, without importing PyYAML along with this module.
    if name == "LOADER":
        return loader()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    import yaml  # lazy: a script's --help (and a run without a config file) never parses YAML

    try:
        return iso_dates(yaml.load(text, Loader=loader()))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise error(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}",
                    "Fix the YAML syntax at the position shown.") from exc


def read_yaml(path: Path, *, error: type[MediagenError], what: str, cache_dir: Path | None = None) -> Any:
    """Any YAML document from a UTF-8 file (with ``cache_dir``: parsed once per content, see the module)."""
    text = read_text(path, error=error, what=what)
    if cache_dir is None:
        return parse_yaml(text, path=path, error=error)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    copy = Path(cache_dir) / f"yaml-{digest}-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
    try:
        return marshal.loads(copy.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        pass             # no copy yet (or a damaged one): parse, then keep a copy
    data = parse_yaml(text, path=path, error=error)
    _keep(copy, data)
    return data


def _keep(copy: Path, data: Any) -> None:
    from mediagen.core.files import atomic_write_bytes

    try:
        copy.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(copy, marshal.dumps(data))
    except (OSError, ValueError):
        pass             # a read-only cache, or a value marshal cannot hold: parse again next time


def read_mapping(path: Path, *, error: type[MediagenError], what: str, shape_hint: str,
                 cache_dir: Path | None = None) -> dict:
    """A YAML file that must hold a mapping."""
    data = read_yaml(path, error=error, what=what, cache_dir=cache_dir)
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


def check_once(check: Callable[[], None], sources: list[Path], cache_dir: Path | None, name: str) -> None:
    """Run ``check`` (a schema check) unless these exact ``sources`` already passed it.

    A marker named ``<name>-<content hash>`` in ``cache_dir`` (the user cache) records a pass, so an unchanged
    file is not checked again, nor jsonschema imported; without a cache, or a source that cannot be read, the
    check runs every time. A cache that cannot be written only costs the check next time.
    """
    digest = hashlib.sha256()
    try:
        for source in sources:
            digest.update(source.read_bytes() + b"\0")
    except OSError:
        cache_dir = None
    if cache_dir is None:
        check()
        return
    marker = cache_dir / f"{name}-{digest.hexdigest()[:32]}"
    if marker.exists():
        return
    check()
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass
