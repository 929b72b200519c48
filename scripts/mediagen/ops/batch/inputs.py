"""Batch input files: read txt/CSV/JSONL/YAML into items, keys to setting names, values to their types.

* text (any other suffix): one prompt per line, ``#`` starts a comment line;
  optional per-line parameters after ``||``:
  ``a red fox || aspect_ratio=16:9; count=2; negative_prompt=blurry, dark``;
* CSV: a header with ``prompt`` plus optional parameter columns;
* JSONL: one JSON object (or string) per line;
* YAML / JSON: a list of items, or ``{defaults: {...}, items: [...]}``.

Every problem names the file and the line.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mediagen.core import errors
from mediagen.core.yamlfile import LOADER, parse_yaml, read_text

KINDS = ("image", "video")
ITEM_TYPES: dict[str, type] = {
    "prompt": str, "kind": str, "model": str, "aspect_ratio": str, "image_size": str, "count": int,
    "negative_prompt": str, "seed": int, "output": str, "person_generation": str, "thinking_level": str,
    "output_mime": str, "images": list, "duration": int, "resolution": str, "generate_audio": bool,
    "enhance_prompt": bool, "image": str, "last_frame": str, "references": list,
}
ALIASES = {"name": "output", "output_name": "output", "file": "output", "filename": "output", "n": "count",
           "aspect": "aspect_ratio", "ratio": "aspect_ratio", "size": "image_size", "negative": "negative_prompt",
           "input_images": "images", "first_frame": "image", "reference_images": "references", "type": "kind",
           "audio": "generate_audio"}
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


@dataclass
class RawItem:
    """One input line or list entry: where it came from and its raw values."""

    line: int
    values: dict[str, Any]


@dataclass
class BatchInput:
    """A parsed input file: its items and its ``defaults`` block (YAML/JSON only)."""

    path: Path
    items: list[RawItem]
    defaults: dict[str, Any] = field(default_factory=dict)


def read_input(path: Path) -> BatchInput:
    """Parse the input file by its suffix; every problem names the file and line."""
    path = Path(path).expanduser()
    text = read_text(path, error=errors.UsageError, what="batch", encoding="utf-8-sig")  # a BOM is common in CSV
    suffix = path.suffix.lower()
    if suffix == ".csv":
        parsed = BatchInput(path, _csv_items(path, text))
    elif suffix in (".jsonl", ".ndjson"):
        parsed = BatchInput(path, _jsonl_items(path, text))
    elif suffix in (".yaml", ".yml", ".json"):
        parsed = _yaml_input(path, text)
    else:
        parsed = BatchInput(path, _text_items(path, text))
    if not parsed.items:
        raise errors.UsageError(f"{path} has no items", "Add one prompt per line (or items: [...] in YAML).")
    parsed.defaults = normalize_values(parsed.defaults, f"{path} (defaults)")
    parsed.items = [RawItem(i.line, normalize_values(i.values, f"{path}:{i.line}")) for i in parsed.items]
    return parsed


def _text_items(path: Path, text: str) -> list[RawItem]:
    items = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        prompt, _, params = line.partition("||")
        values = _inline_params(params, f"{path}:{number}") if params.strip() else {}
        items.append(RawItem(number, {**values, "prompt": prompt.strip()}))
    return items


def _inline_params(text: str, where: str) -> dict[str, Any]:
    """``key=value; key=value`` after ``||`` on a text line."""
    values: dict[str, Any] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise errors.UsageError(f"{where}: parameter {part.strip()!r} is not key=value",
                                    "Write parameters as: prompt || aspect_ratio=16:9; count=2")
        values[key.strip()] = value.strip()
    return values


def _csv_items(path: Path, text: str) -> list[RawItem]:
    reader = csv.DictReader(text.splitlines())
    headers = [h.strip().lower() for h in reader.fieldnames or []]
    if "prompt" not in headers:
        raise errors.UsageError(f"{path}: the CSV header has no 'prompt' column",
                                "Make the first row a header such as: prompt,aspect_ratio,count")
    items = []
    for row in reader:
        values = {str(k).strip().lower(): v for k, v in row.items() if k is not None and v not in (None, "")}
        prompt = str(values.get("prompt") or "").strip()
        if not prompt or prompt.startswith("#"):
            continue
        items.append(RawItem(reader.line_num, values))
    return items


def _jsonl_items(path: Path, text: str) -> list[RawItem]:
    items = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise errors.UsageError(f"{path}:{number}: not JSON ({exc.msg})",
                                    "Each line must be a JSON object such as {\"prompt\": \"a fox\"}.") from exc
        items.append(RawItem(number, _as_mapping(value, f"{path}:{number}")))
    return items


def _yaml_input(path: Path, text: str) -> BatchInput:
    data = parse_yaml(text, path=path, error=errors.UsageError)
    node = yaml.compose(text, Loader=LOADER)           # the same text parsed once more, for line numbers
    defaults: dict[str, Any] = {}
    items_node = node
    if isinstance(data, dict):
        unknown = set(data) - {"defaults", "items"}
        if unknown or not isinstance(data.get("items"), list):
            raise errors.UsageError(f"{path}: expected a list of items or {{defaults: ..., items: [...]}}",
                                    f"Move {', '.join(sorted(map(str, unknown))) or 'the entries'} under items:.")
        defaults = _as_mapping(data.get("defaults") or {}, f"{path} (defaults)")
        items_node = next(v for k, v in node.value if k.value == "items")
        data = data["items"]
    if not isinstance(data, list):
        raise errors.UsageError(f"{path}: expected a list of items", "Write items as a YAML list (- prompt: ...).")
    lines = [child.start_mark.line + 1 for child in items_node.value]
    items = [RawItem(lines[i], _as_mapping(value, f"{path}:{lines[i]}")) for i, value in enumerate(data)]
    return BatchInput(path, items, defaults)


def _as_mapping(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"prompt": value}
    if not isinstance(value, dict):
        raise errors.UsageError(f"{where}: an item must be a prompt string or a mapping",
                                "Write {\"prompt\": \"...\", \"aspect_ratio\": \"16:9\"}.")
    return dict(value)


def normalize_values(values: dict[str, Any], where: str) -> dict[str, Any]:
    """Keys to setting names (aliases, ``-`` -> ``_``) and values to their types; unknown keys refused."""
    result: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = str(raw_key).strip().lower().replace("-", "_")
        key = ALIASES.get(key, key)
        if key not in ITEM_TYPES:
            raise errors.UsageError(f"{where}: unknown parameter {raw_key!r}",
                                    f"Use one of: {', '.join(sorted(ITEM_TYPES))}.")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        result[key] = _coerce(key, value, where)
    if "kind" in result and result["kind"] not in KINDS:
        raise errors.UsageError(f"{where}: kind {result['kind']!r} is neither image nor video",
                                "Use kind: image or kind: video.")
    return result


def _coerce(key: str, value: Any, where: str) -> Any:
    wanted = ITEM_TYPES[key]
    try:
        if wanted is int:
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value)
            if number != int(number):
                raise ValueError(value)
            return int(number)
        if wanted is bool:
            return _boolean(value)
        if wanted is list:
            return _listed(value)
        return str(value).strip()
    except (TypeError, ValueError) as exc:
        raise errors.UsageError(f"{where}: {key} must be {'a whole number' if wanted is int else wanted.__name__}, "
                                f"got {value!r}", f"Fix {key} on that line.") from exc


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(value)


def _listed(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(";") if part.strip()]
