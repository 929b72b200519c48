"""Catalog data: the request vocabulary, the model classes, and loading ``models.yaml``.

Loading reads the shipped catalog and the user's override file, deep-merges
the override by model id, checks the result against
``presets/models.schema.json`` (skipped when a content-hash marker in the cache
dir says these exact files passed before), builds ``Model`` objects and checks
the cross references a schema cannot express. With a cache dir the parsed YAML
is kept there too (``core.yamlfile``), so an unchanged catalog is not parsed again.
"""
from __future__ import annotations

import copy
import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, TypeVar

from mediagen.catalog import limits
from mediagen.catalog.conditions import holds
from mediagen.core.errors import CatalogError
from mediagen.core.resources import REPO_ROOT
from mediagen.core.yamlfile import check_once, read_mapping

DEFAULT_CATALOG_PATH = REPO_ROOT / "presets" / "models.yaml"
SCHEMA_PATH = REPO_ROOT / "presets" / "models.schema.json"

BACKENDS = ("gemini-api", "vertex", "cliproxy")
KINDS = ("image", "video")
MODES = ("text_to_video", "image_to_video", "first_last_frame", "reference_to_video", "extend", "edit")
SERVED = ("ga", "preview", "deprecated")
CURRENT = ("ga", "preview")         # what a default may be: served and not deprecated

# The normalized request: every key a rule or a check may read, with its type.
# Booleans such as ``seed`` or ``storage_uri`` mean "the user gave one".
COMMON_KEYS: dict[str, type] = {
    "kind": str, "model": str, "backend": str, "aspect_ratio": str, "count": int,
    "negative_prompt": bool, "seed": bool, "person_generation": str, "batch": bool,
}
IMAGE_KEYS: dict[str, type] = {
    "image_size": str, "input_images": int, "thinking_level": str, "output_mime": str,
    "add_watermark": bool, "history_images": int, "history_tokens": int,
}
VIDEO_KEYS: dict[str, type] = {
    "mode": str, "duration": int, "resolution": str, "generate_audio": bool, "first_frame": bool,
    "last_frame": bool, "reference_assets": int, "reference_styles": int, "reference_videos": int,
    "source_seconds": float, "mask_mode": str, "camera_control": str, "resize_mode": str,
    "enhance_prompt": bool, "storage_uri": bool, "compression_quality": str,
}
VOCABULARY: dict[str, type] = {**COMMON_KEYS, **IMAGE_KEYS, **VIDEO_KEYS}

# The CLI flag that sets each field, used to phrase fixes.
FLAGS: dict[str, str] = {
    "model": "--model", "backend": "--backend", "aspect_ratio": "--aspect-ratio",
    "image_size": "--image-size", "count": "--count", "input_images": "--image",
    "negative_prompt": "--negative-prompt", "seed": "--seed", "person_generation": "--person-generation",
    "thinking_level": "--thinking-level", "output_mime": "--output-mime", "add_watermark": "--watermark",
    "batch": "--batch", "mode": "--image/--last-frame/--reference-image/--extend-video",
    "duration": "--duration", "resolution": "--resolution", "generate_audio": "--no-audio/--generate-audio",
    "first_frame": "--image", "last_frame": "--last-frame", "reference_assets": "--reference-image",
    "reference_styles": "--reference-image PATH:style", "reference_videos": "--reference-video",
    "source_seconds": "--extend-video", "mask_mode": "--mask-mode", "camera_control": "--camera",
    "resize_mode": "--resize-mode", "enhance_prompt": "--enhance-prompt", "storage_uri": "--storage-uri",
    "compression_quality": "--compression-quality", "kind": "--model",
    "history_images": "--continue", "history_tokens": "--continue",
}


# --------------------------------------------------------------------------- data classes

@dataclass(frozen=True)
class BackendEntry:
    """How one model is reached on one backend.

    ``status`` is the status on the catalog's date: an entry whose *firm*
    ``shutdown`` date has come is retired whatever the file says (unless
    ``still_served`` says it still answers); ``declared_status`` is what the
    file says. ``shutdown_not_before`` is Google's "as early as" date: it
    warns and never refuses.
    """

    backend: str
    id: str
    surface: str
    status: str
    locations: tuple[str, ...]
    shutdown: str | None
    replacement: str | None
    notes: str | None
    allowlist: bool = False
    uncertain: bool = False
    shutdown_not_before: str | None = None
    still_served: bool = False
    replacement_settings: tuple[tuple[str, Any], ...] = ()   # e.g. (("thinking_level", "high"),)
    declared_status: str = ""

    @property
    def served(self) -> bool:
        """True unless retired (deprecated models are still served, with a warning)."""
        return self.status in SERVED

    @property
    def retired_by_date(self) -> bool:
        """Retired because its firm shutdown date has come, although the file does not say retired."""
        return self.status == "retired" and self.declared_status not in ("", "retired")

    @property
    def listed(self) -> bool:
        """Served according to the file alone (whatever the date): what cross-references may point at."""
        return (self.declared_status or self.status) in SERVED


@dataclass(frozen=True)
class Rule:
    """One explicit constraint (see the RULES section of models.yaml)."""

    id: str
    when: Mapping[str, Any]
    require: Mapping[str, Any]
    severity: str
    message: str
    fix: str
    field: str | None = None
    uncertain: bool = False

    def applies(self, request: Mapping[str, Any]) -> bool:
        """Every ``when`` condition holds for ``request``."""
        return all(holds(cond, request.get(name), strict=True) for name, cond in self.when.items())

    def failing(self, request: Mapping[str, Any]) -> list[str]:
        """The ``require`` fields whose condition fails (empty when satisfied)."""
        return [name for name, cond in self.require.items()
                if not holds(cond, request.get(name), strict=False)]

    def fields(self) -> set[str]:
        """Every request field the rule reads."""
        return set(self.when) | set(self.require) | ({self.field} if self.field else set())


@dataclass(frozen=True)
class Model:
    """One catalog model; ``capabilities_for(backend)`` gives its limits on a backend."""

    id: str
    kind: str
    family: str
    display_name: str
    aliases: tuple[str, ...]
    backends: dict[str, BackendEntry]
    capabilities: dict
    constraints: tuple[Rule, ...]
    pricing: dict
    backend_capabilities: dict = field(default_factory=dict)
    unavailable_on: dict = field(default_factory=dict)
    notes: str | None = None
    sources: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()     # dotted paths of fields the sources disagree on
    limits: dict = field(default_factory=dict)   # per-model limits with sources (see catalog.limits)

    def capabilities_for(self, backend: str) -> dict:
        """The capabilities with this backend's overrides deep-merged in."""
        return deep_merge(self.capabilities, self.backend_capabilities.get(backend) or {})

    def pricing_for(self, backend: str) -> dict:
        """The pricing with this backend's overrides deep-merged in (``{}`` if unpriced)."""
        if not self.pricing:
            return {}
        base = {k: v for k, v in self.pricing.items() if k != "backends"}
        return deep_merge(base, (self.pricing.get("backends") or {}).get(backend) or {})

    def served_on(self) -> list[str]:
        """Backends where the model is served (not retired), in catalog order."""
        return [name for name, entry in self.backends.items() if entry.served]

    def listed_on(self) -> list[str]:
        """Backends where the file says the model is served (dates aside)."""
        return [name for name, entry in self.backends.items() if entry.listed]


def mode_capabilities(model: Model, backend: str, mode: str | None) -> dict:
    """The model's capabilities on ``backend`` with the ``by_mode`` overrides for ``mode`` merged in."""
    caps = model.capabilities_for(backend)
    overrides = (caps.get("by_mode") or {}).get(mode) if mode else None
    return deep_merge(caps, overrides) if overrides else caps


# --------------------------------------------------------------------------- the loaded catalog

_Loaded = TypeVar("_Loaded", bound="CatalogData")


class CatalogData:
    """The loaded models and their lookups; ``Catalog`` adds resolution, checks and pricing."""

    def __init__(self, data: dict, models: list[Model], label: str, today: str | None = None) -> None:
        self._data = data
        self._models = models
        self._label = label
        self.today = today or _dt.date.today().isoformat()
        self._by_name: dict[str, Model] = {}
        for model in models:
            for name in (model.id, *model.aliases):
                self._by_name[name.lower()] = model
        self._by_wire: dict[str, list[Model]] = {}
        for model in models:
            for entry in model.backends.values():
                owners = self._by_wire.setdefault(entry.id.lower(), [])
                if model not in owners:
                    owners.append(model)

    @classmethod
    def load(cls: type[_Loaded], path: str | Path | None = None, override_path: str | Path | None = None, *,
             cache_dir: Path | None = None, today: _dt.date | str | None = None) -> _Loaded:
        """Read, merge (override file by model id), schema-check and build the catalog.

        ``cache_dir`` holds the marker that lets an unchanged catalog skip its schema check; ``today``
        (default: the real date) decides which firm shutdown dates have come.
        Raises ``CatalogError`` naming the file and the JSON path of the bad field.
        """
        today = (today if isinstance(today, str) else (today or _dt.date.today()).isoformat())
        path = Path(path) if path else DEFAULT_CATALOG_PATH
        data = _read_yaml(path, "catalog", cache_dir)
        label = str(path)
        sources = [path]
        if override_path:
            override = _read_yaml(Path(override_path), "catalog override", cache_dir)
            _check_override_shape(override, Path(override_path))
            data = _merge_catalog(data, override)
            label = f"{path} (with override {override_path})"
            sources.append(Path(override_path))
        check_once(lambda: _validate_schema(data, label), [*sources, SCHEMA_PATH], cache_dir, "catalog-valid")
        catalog = cls(data, _build_models(data, label, today), label, today)
        _check_references(catalog, label)
        return catalog

    @property
    def as_of(self) -> str:
        """The date the catalog's facts were checked (ISO)."""
        return str(self._data["as_of"])

    @property
    def path(self) -> str:
        """Which file(s) the catalog came from, for messages."""
        return self._label

    def models(self, kind: str | None = None) -> list[Model]:
        """All models in catalog order, optionally only one kind."""
        return [m for m in self._models if kind is None or m.kind == kind]

    def get(self, name: str) -> Model | None:
        """The model with this id or alias (case-insensitive; a backend wire id as last resort)."""
        if not name:
            return None
        key = str(name).strip().lower().removeprefix("models/")
        if key in self._by_name:
            return self._by_name[key]
        by_wire = self._by_wire.get(key, [])
        return by_wire[0] if len(by_wire) == 1 else None

    def backend_label(self, backend: str) -> str:
        """A backend's human name ("the Gemini API")."""
        return self.backend_info(backend).get("display_name", backend)

    def backend_info(self, backend: str) -> dict:
        """The catalog's ``backends`` entry for a backend (``{}`` if it has none)."""
        return (self._data.get("backends") or {}).get(backend) or {}

    def defaults(self) -> dict:
        """The ``defaults`` table: kind -> backend -> model id."""
        return self._data.get("defaults") or {}


# --------------------------------------------------------------------------- loading helpers

def deep_merge(base: Any, over: Any) -> Any:
    """Maps merge key by key; anything else in ``over`` replaces ``base``."""
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        merged = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in over.items():
            merged[key] = deep_merge(merged.get(key), value) if key in merged else copy.deepcopy(value)
        return merged
    return copy.deepcopy(over)


def _read_yaml(path: Path, what: str, cache_dir: Path | None = None) -> dict:
    """The file's mapping; with ``cache_dir`` a parsed copy of these exact bytes is reused (no YAML parse)."""
    return read_mapping(path, error=CatalogError, what=what, shape_hint="see presets/models.yaml for the shape",
                        cache_dir=cache_dir)


def _check_override_shape(override: dict, path: Path) -> None:
    models = override.get("models", [])
    if not isinstance(models, list):
        raise CatalogError(f"{path}: models: must be a list of models keyed by id", "e.g. models: [{id: ..., ...}]")
    for index, item in enumerate(models):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise CatalogError(f"{path}: models[{index}].id: every override model needs an id",
                               "add id: <catalog model id> to the entry")


def _merge_catalog(data: dict, override: dict) -> dict:
    """Deep-merge an override: models by id or alias (new ids are appended), other keys as maps."""
    merged = deep_merge(data, {k: v for k, v in override.items() if k != "models"})
    models = [copy.deepcopy(m) for m in data.get("models", [])]
    index: dict[str, int] = {}
    for i, model in enumerate(models):
        if isinstance(model, dict):
            # An override may name a model by an alias too ("omni" for gemini-omni-1.1-flash).
            for name in [model.get("id", ""), *(model.get("aliases") or [])]:
                index.setdefault(str(name).lower(), i)
    for item in override.get("models", []):
        key = item["id"].lower()
        if key in index:
            models[index[key]] = deep_merge(models[index[key]], item)
        else:
            models.append(copy.deepcopy(item))
    merged["models"] = models
    return merged


# --------------------------------------------------------------------------- schema check

_SCHEMA_CACHE: dict[str, Any] = {}


def _schema_validator() -> Any:
    import jsonschema  # lazy: only needed when the catalog changed since it was last checked

    if "validator" not in _SCHEMA_CACHE:
        try:
            schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CatalogError(f"cannot read the catalog schema {SCHEMA_PATH}: {exc}",
                               "reinstall mediagen") from exc
        _SCHEMA_CACHE["validator"] = jsonschema.Draft202012Validator(schema)
    return _SCHEMA_CACHE["validator"]


def _json_path(data: Any, path: Iterable[Any]) -> str:
    """``models[3](veo-3.1-generate-001).pricing.as_of`` style path into ``data``."""
    text, node = "", data
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and "id" in node:
                text += f"({node['id']})"
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text or "(top level)"


def _validate_schema(data: dict, label: str) -> None:
    import jsonschema

    errors = list(_schema_validator().iter_errors(data))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    where = _json_path(data, error.absolute_path)
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    raise CatalogError(f"{label}: {where}: {error.message}{more}",
                       "fix that field (the catalog's shape is presets/models.schema.json)",
                       details={"file": label, "path": where})


# --------------------------------------------------------------------------- building models

def _build_rules(raw: list[dict]) -> list[Rule]:
    return [Rule(r["id"], r.get("when") or {}, r["require"], r["severity"], r["message"], r["fix"],
                 r.get("field"), bool(r.get("uncertain"))) for r in raw]


def _model_rules(raw: dict, where: str, rule_sets: dict) -> list[Rule]:
    """The model's rules: its rule sets in order, then its own constraints (each id once)."""
    rules: list[Rule] = []
    for name in raw.get("rule_sets") or []:
        if name not in rule_sets:
            raise CatalogError(f"{where}.rule_sets: unknown rule set {name!r}",
                               f"define it under rule_sets: (known: {', '.join(rule_sets)})")
        rules += _build_rules(rule_sets[name])
    rules += _build_rules(raw.get("constraints") or [])
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise CatalogError(f"{where}: rule {dup!r} is listed twice", "remove the duplicate rule or rule set")
    return rules


def _backend_entries(raw: dict, today: str) -> dict[str, BackendEntry]:
    return {name: BackendEntry(name, e["id"], e["surface"], _status_on(e, today), tuple(e.get("locations") or ()),
                               e.get("shutdown"), e.get("replacement"), e.get("notes"),
                               bool(e.get("allowlist")), bool(e.get("uncertain")), e.get("shutdown_not_before"),
                               bool(e.get("still_served")), tuple((e.get("replacement_settings") or {}).items()),
                               e["status"])
            for name, e in raw["backends"].items()}


def _status_on(entry: dict, today: str) -> str:
    """The status on ``today``: a firm shutdown date that has come retires the entry (unless still served)."""
    firm = entry.get("shutdown")
    if entry["status"] != "retired" and firm and firm <= today and not entry.get("still_served"):
        return "retired"
    return entry["status"]


def _build_models(data: dict, label: str, today: str) -> list[Model]:
    rule_sets = data.get("rule_sets") or {}
    models = []
    for index, raw in enumerate(data["models"]):
        rules = _model_rules(raw, f"{label}: models[{index}]({raw['id']})", rule_sets)
        models.append(Model(raw["id"], raw["kind"], raw["family"], raw["display_name"],
                            tuple(raw.get("aliases") or ()), _backend_entries(raw, today),
                            limits.expand(raw.get("capabilities") or {}, raw.get("limits") or {}),
                            tuple(rules), raw.get("pricing") or {}, raw.get("backend_capabilities") or {},
                            raw.get("unavailable_on") or {}, raw.get("notes"), tuple(raw.get("sources") or ()),
                            _uncertain_paths(raw.get("uncertain")), raw.get("limits") or {}))
    return models


def _uncertain_paths(value: Any) -> tuple[str, ...]:
    if value is True:
        return ("*",)
    return tuple(value or ())


# --------------------------------------------------------------------------- reference checks

def _check_references(catalog: CatalogData, label: str) -> None:
    """Cross-field checks a JSON Schema cannot express."""
    problems = _name_problems(catalog) + _model_problems(catalog) + _default_problems(catalog)
    if problems:
        where, message = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise CatalogError(f"{label}: {where}: {message}{more}", "fix the catalog entry",
                           details={"file": label, "path": where})


def _name_problems(catalog: CatalogData) -> list[tuple[str, str]]:
    problems, seen = [], {}
    for model in catalog.models():
        for name in (model.id, *model.aliases):
            key = name.lower()
            if key in seen:
                problems.append((f"models({model.id})", f"name {name!r} is also used by {seen[key]}"))
            seen[key] = model.id
    return problems


def _model_problems(catalog: CatalogData) -> list[tuple[str, str]]:
    """Per model: replacements, alternatives and rule fields that point nowhere."""
    problems = []
    for model in catalog.models():
        problems += _replacement_problems(catalog, model)
        problems += _alternative_problems(catalog, model)
        for rule in model.constraints:
            unknown = rule.fields() - set(VOCABULARY)
            if unknown:
                problems.append((f"models({model.id}) rule {rule.id}", f"unknown fields {sorted(unknown)}"))
    return problems


def _replacement_problems(catalog: CatalogData, model: Model) -> list[tuple[str, str]]:
    problems = []
    for backend, entry in model.backends.items():
        where = f"models({model.id}).backends.{backend}.replacement"
        if not entry.replacement:
            continue
        target = catalog.get(entry.replacement)
        if target is None:
            problems.append((where, f"unknown model {entry.replacement!r}"))
        elif not target.listed_on():
            problems.append((where, f"{target.id} is not served anywhere"))
        elif target.kind != model.kind:
            problems.append((where, f"{target.id} is a {target.kind} model"))
        unknown = {name for name, _ in entry.replacement_settings} - set(VOCABULARY)
        if unknown:
            problems.append((f"{where}_settings", f"unknown fields {sorted(unknown)}"))
    return problems


def _alternative_problems(catalog: CatalogData, model: Model) -> list[tuple[str, str]]:
    problems = []
    for backend, info in model.unavailable_on.items():
        alternative = info.get("alternative")
        if alternative and backend not in getattr(catalog.get(alternative), "listed_on", lambda: [])():
            problems.append((f"models({model.id}).unavailable_on.{backend}.alternative",
                             f"{alternative!r} is not served on {backend}"))
    return problems


def _default_problems(catalog: CatalogData) -> list[tuple[str, str]]:
    problems = []
    for kind, table in catalog.defaults().items():
        for backend, name in table.items():
            model = catalog.get(name)
            where = f"defaults.{kind}.{backend}"
            if model is None:
                problems.append((where, f"unknown model {name!r}"))
            elif model.kind != kind:
                problems.append((where, f"{model.id} is a {model.kind} model"))
            elif backend not in model.listed_on():
                problems.append((where, f"{model.id} is not served on {backend}"))
            elif model.backends[backend].declared_status not in CURRENT:
                problems.append((where, f"{model.id} is {model.backends[backend].declared_status} on {backend}; "
                                        "a default must be a current model"))
    return problems
