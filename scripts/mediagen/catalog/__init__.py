"""The model catalog: which models exist, where they are served, what they accept and cost.

The data lives in ``presets/models.yaml`` (checked against
``presets/models.schema.json``); this module loads it, resolves names to wire
ids, validates requests and estimates their cost.

Requests are checked in one **normalized form**: a flat dict whose absent keys
mean "not given" (see ``VOCABULARY``).  Validation returns every problem at
once; each names the request field, says what is wrong with the allowed values
listed, and phrases the fix as CLI flags (``FLAGS``).

Nothing here prints or exits: failures raise ``CatalogError`` (bad catalog
file), ``ModelUnavailable`` (retired or not served) or ``ValidationError``.
"""
from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from mediagen.core.errors import CatalogError, ModelUnavailable, ValidationError
from mediagen.core.resources import REPO_ROOT
from mediagen.core.yamlfile import read_mapping

DEFAULT_CATALOG_PATH = REPO_ROOT / "presets" / "models.yaml"
SCHEMA_PATH = REPO_ROOT / "presets" / "models.schema.json"

BACKENDS = ("gemini-api", "vertex", "cliproxy")
KINDS = ("image", "video")
MODES = ("text_to_video", "image_to_video", "first_last_frame", "reference_to_video", "extend", "edit")
SERVED = ("ga", "preview", "deprecated")

# The normalized request: every key a rule or a check may read, with its type.
# Booleans such as ``seed`` or ``storage_uri`` mean "the user gave one".
COMMON_KEYS: dict[str, type] = {
    "kind": str, "model": str, "backend": str, "aspect_ratio": str, "count": int,
    "negative_prompt": bool, "seed": bool, "person_generation": str, "batch": bool,
}
IMAGE_KEYS: dict[str, type] = {
    "image_size": str, "input_images": int, "thinking_level": str, "output_mime": str,
    "add_watermark": bool,
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
    "batch": "--batch", "mode": "--image/--last-frame/--reference-image/--extend",
    "duration": "--duration", "resolution": "--resolution", "generate_audio": "--no-audio/--generate-audio",
    "first_frame": "--image", "last_frame": "--last-frame", "reference_assets": "--reference-image",
    "reference_styles": "--reference-image PATH:style", "reference_videos": "--reference-video",
    "source_seconds": "--extend", "mask_mode": "--mask-mode", "camera_control": "--camera",
    "resize_mode": "--resize-mode", "enhance_prompt": "--enhance-prompt", "storage_uri": "--storage-uri",
    "compression_quality": "--compression-quality", "kind": "--model",
}

# Words for messages ("aspect ratio 7:3 is not offered ...").
LABELS: dict[str, str] = {name: name.replace("_", " ") for name in VOCABULARY}
LABELS.update({"input_images": "input images", "first_frame": "a first frame", "last_frame": "a last frame",
               "reference_assets": "asset reference images", "reference_styles": "style reference images",
               "reference_videos": "reference videos", "source_seconds": "the clip to extend",
               "mask_mode": "mask mode", "camera_control": "camera control", "storage_uri": "--storage-uri (gs://)",
               "negative_prompt": "a negative prompt", "seed": "a seed", "batch": "the Batch API",
               "add_watermark": "the watermark setting", "enhance_prompt": "prompt enhancement",
               "output_mime": "output format"})

# Fields that take one of a listed set of values, and the capability listing them.
_CHOICES = {
    "mode": "modes", "aspect_ratio": "aspect_ratios", "image_size": "image_sizes",
    "resolution": "resolutions", "duration": "durations", "person_generation": "person_generation",
    "mask_mode": "mask_modes", "camera_control": "camera_control", "resize_mode": "resize_modes",
}
# Fields that count inputs, and how to read their maximum from the capabilities.
_MAXIMA = {
    "input_images": ("max_input_images",),
    "reference_assets": ("max_reference_images", "asset"),
    "reference_styles": ("max_reference_images", "style"),
    "reference_videos": ("reference_videos", "max"),
}
# Everything else is a plain "supports" flag (true / false / list of values).
_SPECIAL = set(_CHOICES) | set(_MAXIMA) | {"kind", "model", "backend", "count", "generate_audio",
                                           "source_seconds"}
SUPPORT_FIELDS = tuple(name for name in VOCABULARY if name not in _SPECIAL)
# Boolean fields whose false value is itself a request (the server default is true).
_TOGGLES = frozenset({"add_watermark", "enhance_prompt"})


# --------------------------------------------------------------------------- data classes

@dataclass(frozen=True)
class BackendEntry:
    """How one model is reached on one backend."""

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

    @property
    def served(self) -> bool:
        """True unless retired (deprecated models are still served, with a warning)."""
        return self.status in SERVED


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
        return all(_holds(cond, request.get(name), strict=True) for name, cond in self.when.items())

    def failing(self, request: Mapping[str, Any]) -> list[str]:
        """The ``require`` fields whose condition fails (empty when satisfied)."""
        return [name for name, cond in self.require.items()
                if not _holds(cond, request.get(name), strict=False)]

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

    def capabilities_for(self, backend: str) -> dict:
        """The capabilities with this backend's overrides deep-merged in."""
        return _deep_merge(self.capabilities, self.backend_capabilities.get(backend) or {})

    def pricing_for(self, backend: str) -> dict:
        """The pricing with this backend's overrides deep-merged in (``{}`` if unpriced)."""
        if not self.pricing:
            return {}
        base = {k: v for k, v in self.pricing.items() if k != "backends"}
        return _deep_merge(base, (self.pricing.get("backends") or {}).get(backend) or {})

    def served_on(self) -> list[str]:
        """Backends where the model is served (not retired), in catalog order."""
        return [name for name, entry in self.backends.items() if entry.served]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: the field, what is wrong, and the CLI fix."""

    field: str
    message: str
    fix: str
    severity: str = "error"
    rule: str = ""        # the rule id for explicit constraints; "" for generic checks


@dataclass
class Resolution:
    """A name resolved for a backend: the model, its entry, the id to send, and warnings."""

    requested: str
    model: Model | None
    entry: BackendEntry | None
    wire_id: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class CostEstimate:
    """What a request should cost, from catalog list prices."""

    usd: float | None
    per_item_usd: float | None
    items: int
    unit: str
    breakdown: list[dict] = field(default_factory=list)
    as_of: str | None = None
    source: str | None = None
    batch_usd: float | None = None
    priced: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


# --------------------------------------------------------------------------- the catalog

class Catalog:
    """The loaded catalog.  Build it with ``Catalog.load()``."""

    def __init__(self, data: dict, models: list[Model], label: str) -> None:
        self._data = data
        self._models = models
        self._label = label
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

    # ---- loading

    @classmethod
    def load(cls, path: str | Path | None = None, override_path: str | Path | None = None, *,
             cache_dir: Path | None = None) -> Catalog:
        """Read, merge (override file by model id), schema-check and build the catalog.

        ``cache_dir`` holds the marker that lets an unchanged catalog skip its schema check.
        Raises ``CatalogError`` naming the file and the JSON path of the bad field.
        """
        path = Path(path) if path else DEFAULT_CATALOG_PATH
        data = _read_yaml(path, "catalog")
        label = str(path)
        sources = [path]
        if override_path:
            override = _read_yaml(Path(override_path), "catalog override")
            _check_override_shape(override, Path(override_path))
            data = _merge_catalog(data, override)
            label = f"{path} (with override {override_path})"
            sources.append(Path(override_path))
        _validate_schema_once(data, label, sources, cache_dir)
        models = _build_models(data, label)
        catalog = cls(data, models, label)
        _check_references(catalog, label)
        return catalog

    # ---- lookups

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
        info = (self._data.get("backends") or {}).get(backend) or {}
        return info.get("display_name", backend)

    def default_model(self, kind: str, backend: str) -> str:
        """The default model id for a kind on a backend; ``ModelUnavailable`` if there is none."""
        if kind not in KINDS:
            raise ValidationError(f"unknown kind {kind!r}; choose image or video")
        _check_backend(backend)
        defaults = (self._data.get("defaults") or {}).get(kind) or {}
        if backend not in defaults:
            others = ", ".join(b for b in BACKENDS if b in defaults)
            raise ModelUnavailable(f"no {kind} model is served on {self.backend_label(backend)}",
                                   f"use --backend with one of: {others}")
        return defaults[backend]

    def default_location(self, model_id: str, backend: str) -> str | None:
        """The model's default location on this backend (Vertex), or None."""
        model = self.get(model_id)
        entry = model.backends.get(backend) if model else None
        return entry.locations[0] if entry and entry.locations else None

    # ---- resolve

    def resolve(self, name: str, backend: str) -> Resolution:
        """Map a name to the model and wire id for ``backend``.

        Retired or not served -> ``ModelUnavailable`` naming the replacement and
        where things are served; deprecated -> a warning with the shutdown date;
        unknown -> passed through unvalidated with a warning.
        """
        _check_backend(backend)
        model = self.get(name)
        if model is None:
            return Resolution(name, None, None, name,
                              [f"model {name!r} is not in the catalog: request unvalidated and unpriced"])
        entry = model.backends.get(backend)
        if entry is None or not entry.served:
            message, hint = self._unavailable(model, backend)
            raise ModelUnavailable(message, hint, details={"model": model.id, "backend": backend})
        warnings = [w for w in (self._lifecycle_warning(model, entry),) if w]
        return Resolution(name, model, entry, entry.id, warnings)

    def _lifecycle_warning(self, model: Model, entry: BackendEntry) -> str | None:
        if entry.status != "deprecated":
            return None
        text = f"{model.id} is deprecated on {self.backend_label(entry.backend)}"
        if entry.shutdown:
            passed = entry.shutdown < _dt.date.today().isoformat()
            text += (f"; its shutdown date {entry.shutdown} has passed and calls may fail" if passed
                     else f" and shuts down on {entry.shutdown}")
            if entry.uncertain:
                text += " (date UNCERTAIN)"
        if entry.replacement:
            text += f"; use --model {entry.replacement}"
        return text

    def _unavailable(self, model: Model, backend: str) -> tuple[str, str]:
        """Message and hint for a model that is retired or absent on ``backend``."""
        entry = model.backends.get(backend)
        if entry is not None:
            return self._retired_text(model, entry)
        return self._absent_text(model, backend)

    def _retired_text(self, model: Model, entry: BackendEntry) -> tuple[str, str]:
        label = self.backend_label(entry.backend)
        when = f" on {entry.shutdown}" if entry.shutdown else ""
        message = f"{model.id} was shut down on {label}{when}"
        hints = []
        replacement = self.get(entry.replacement) if entry.replacement else None
        if replacement is not None:
            where = ", ".join(replacement.served_on()) or "nowhere"
            message += f"; its replacement is {replacement.id} (served on {where})"
            if entry.backend in replacement.served_on():
                hints.append(f"--model {replacement.id}")
        elsewhere = self._elsewhere(model, entry.backend, skip=replacement.id if replacement else None)
        if elsewhere:
            message += "; " + "; ".join(text for text, _ in elsewhere)
            hints.extend(hint for _, hint in elsewhere)
        return message, "use " + ", or ".join(hints) if hints else "pick another model with --model"

    def _absent_text(self, model: Model, backend: str) -> tuple[str, str]:
        label = self.backend_label(backend)
        reason = (model.unavailable_on.get(backend) or {})
        alternative = reason.get("alternative") or self._default_or_none(model.kind, backend)
        served = model.served_on()
        message = reason.get("message") or f"{model.id} is not served on {label}"
        parts, hints = [], []
        if alternative:
            credential = ((self._data.get("backends") or {}).get(backend) or {}).get("credential", label)
            parts.append(f"use {alternative} with {credential}")
            hints.append(f"--model {alternative}")
        for other in served:
            parts.append(f"{model.id} on {self.backend_label(other)} (--backend {other})")
            hints.append(f"--backend {other}")
        if not served:
            message += "; it is not served anywhere any more"
        if parts:
            message += ": " + ", or ".join(parts)
        return message, "use " + ", or ".join(hints) if hints else "pick another model with --model"

    def _elsewhere(self, model: Model, backend: str, skip: str | None = None) -> list[tuple[str, str]]:
        """For other backends: what to use there (the model itself or its replacement)."""
        found = []
        for other, entry in model.backends.items():
            target = model.id if entry.served else entry.replacement
            target_model = self.get(target) if target else None
            if other == backend or target_model is None or other not in target_model.served_on():
                continue
            if target == skip:
                continue
            found.append((f"on {self.backend_label(other)} use {target} (--backend {other} --model {target})",
                          f"--backend {other} --model {target}"))
        return found

    def _default_or_none(self, kind: str, backend: str) -> str | None:
        try:
            return self.default_model(kind, backend)
        except ModelUnavailable:
            return None

    # ---- validate

    def validate(self, request: Mapping[str, Any]) -> list[Problem]:
        """Every problem with a normalized request (errors and warnings), at once.

        The request holds only what the user gave (keys in ``VOCABULARY``;
        others are ignored); a missing ``model`` means the backend's default and
        a missing video ``mode`` means text_to_video.  Unknown models pass
        through (``[]``).  A model that is retired or not served on the backend
        yields that one problem.
        """
        request = dict(request)
        backend = request.get("backend") or "gemini-api"
        if backend not in BACKENDS:
            return [Problem("backend", f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}",
                            f"use --backend {BACKENDS[0]}")]
        name = request.get("model")
        if not name:
            try:
                name = self.default_model(request.get("kind") or "image", backend)
            except ValidationError as exc:      # e.g. no video model on the proxy
                return [Problem("backend", exc.message, exc.hint)]
        model = self.get(name)
        if model is None:
            return []
        request.update(model=model.id, backend=backend)
        entry = model.backends.get(backend)
        if entry is None or not entry.served:
            message, hint = self._unavailable(model, backend)
            return [Problem("model", message, hint)]
        problems = self._kind_problems(model, request)
        if problems:
            return problems
        if model.kind == "video":
            request.setdefault("mode", "text_to_video")
        caps = self._caps(model, backend, request.get("mode"))
        problems += self._generic_problems(model, backend, caps, request)
        problems += self._rule_problems(model, backend, request)
        warning = self._lifecycle_warning(model, entry)
        if warning:
            problems.append(Problem("model", warning, f"use --model {entry.replacement}" if entry.replacement
                                    else "plan a move to another model", "warning"))
        return _dedupe(problems)

    def _kind_problems(self, model: Model, request: dict) -> list[Problem]:
        kind = request.setdefault("kind", model.kind)
        if kind == model.kind:
            return []
        return [Problem("model", f"{model.id} makes {model.kind}s, not {kind}s",
                        f"use --model with {'an image' if kind == 'image' else 'a video'} model, e.g. "
                        f"{self._default_or_none(kind, request['backend']) or 'another model'}")]

    @staticmethod
    def _caps(model: Model, backend: str, mode: str | None) -> dict:
        caps = model.capabilities_for(backend)
        overrides = (caps.get("by_mode") or {}).get(mode) if mode else None
        return _deep_merge(caps, overrides) if overrides else caps

    def _rule_problems(self, model: Model, backend: str, request: Mapping[str, Any]) -> list[Problem]:
        problems = []
        for rule in model.constraints:
            if not rule.applies(request):
                continue
            failing = rule.failing(request)
            if not failing:
                continue
            blamed = rule.field or failing[0]
            values = {"model": model.id, "backend": backend, "field": blamed,
                      "value": _show(request.get(blamed))}
            problems.append(Problem(blamed, _format(rule.message, values), _format(rule.fix, values),
                                    rule.severity, rule.id))
        return problems

    def _generic_problems(self, model: Model, backend: str, caps: dict,
                          request: Mapping[str, Any]) -> list[Problem]:
        ctx = _Ctx(self, model, backend, caps, request)
        problems: list[Problem] = []
        for name in _CHOICES:
            problems += ctx.choice(name)
        for name in _MAXIMA:
            problems += ctx.maximum(name)
        problems += ctx.total_references()
        problems += ctx.count()
        problems += ctx.audio()
        problems += ctx.extension()
        for name in SUPPORT_FIELDS:
            problems += ctx.supported(name)
        return problems

    def offers(self, model: Model, backend: str, name: str, value: Any,
               context: Mapping[str, Any] | None = None) -> bool:
        """True if ``model`` on ``backend`` accepts ``name=value`` (generic checks only).

        ``context`` carries fields that change the limits, such as ``mode``.
        """
        entry = model.backends.get(backend)
        if entry is None or not entry.served:
            return False
        request = {**(context or {}), "kind": model.kind, "model": model.id, "backend": backend, name: value}
        mode = request.get("mode") or ("text_to_video" if model.kind == "video" else None)
        ctx = _Ctx(self, model, backend, self._caps(model, backend, mode), request, hints=False)
        checks = {**{n: ctx.choice for n in _CHOICES}, **{n: ctx.maximum for n in _MAXIMA},
                  "count": lambda _n: ctx.count(), "generate_audio": lambda _n: ctx.audio()}
        check = checks.get(name, ctx.supported)
        return not [p for p in check(name) if p.severity == "error"]

    def where_offered(self, model: Model, backend: str, name: str, value: Any,
                      context: Mapping[str, Any] | None = None) -> str:
        """A short hint naming a backend or model that accepts ``name=value`` ("" if none)."""
        for other in model.served_on():
            if other != backend and self.offers(model, other, name, value, context):
                return f"--backend {other} (it is offered there)"
        for other in (backend, *[b for b in BACKENDS if b != backend]):
            # Prefer the same family (Imagen for Imagen, Veo for Veo) in suggestions.
            candidates = sorted(self._alternatives(model.kind, other), key=lambda m: m.family != model.family)
            for candidate in candidates:
                if candidate.id != model.id and self.offers(candidate, other, name, value, context):
                    prefix = "" if other == backend else f"--backend {other} "
                    return f"{prefix}--model {candidate.id} (it offers it)"
        return ""

    def _alternatives(self, kind: str, backend: str) -> list[Model]:
        """Models of a kind that are fully served on ``backend`` (not deprecated, not allowlisted)."""
        found = []
        for model in self.models(kind):
            entry = model.backends.get(backend)
            if entry and entry.status in ("ga", "preview") and not entry.allowlist:
                found.append(model)
        return found

    # ---- cost

    def enforce(self, request: Mapping[str, Any], warn: Any) -> None:
        """Validate; pass warnings to ``warn(text)`` and raise ``ValidationError`` listing every error."""
        problems = self.validate(request)
        fatal = [p for p in problems if p.severity == "error"]
        for problem in problems:
            if problem.severity != "error":
                warn(f"{problem.message} ({problem.fix})" if problem.fix else problem.message)
        if fatal:
            raise ValidationError(f"request not valid for {request.get('model')} on {request.get('backend')}: "
                                  f"{fatal[0].message}", "; ".join(p.fix for p in fatal if p.fix),
                                  problems=fatal)

    def estimate(self, request: Mapping[str, Any]) -> CostEstimate:
        """List-price estimate: count x per-image price, or count x seconds x per-second price."""
        backend = request.get("backend") or "gemini-api"
        model = self.get(request.get("model") or "") if request.get("model") else None
        if model is None and not request.get("model") and backend in BACKENDS:
            model = self.get(self._default_or_none(request.get("kind") or "image", backend) or "")
        if model is None:
            name = request.get("model")
            return CostEstimate(None, None, int(request.get("count") or 1), _unit(request.get("kind")),
                                notes=[f"model {name!r} is not in the catalog: no price"])
        pricing = model.pricing_for(backend)
        mode = request.get("mode") or ("text_to_video" if model.kind == "video" else None)
        caps = self._caps(model, backend, mode)
        if not pricing or pricing.get("priced") is False:
            return CostEstimate(None, None, _count(request, caps), _unit(model.kind),
                                notes=[f"{model.id} has no price on {backend} in the catalog"])
        if model.kind == "image":
            return _estimate_image(model, pricing, caps, request)
        return _estimate_video(model, pricing, caps, request, mode)

    def cheapest_alternative(self, request: Mapping[str, Any]) -> tuple[str, dict, CostEstimate] | None:
        """A cheaper valid model and/or setting for the same kind and backend.

        Returns ``(model_id, changes, estimate)`` where ``changes`` holds only the
        request keys that differ; None if nothing valid is cheaper.
        """
        current = self.estimate(request)
        backend = request.get("backend") or "gemini-api"
        model = self.get(request.get("model") or "") if request.get("model") else None
        if not current.priced or current.usd is None or model is None or backend not in BACKENDS:
            return None
        best: tuple[float, int, str, dict, CostEstimate] | None = None
        for candidate, changes in self._variants(model, backend, request):
            trial = {**request, **changes}
            if any(p.severity == "error" for p in self.validate(trial)):
                continue
            cost = self.estimate(trial)
            if not cost.priced or cost.usd is None or cost.usd >= current.usd - 1e-9:
                continue
            key = (cost.usd, len(changes), candidate.id, changes, cost)
            if best is None or key[:2] < best[:2]:
                best = key
        return (best[2], best[3], best[4]) if best else None

    def _variants(self, model: Model, backend: str, request: Mapping[str, Any]) -> Iterable[tuple[Model, dict]]:
        """Candidate (model, changes) pairs: other models, cheaper resolutions or sizes."""
        setting = "resolution" if model.kind == "video" else "image_size"
        floor = {"resolution": "720p", "image_size": "1K"}[setting]
        current = request.get(setting)
        for candidate in self._alternatives(model.kind, backend):
            values = self._caps(candidate, backend, request.get("mode")).get(
                "resolutions" if setting == "resolution" else "image_sizes") or []
            options: list[Any] = [None] + [v for v in values if _rank(v) >= _rank(floor) or v == current]
            for value in options:
                changes: dict[str, Any] = {}
                if candidate.id != model.id:
                    changes["model"] = candidate.id
                if value is not None and value != current:
                    changes[setting] = value
                if changes:
                    yield candidate, changes


# --------------------------------------------------------------------------- generic checks

class _Ctx:
    """Generic capability checks for one request against one model on one backend."""

    def __init__(self, catalog: Catalog, model: Model, backend: str, caps: dict,
                 request: Mapping[str, Any], hints: bool = True) -> None:
        self.catalog, self.model, self.backend, self.caps = catalog, model, backend, caps
        self.request, self.hints = request, hints
        self.where = catalog.backend_label(backend)

    def _alt(self, name: str, value: Any) -> str:
        if not self.hints:
            return ""
        context = {"mode": self.request["mode"]} if self.request.get("mode") else None
        hint = self.catalog.where_offered(self.model, self.backend, name, value, context)
        return f", or use {hint}" if hint else ""

    def _not_supported(self, name: str, value: Any) -> Problem:
        message = f"{self.model.id} does not accept {LABELS[name]} on {self.where}"
        return Problem(name, message, f"drop {FLAGS[name]}{self._alt(name, value)}")

    def choice(self, name: str) -> list[Problem]:
        value = self.request.get(name)
        if value is None or value == "":
            return []
        allowed = list(self.caps.get(_CHOICES[name]) or [])
        if not allowed:
            return [self._not_supported(name, value)]
        if _member(value, allowed):
            return []
        shown = ", ".join(_show(v) for v in allowed)
        message = (f"{LABELS[name]} {_show(value)} is not offered by {self.model.id} on {self.where}; "
                   f"choose one of {shown}")
        if name == "mode":
            fix = ("give the inputs of a listed mode (--image, --last-frame, --reference-image, --extend)"
                   + self._alt(name, value))
        else:
            fix = f"use {FLAGS[name]} {_show(_nearest(value, allowed))}{self._alt(name, value)}"
        return [Problem(name, message, fix)]

    def maximum(self, name: str) -> list[Problem]:
        value = self.request.get(name)
        if not _given(value):
            return []
        path = _MAXIMA[name]
        limit = _dig(self.caps, path)
        limit = 0 if limit is None else limit
        if _number(value) <= limit:
            return []
        if limit == 0:
            return [self._not_supported(name, value)]
        message = f"{self.model.id} takes at most {limit} {LABELS[name]} on {self.where}; {_show(value)} given"
        return [Problem(name, message, f"give at most {limit} {FLAGS[name]}{self._alt(name, value)}")]

    def total_references(self) -> list[Problem]:
        total = _dig(self.caps, ("max_reference_images", "total"))
        given = _number(self.request.get("reference_assets") or 0) + _number(self.request.get("reference_styles") or 0)
        if total is None or given <= total:
            return []
        return [Problem("reference_assets", f"{self.model.id} takes at most {total} reference images in all; "
                        f"{_show(given)} given", f"give at most {total} --reference-image")]

    def count(self) -> list[Problem]:
        value = self.request.get("count")
        if value is None:
            return []
        bounds = self.caps.get("count") or {"min": 1, "max": 1}
        low, high = bounds.get("min", 1), bounds.get("max", 1)
        if low <= _number(value) <= high:
            return []
        span = f"{low}" if low == high else f"{low}-{high}"
        message = f"count {_show(value)} is not offered by {self.model.id} on {self.where}; choose {span}"
        return [Problem("count", message, f"use --count {high if _number(value) > high else low}"
                        f"{self._alt('count', value)}")]

    def audio(self) -> list[Problem]:
        value = self.request.get("generate_audio")
        if value is None:
            return []
        audio = self.caps.get("generate_audio") or {"settable": False, "default": False}
        if audio.get("settable") or bool(value) == bool(audio.get("default")):
            return []
        if audio.get("default"):
            message = f"{self.model.id} always generates audio on {self.where}; it cannot be turned off"
            fix = f"drop --no-audio (ask for silence in the prompt){self._alt('generate_audio', value)}"
        else:
            message = f"{self.model.id} makes silent video; it cannot generate audio"
            fix = f"drop --generate-audio{self._alt('generate_audio', value)}"
        return [Problem("generate_audio", message, fix)]

    def extension(self) -> list[Problem]:
        source = self.request.get("source_seconds")
        ext = self.caps.get("extension")
        if source is None or self.request.get("mode") != "extend" or not ext:
            return []
        problems = []
        bounds = ext.get("source_seconds") or {}
        if bounds and not (bounds.get("min", 0) <= _number(source) <= bounds.get("max", math.inf)):
            problems.append(Problem("source_seconds", f"{self.model.id} extends clips of "
                                    f"{_show(bounds.get('min', 0))}-{_show(bounds.get('max'))} s on {self.where}; "
                                    f"this one is {_show(source)} s", "trim the clip before --extend"))
        added = ext.get("adds_seconds") or self.request.get("duration") or \
            (self.caps.get("defaults") or {}).get("duration") or 0
        total = _number(source) + _number(added)
        limit, soft = ext.get("max_total_seconds"), ext.get("warn_total_seconds")
        if limit and total > limit:
            problems.append(Problem("source_seconds", f"extending a {_show(source)} s clip by {_show(added)} s "
                                    f"gives {_show(total)} s; {self.model.id} stops at {_show(limit)} s",
                                    "use a shorter --duration, or extend a shorter clip"))
        elif soft and total > soft:
            problems.append(Problem("source_seconds", f"{_show(total)} s in all may be over {self.model.id}'s "
                                    f"extension limit (30 s per some sources; UNCERTAIN)",
                                    "keep the total under 30 s if the API refuses it", "warning"))
        return problems

    def supported(self, name: str) -> list[Problem]:
        value = self.request.get(name)
        # For toggles, an explicit false is a setting too (--no-watermark), so it must be supported.
        if not _given(value) and not (name in _TOGGLES and value is not None):
            return []
        support = (self.caps.get("supports") or {}).get(name, False)
        if support is True:
            return []
        if isinstance(support, list) and support:
            if _member(value, support):
                return []
            shown = ", ".join(_show(v) for v in support)
            message = (f"{LABELS[name]} {_show(value)} is not offered by {self.model.id} on {self.where}; "
                       f"choose one of {shown}")
            return [Problem(name, message, f"use {FLAGS[name]} {_show(support[0])}{self._alt(name, value)}")]
        return [self._not_supported(name, value)]


# --------------------------------------------------------------------------- cost helpers

def _unit(kind: str | None) -> str:
    return "video" if kind == "video" else "image"


def _count(request: Mapping[str, Any], caps: dict) -> int:
    value = request.get("count") or (caps.get("defaults") or {}).get("count") or 1
    return int(value)


def _price_meta(pricing: dict, key: str, notes: list[str]) -> None:
    """Add the UNCERTAIN note for a priced key (or the whole table)."""
    if pricing.get("uncertain") or key in (pricing.get("uncertain_keys") or []):
        notes.append(f"UNCERTAIN price ({key}): {pricing.get('notes') or 'see the catalog'}")
    elif pricing.get("notes"):
        notes.append(pricing["notes"])


def _finish(usd: float, per_item: float, items: int, unit: str, breakdown: list[dict], pricing: dict,
            request: Mapping[str, Any], notes: list[str]) -> CostEstimate:
    discount = pricing.get("batch_discount")
    batch_usd = round(usd * (1 - discount), 6) if discount else None
    if request.get("batch"):
        if batch_usd is None:
            notes.append("no batch discount applies on this backend")
        else:
            notes.append(f"Batch API price ({int(discount * 100)}% off)")
            usd, per_item = batch_usd, round(per_item * (1 - discount), 6)
    return CostEstimate(round(usd, 6), round(per_item, 6), items, unit, breakdown, pricing.get("as_of"),
                        pricing.get("source"), batch_usd, True, notes)


def _estimate_image(model: Model, pricing: dict, caps: dict, request: Mapping[str, Any]) -> CostEstimate:
    items = _count(request, caps)
    sizes = caps.get("image_sizes") or []
    size = (request.get("image_size") or (caps.get("defaults") or {}).get("image_size")
            or (sizes[0] if sizes else "default"))
    table = pricing.get("per_image") or {}
    price = table.get(size, table.get("default"))
    notes: list[str] = []
    if price is None:
        return CostEstimate(None, None, items, "image", notes=[f"no {model.id} price for image size {size}"],
                            as_of=pricing.get("as_of"), source=pricing.get("source"))
    _price_meta(pricing, size, notes)
    per_item = price
    breakdown = [{"item": "output image", "image_size": size, "count": items, "usd_each": price,
                  "usd": round(price * items, 6)}]
    inputs = int(request.get("input_images") or 0)
    if inputs and pricing.get("input_image"):
        # Each output image is its own request, so the inputs are sent (and billed) every time.
        extra = inputs * pricing["input_image"]
        per_item += extra
        breakdown.append({"item": "input images", "count": inputs * items, "usd_each": pricing["input_image"],
                          "usd": round(extra * items, 6)})
    elif inputs:
        notes.append("input images are billed as input tokens, not included")
    return _finish(per_item * items, per_item, items, "image", breakdown, pricing, request, notes)


def _estimate_video(model: Model, pricing: dict, caps: dict, request: Mapping[str, Any],
                    mode: str | None) -> CostEstimate:
    items = _count(request, caps)
    defaults = caps.get("defaults") or {}
    resolution = request.get("resolution") or defaults.get("resolution") or "720p"
    ext = caps.get("extension") or {}
    seconds = request.get("duration") or defaults.get("duration") or 8
    if mode == "extend" and ext.get("adds_seconds"):
        seconds = ext["adds_seconds"]       # an extension bills the added seconds
    notes: list[str] = []
    rate, line = _per_second(pricing, resolution, request, notes)
    if rate is None:
        return CostEstimate(None, None, items, "video",
                            notes=[f"no {model.id} price for {resolution}"],
                            as_of=pricing.get("as_of"), source=pricing.get("source"))
    per_item = rate * float(seconds)
    line.update({"resolution": resolution, "seconds": seconds, "count": items,
                 "usd_per_second": round(rate, 6), "usd": round(per_item * items, 6)})
    return _finish(per_item * items, per_item, items, "video", [line], pricing, request, notes)


def _per_second(pricing: dict, resolution: str, request: Mapping[str, Any],
                notes: list[str]) -> tuple[float | None, dict]:
    """The per-second rate for a resolution (token-derived where the catalog gives tokens)."""
    tokens = pricing.get("video_tokens") or {}
    per_second_tokens = (tokens.get("per_second") or {}).get(resolution)
    if per_second_tokens:
        _price_meta(pricing, resolution, notes)
        rate = per_second_tokens * tokens["usd_per_million"] / 1_000_000
        return rate, {"item": "video output tokens", "tokens_per_second": per_second_tokens,
                      "usd_per_million_tokens": tokens["usd_per_million"]}
    if request.get("generate_audio") is False and resolution in (pricing.get("per_second_without_audio") or {}):
        _price_meta(pricing, resolution, notes)
        return pricing["per_second_without_audio"][resolution], {"item": "video seconds (no audio)"}
    rate = (pricing.get("per_second") or {}).get(resolution)
    if rate is None:
        return None, {}
    if request.get("generate_audio") is False:
        notes.append("no without-audio price in the catalog; the with-audio price is used")
    _price_meta(pricing, resolution, notes)
    return rate, {"item": "video seconds"}


# --------------------------------------------------------------------------- rule helpers

def _given(value: Any) -> bool:
    """'present' in the rule language: not missing, null, false, 0 or ''."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return False
    return True


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if a == b:
        return True
    return str(a).strip().lower() == str(b).strip().lower()


def _member(value: Any, allowed: Iterable[Any]) -> bool:
    return any(_same(value, item) for item in allowed)


def _number(value: Any) -> float:
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


def _holds(condition: Any, value: Any, *, strict: bool) -> bool:
    """Evaluate one condition.  ``strict`` (for ``when``): value tests on a missing field are false;
    otherwise (``require``) they pass, because the server's default applies."""
    missing = value is None
    for op, arg in _as_ops(condition).items():
        if op == "present":
            ok = _given(value) == bool(arg)
        elif op == "absent":
            ok = (not _given(value)) == bool(arg)
        elif op == "not_in":
            ok = missing or not _member(value, arg)
        elif missing:
            ok = not strict
        elif op == "in":
            ok = _member(value, arg)
        elif op == "equals":
            ok = _same(value, arg)
        elif op == "min":
            ok = _number(value) >= arg
        elif op == "max":
            ok = _number(value) <= arg
        else:
            raise CatalogError(f"unknown rule operator {op!r}")
        if not ok:
            return False
    return True


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _format(template: str, values: Mapping[str, Any]) -> str:
    try:
        return template.format_map(_Blank(values))
    except (ValueError, IndexError):
        return template


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _nearest(value: Any, allowed: list[Any]) -> Any:
    """The allowed value closest to ``value`` (numerically when both are numbers)."""
    target = _number(value)
    numeric = [a for a in allowed if not math.isnan(_number(a))]
    if not math.isnan(target) and numeric:
        return min(numeric, key=lambda a: (abs(_number(a) - target), -_number(a)))
    return allowed[0]


def _rank(value: Any) -> float:
    """Order resolutions and image sizes: 360p < 720p < 1080p < 4k, and 512 < 1K < 2K < 4K."""
    text = str(value).lower()
    if text.endswith("p"):
        return _number(text[:-1])
    return {"512": 0.5, "1k": 1000, "2k": 2000, "4k": 4000}.get(text, math.inf)


def _dig(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, unique = set(), []
    for problem in problems:
        key = (problem.field, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValidationError(f"unknown backend {backend!r}", f"use --backend with one of: {', '.join(BACKENDS)}")


# --------------------------------------------------------------------------- loading helpers

def _deep_merge(base: Any, over: Any) -> Any:
    """Maps merge key by key; anything else in ``over`` replaces ``base``."""
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        merged = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in over.items():
            merged[key] = _deep_merge(merged.get(key), value) if key in merged else copy.deepcopy(value)
        return merged
    return copy.deepcopy(over)


def _read_yaml(path: Path, what: str) -> dict:
    return read_mapping(path, error=CatalogError, what=what, shape_hint="see presets/models.yaml for the shape")


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
    merged = _deep_merge(data, {k: v for k, v in override.items() if k != "models"})
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
            models[index[key]] = _deep_merge(models[index[key]], item)
        else:
            models.append(copy.deepcopy(item))
    merged["models"] = models
    return merged


_SCHEMA_CACHE: dict[str, Any] = {}


def _validate_schema_once(data: dict, label: str, sources: list[Path], cache_dir: Path | None) -> None:
    """Schema-check the catalog, skipping the check (and the jsonschema import) when these exact
    files already passed it: a marker named after their content hash sits in the user cache."""
    digest = hashlib.sha256()
    for source in [*sources, SCHEMA_PATH]:
        digest.update(source.read_bytes())
    if cache_dir is None:
        _validate_schema(data, label)
        return
    marker = cache_dir / f"catalog-valid-{digest.hexdigest()[:32]}"
    if marker.exists():
        return
    _validate_schema(data, label)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass     # a read-only cache only costs the check next time


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


def _build_rules(raw: list[dict]) -> list[Rule]:
    return [Rule(r["id"], r.get("when") or {}, r["require"], r["severity"], r["message"], r["fix"],
                 r.get("field"), bool(r.get("uncertain"))) for r in raw]


def _build_models(data: dict, label: str) -> list[Model]:
    rule_sets = data.get("rule_sets") or {}
    models = []
    for index, raw in enumerate(data["models"]):
        rules: list[Rule] = []
        for name in raw.get("rule_sets") or []:
            if name not in rule_sets:
                raise CatalogError(f"{label}: models[{index}]({raw['id']}).rule_sets: unknown rule set {name!r}",
                                   f"define it under rule_sets: (known: {', '.join(rule_sets)})")
            rules += _build_rules(rule_sets[name])
        rules += _build_rules(raw.get("constraints") or [])
        ids = [r.id for r in rules]
        if len(ids) != len(set(ids)):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise CatalogError(f"{label}: models[{index}]({raw['id']}): rule {dup!r} is listed twice",
                               "remove the duplicate rule or rule set")
        backends = {name: BackendEntry(name, e["id"], e["surface"], e["status"], tuple(e.get("locations") or ()),
                                       e.get("shutdown"), e.get("replacement"), e.get("notes"),
                                       bool(e.get("allowlist")), bool(e.get("uncertain")))
                    for name, e in raw["backends"].items()}
        models.append(Model(raw["id"], raw["kind"], raw["family"], raw["display_name"],
                            tuple(raw.get("aliases") or ()), backends, raw.get("capabilities") or {},
                            tuple(rules), raw.get("pricing") or {}, raw.get("backend_capabilities") or {},
                            raw.get("unavailable_on") or {}, raw.get("notes"), tuple(raw.get("sources") or ()),
                            _uncertain_paths(raw.get("uncertain"))))
    return models


def _uncertain_paths(value: Any) -> tuple[str, ...]:
    if value is True:
        return ("*",)
    return tuple(value or ())


def _check_references(catalog: Catalog, label: str) -> None:
    """Cross-field checks a JSON Schema cannot express."""
    problems = _name_problems(catalog) + _replacement_problems(catalog) + _default_problems(catalog)
    if problems:
        where, message = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise CatalogError(f"{label}: {where}: {message}{more}", "fix the catalog entry",
                           details={"file": label, "path": where})


def _name_problems(catalog: Catalog) -> list[tuple[str, str]]:
    problems, seen = [], {}
    for model in catalog.models():
        for name in (model.id, *model.aliases):
            key = name.lower()
            if key in seen:
                problems.append((f"models({model.id})", f"name {name!r} is also used by {seen[key]}"))
            seen[key] = model.id
    return problems


def _replacement_problems(catalog: Catalog) -> list[tuple[str, str]]:
    problems = []
    for model in catalog.models():
        for backend, entry in model.backends.items():
            where = f"models({model.id}).backends.{backend}.replacement"
            if not entry.replacement:
                continue
            target = catalog.get(entry.replacement)
            if target is None:
                problems.append((where, f"unknown model {entry.replacement!r}"))
            elif not target.served_on():
                problems.append((where, f"{target.id} is not served anywhere"))
            elif target.kind != model.kind:
                problems.append((where, f"{target.id} is a {target.kind} model"))
        for backend, info in model.unavailable_on.items():
            alternative = info.get("alternative")
            if alternative and backend not in getattr(catalog.get(alternative), "served_on", lambda: [])():
                problems.append((f"models({model.id}).unavailable_on.{backend}.alternative",
                                 f"{alternative!r} is not served on {backend}"))
        for rule in model.constraints:
            unknown = rule.fields() - set(VOCABULARY)
            if unknown:
                problems.append((f"models({model.id}) rule {rule.id}", f"unknown fields {sorted(unknown)}"))
    return problems


def _default_problems(catalog: Catalog) -> list[tuple[str, str]]:
    problems = []
    for kind, table in (catalog._data.get("defaults") or {}).items():
        for backend, name in table.items():
            model = catalog.get(name)
            where = f"defaults.{kind}.{backend}"
            if model is None:
                problems.append((where, f"unknown model {name!r}"))
            elif model.kind != kind:
                problems.append((where, f"{model.id} is a {model.kind} model"))
            elif backend not in model.served_on():
                problems.append((where, f"{model.id} is not served on {backend}"))
    return problems
