"""The values a face can offer for request fields: what the catalog's models accept, and the presets.

The MCP face turns these into ``enum``s of its tool schemas. The catalog
lists accepted values per model and backend; a field's choices are the union
over the models served on any backend (durations sorted).
"""
from __future__ import annotations

from typing import Any, Mapping

from mediagen.app.runtime import load_catalog
from mediagen.core import errors

KINDS = ("image", "video")


def field_choices(env: Mapping[str, str]) -> dict[str, dict[str, list[Any]]]:
    """Per kind, for each catalog capability name (``aspect_ratios``, ``supports:thinking_level``, ...) its
    values; plus ``models:<kind>`` (served model ids) and ``presets:<kind>``. Empty when the catalog cannot load."""
    try:
        catalog = load_catalog(env)
    except errors.MediagenError:
        catalog = None
    found: dict[str, dict[str, list[Any]]] = {}
    for kind in KINDS:
        values = catalog_values(catalog, kind) if catalog is not None else {}
        values[f"models:{kind}"] = [m.id for m in catalog.models(kind) if m.served_on()] if catalog else []
        values[f"presets:{kind}"] = preset_names(kind)
        found[kind] = values
    return found


def catalog_values(catalog: Any, kind: str) -> dict[str, list[Any]]:
    """For each capability, the values any served model of ``kind`` accepts (catalog order)."""
    found: dict[str, list[Any]] = {}
    for model in catalog.models(kind):
        for backend, entry in model.backends.items():
            if entry.served:
                caps = model.capabilities_for(backend)
                for layer in (caps, *((caps.get("by_mode") or {}).values())):
                    _collect(found, layer)
    if "durations" in found:
        found["durations"] = sorted(found["durations"])
    return found


def _collect(found: dict[str, list[Any]], layer: dict[str, Any]) -> None:
    items = [(name, value) for name, value in layer.items() if name not in ("supports", "by_mode")]
    items += [(f"supports:{name}", value) for name, value in (layer.get("supports") or {}).items()]
    for name, values in items:
        if isinstance(values, dict) and "min" in values and "max" in values:
            values = list(range(int(values["min"]), int(values["max"]) + 1))
        if isinstance(values, list):
            bucket = found.setdefault(name, [])
            bucket.extend(v for v in values if v not in bucket and isinstance(v, (str, int)) and
                          not isinstance(v, bool))


def preset_names(kind: str) -> list[str]:
    """The preset names of one kind (none when the preset file cannot load)."""
    from mediagen.config.presets import load_presets

    try:
        return sorted(load_presets(kind))
    except errors.MediagenError:
        return []
