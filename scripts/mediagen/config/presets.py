"""Named presets (``--preset quick``): bundles of request settings for a kind of media.

Presets live in ``presets/image.yaml`` and ``presets/video.yaml`` and are
checked against ``presets/presets.schema.json``.  A preset's values use the
catalog's normalized request keys plus ``model``; any value may be a map keyed
by backend (``{gemini-api: ..., vertex: ...}``), which ``Preset.values_for``
flattens for the backend in use.  Unknown keys are rejected.

Like the catalog's, the schema check is skipped (and jsonschema is not even
imported) when a marker named after the content hash of the preset file and
the schema sits in the user cache folder: these exact files already passed it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediagen.core.errors import PresetError
from mediagen.core.resources import PRESETS_DIR
from mediagen.core.yamlfile import check_once, read_mapping

if TYPE_CHECKING:
    import jsonschema

SCHEMA_PATH = PRESETS_DIR / "presets.schema.json"
BACKENDS = ("gemini-api", "vertex", "cliproxy")
KINDS = ("image", "video")


@dataclass(frozen=True)
class Preset:
    """One preset: its name, kind, when to use it, and its settings."""

    name: str
    kind: str
    description: str
    values: dict

    def values_for(self, backend: str) -> dict:
        """The settings for one backend: per-backend maps flattened, other backends' entries dropped.

        A key whose map does not name ``backend`` is left out, so the catalog's
        default applies (e.g. no ``model`` -> the backend's default model).
        """
        flat: dict[str, Any] = {}
        for key, value in self.values.items():
            if _is_backend_map(value):
                if backend in value:
                    flat[key] = value[backend]
            else:
                flat[key] = value
        return flat

    @property
    def backends(self) -> tuple[str, ...]:
        """The backends this preset names through its maps; all backends if it has none."""
        named = [b for b in BACKENDS if any(_is_backend_map(v) and b in v for v in self.values.values())]
        return tuple(named) or BACKENDS


def default_path(kind: str) -> Path:
    """Where the presets of a kind live (``presets/<kind>.yaml``)."""
    return PRESETS_DIR / f"{kind}.yaml"


def load_presets(kind: str, path: str | Path | None = None, *, cache_dir: Path | None = None) -> dict[str, Preset]:
    """All presets of ``kind``, schema-checked; ``PresetError`` names the file and the bad field.

    With ``cache_dir`` (the user cache folder) a file that already passed the check is not checked again.
    """
    if kind not in KINDS:
        raise PresetError(f"unknown preset kind {kind!r}", "use image or video")
    path = Path(path) if path else default_path(kind)
    data = _read(path, cache_dir)
    check_once(lambda: _validate(data, path), [path, SCHEMA_PATH], cache_dir, "preset-valid")
    if data["kind"] != kind:
        raise PresetError(f"{path}: kind: this file holds {data['kind']} presets, not {kind} presets",
                          f"point to a {kind} preset file")
    return {name: Preset(name, kind, body["description"].strip(),
                         {k: v for k, v in body.items() if k != "description"})
            for name, body in data["presets"].items()}


def get_preset(kind: str, name: str, path: str | Path | None = None, *, cache_dir: Path | None = None) -> Preset:
    """One preset by name; an unknown name raises ``PresetError`` listing the available ones."""
    presets = load_presets(kind, path, cache_dir=cache_dir)
    key = (name or "").strip().lower()
    if key in presets:
        return presets[key]
    available = ", ".join(sorted(presets))
    raise PresetError(f"unknown {kind} preset {name!r}; available: {available}",
                      f"use --preset with one of: {available}", details={"available": sorted(presets)})


def _is_backend_map(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(k in BACKENDS for k in value)


def _read(path: Path, cache_dir: Path | None = None) -> dict:
    return read_mapping(path, error=PresetError, what="preset", shape_hint="see presets/image.yaml for the shape",
                        cache_dir=cache_dir)


_VALIDATOR: list[jsonschema.Draft202012Validator] = []


def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # lazy: only needed when a preset file changed since it was last checked

    if not _VALIDATOR:
        try:
            schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PresetError(f"cannot read the preset schema {SCHEMA_PATH}: {exc}", "reinstall mediagen") from exc
        _VALIDATOR.append(jsonschema.Draft202012Validator(schema))
    return _VALIDATOR[0]


def _validate(data: dict, path: Path) -> None:
    errors = list(_validator().iter_errors(data))
    if not errors:
        return
    error = _deepest(errors)
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    message = error.message
    unexpected = _unexpected_keys(error)
    if unexpected:
        where = f"{where}.{unexpected[0]}" if where != "(top level)" else unexpected[0]
        message = f"unknown key {unexpected[0]!r}"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    raise PresetError(f"{path}: {where}: {message}{more}",
                      "fix that field (presets use the keys in presets/presets.schema.json)",
                      details={"file": str(path), "path": where})


def _deepest(errors: list[jsonschema.ValidationError]) -> jsonschema.ValidationError:
    """The most specific error: for ``oneOf``/``if`` failures, the innermost cause."""
    import jsonschema

    error = jsonschema.exceptions.best_match(errors)
    while error.context:
        # A wrong-type branch of a oneOf says little; prefer the branch that matched the type.
        specific = [e for e in error.context if e.validator != "type"] or list(error.context)
        error = jsonschema.exceptions.best_match(specific)
    return error


def _unexpected_keys(error: jsonschema.ValidationError) -> list[str]:
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    allowed = set(error.schema.get("properties", {}))
    return sorted(k for k in error.instance if k not in allowed)
