"""Checking requests: the generic per-capability checks and the explicit rules of each model.

Requests are checked in one **normalized form**: a flat dict whose absent keys
mean "not given" (see ``VOCABULARY``).  Validation returns every problem at
once; each names the request field, says what is wrong with the allowed values
listed, and phrases the fix as CLI flags (``FLAGS``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from mediagen.catalog import limits
from mediagen.catalog.conditions import given, member, number
from mediagen.catalog.data import BACKENDS, FLAGS, VOCABULARY, CatalogData, Model, mode_capabilities
from mediagen.catalog.lifecycle import alternatives, default_model, default_or_none, lifecycle_warning, unavailable
from mediagen.core.errors import ValidationError

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
# The history fields only price a continued conversation; whether it may continue is checked where it is built.
_SPECIAL = set(_CHOICES) | set(_MAXIMA) | {"kind", "model", "backend", "count", "generate_audio",
                                           "source_seconds", "history_images", "history_tokens"}
SUPPORT_FIELDS = tuple(name for name in VOCABULARY if name not in _SPECIAL)
# Boolean fields whose false value is itself a request (the server default is true).
_TOGGLES = frozenset({"add_watermark", "enhance_prompt"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: the field, what is wrong, and the CLI fix."""

    field: str
    message: str
    fix: str
    severity: str = "error"
    rule: str = ""        # the rule id for explicit constraints; "" for generic checks


# --------------------------------------------------------------------------- validate

def validate(catalog: CatalogData, request: Mapping[str, Any]) -> list[Problem]:
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
            name = default_model(catalog, request.get("kind") or "image", backend)
        except ValidationError as exc:      # e.g. no video model on the proxy
            return [Problem("backend", exc.message, exc.hint)]
    model = catalog.get(name)
    if model is None:
        return []
    request.update(model=model.id, backend=backend)
    return _model_problems(catalog, model, backend, request)


def _model_problems(catalog: CatalogData, model: Model, backend: str, request: dict) -> list[Problem]:
    """The problems of a request for a known model (``request`` names the model and backend)."""
    entry = model.backends.get(backend)
    if entry is None or not entry.served:
        message, hint = unavailable(catalog, model, backend)
        return [Problem("model", message, hint)]
    problems = _kind_problems(catalog, model, request)
    if problems:
        return problems
    if model.kind == "video":
        request.setdefault("mode", "text_to_video")
    caps = mode_capabilities(model, backend, request.get("mode"))
    problems += _generic_problems(catalog, model, backend, caps, request)
    problems += _rule_problems(model, backend, request)
    warning = lifecycle_warning(catalog, model, entry)
    if warning:
        problems.append(Problem("model", warning, f"use --model {entry.replacement}" if entry.replacement
                                else "plan a move to another model", "warning"))
    return _dedupe(problems)


def _kind_problems(catalog: CatalogData, model: Model, request: dict) -> list[Problem]:
    kind = request.setdefault("kind", model.kind)
    if kind == model.kind:
        return []
    return [Problem("model", f"{model.id} makes {model.kind}s, not {kind}s",
                    f"use --model with {'an image' if kind == 'image' else 'a video'} model, e.g. "
                    f"{default_or_none(catalog, kind, request['backend']) or 'another model'}")]


def _rule_problems(model: Model, backend: str, request: Mapping[str, Any]) -> list[Problem]:
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


def _generic_problems(catalog: CatalogData, model: Model, backend: str, caps: dict,
                      request: Mapping[str, Any]) -> list[Problem]:
    ctx = _Ctx(catalog, model, backend, caps, request)
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


def enforce(catalog: CatalogData, request: Mapping[str, Any], warn: Callable[[str], Any]) -> None:
    """Validate; pass warnings to ``warn(text)`` and raise ``ValidationError`` listing every error."""
    problems = validate(catalog, request)
    fatal = [p for p in problems if p.severity == "error"]
    for problem in problems:
        if problem.severity != "error":
            warn(f"{problem.message} ({problem.fix})" if problem.fix else problem.message)
    if fatal:
        raise ValidationError(f"request not valid for {request.get('model')} on {request.get('backend')}: "
                              f"{fatal[0].message}", "; ".join(p.fix for p in fatal if p.fix),
                              problems=fatal)


# --------------------------------------------------------------------------- where a setting is offered

def offers(catalog: CatalogData, model: Model, backend: str, name: str, value: Any,
           context: Mapping[str, Any] | None = None) -> bool:
    """True if ``model`` on ``backend`` accepts ``name=value`` (generic checks only).

    ``context`` carries fields that change the limits, such as ``mode``.
    """
    entry = model.backends.get(backend)
    if entry is None or not entry.served:
        return False
    request = {**(context or {}), "kind": model.kind, "model": model.id, "backend": backend, name: value}
    mode = request.get("mode") or ("text_to_video" if model.kind == "video" else None)
    ctx = _Ctx(catalog, model, backend, mode_capabilities(model, backend, mode), request, hints=False)
    checks = {**{n: ctx.choice for n in _CHOICES}, **{n: ctx.maximum for n in _MAXIMA},
              "count": lambda _n: ctx.count(), "generate_audio": lambda _n: ctx.audio()}
    check = checks.get(name, ctx.supported)
    return not [p for p in check(name) if p.severity == "error"]


def where_offered(catalog: CatalogData, model: Model, backend: str, name: str, value: Any,
                  context: Mapping[str, Any] | None = None) -> str:
    """A short hint naming a backend or model that accepts ``name=value`` ("" if none)."""
    for other in model.served_on():
        if other != backend and offers(catalog, model, other, name, value, context):
            return f"--backend {other} (it is offered there)"
    for other in (backend, *[b for b in BACKENDS if b != backend]):
        # Prefer the same family (Imagen for Imagen, Veo for Veo) in suggestions.
        candidates = sorted(alternatives(catalog, model.kind, other), key=lambda m: m.family != model.family)
        for candidate in candidates:
            if candidate.id != model.id and offers(catalog, candidate, other, name, value, context):
                prefix = "" if other == backend else f"--backend {other} "
                return f"{prefix}--model {candidate.id} (it offers it)"
    return ""


def allowlisted_offer(catalog: CatalogData, model: Model, backend: str, name: str, value: Any,
                      context: Mapping[str, Any] | None = None) -> str:
    """A model on ``backend`` that offers ``name=value`` only to allow-listed projects, with that caveat ("" if none).

    ``where_offered`` never suggests such models; they are named beside it (style references and the full
    mask set are on ``veo-2.0-generate-exp`` only).
    """
    for candidate in catalog.models(model.kind):
        entry = candidate.backends.get(backend)
        if candidate.id == model.id or entry is None or not entry.allowlist or not entry.served:
            continue
        if offers(catalog, candidate, backend, name, value, context):
            caveat = "allow-listed projects only; it may be gone" if entry.uncertain else "allow-listed projects only"
            return f"--model {candidate.id} ({caveat})"
    return ""


# --------------------------------------------------------------------------- generic checks

class _Ctx:
    """Generic capability checks for one request against one model on one backend."""

    def __init__(self, catalog: CatalogData, model: Model, backend: str, caps: dict,
                 request: Mapping[str, Any], hints: bool = True) -> None:
        self.catalog, self.model, self.backend, self.caps = catalog, model, backend, caps
        self.request, self.hints = request, hints
        self.where = catalog.backend_label(backend)

    def _alt(self, name: str, value: Any) -> str:
        if not self.hints:
            return ""
        context = {"mode": self.request["mode"]} if self.request.get("mode") else None
        hints = [where_offered(self.catalog, self.model, self.backend, name, value, context),
                 allowlisted_offer(self.catalog, self.model, self.backend, name, value, context)]
        hints = [hint for hint in hints if hint]
        return ", or use " + ", or ".join(hints) if hints else ""

    def _limit_note(self, name: str) -> str:
        """Where an uncertain per-model limit behind a refusal comes from, and how to lift it ("" otherwise)."""
        return limits.refusal_note(self.model.id, self.model.limits, name, self.request.get("mode"))

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
        if member(value, allowed):
            return []
        shown = ", ".join(_show(v) for v in allowed)
        message = (f"{LABELS[name]} {_show(value)} is not offered by {self.model.id} on {self.where}; "
                   f"choose one of {shown}{self._limit_note(name)}")
        if name == "mode":
            fix = ("give the inputs of a listed mode (--image, --last-frame, --reference-image, --extend-video)"
                   + self._alt(name, value))
        else:
            fix = f"use {FLAGS[name]} {_show(_nearest(value, allowed))}{self._alt(name, value)}"
        return [Problem(name, message, fix)]

    def maximum(self, name: str) -> list[Problem]:
        value = self.request.get(name)
        if not given(value):
            return []
        path = _MAXIMA[name]
        limit = _dig(self.caps, path)
        limit = 0 if limit is None else limit
        if number(value) <= limit:
            return []
        if limit == 0:
            return [self._not_supported(name, value)]
        message = (f"{self.model.id} takes at most {limit} {LABELS[name]} on {self.where}; {_show(value)} given"
                   f"{self._limit_note(name)}")
        return [Problem(name, message, f"give at most {limit} {FLAGS[name]}{self._alt(name, value)}")]

    def total_references(self) -> list[Problem]:
        total = _dig(self.caps, ("max_reference_images", "total"))
        given_count = (number(self.request.get("reference_assets") or 0)
                       + number(self.request.get("reference_styles") or 0))
        if total is None or given_count <= total:
            return []
        return [Problem("reference_assets", f"{self.model.id} takes at most {total} reference images in all; "
                        f"{_show(given_count)} given{self._limit_note('reference_assets')}",
                        f"give at most {total} --reference-image")]

    def count(self) -> list[Problem]:
        value = self.request.get("count")
        if value is None:
            return []
        bounds = self.caps.get("count") or {"min": 1, "max": 1}
        low, high = bounds.get("min", 1), bounds.get("max", 1)
        if low <= number(value) <= high:
            return []
        span = f"{low}" if low == high else f"{low}-{high}"
        message = f"count {_show(value)} is not offered by {self.model.id} on {self.where}; choose {span}"
        return [Problem("count", message, f"use --count {high if number(value) > high else low}"
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
        return self._source_length(source, ext) + self._extended_length(source, ext)

    def _source_length(self, source: Any, ext: dict) -> list[Problem]:
        """The clip to extend must be within the model's source length bounds."""
        bounds = ext.get("source_seconds") or {}
        if not bounds or bounds.get("min", 0) <= number(source) <= bounds.get("max", math.inf):
            return []
        return [Problem("source_seconds", f"{self.model.id} extends clips of "
                        f"{_show(bounds.get('min', 0))}-{_show(bounds.get('max'))} s on {self.where}; "
                        f"this one is {_show(source)} s", "trim the clip before --extend-video")]

    def _extended_length(self, source: Any, ext: dict) -> list[Problem]:
        """The clip plus what the extension adds must stay under the model's total limit."""
        added = ext.get("adds_seconds") or self.request.get("duration") or \
            (self.caps.get("defaults") or {}).get("duration") or 0
        total = number(source) + number(added)
        limit, soft = ext.get("max_total_seconds"), ext.get("warn_total_seconds")
        if limit and total > limit:
            return [Problem("source_seconds", f"extending a {_show(source)} s clip by {_show(added)} s "
                            f"gives {_show(total)} s; {self.model.id} stops at {_show(limit)} s"
                            f"{self._limit_note('source_seconds')}",
                            "use a shorter --duration, or extend a shorter clip")]
        if soft and total > soft:
            return [Problem("source_seconds", f"{_show(total)} s in all may be over {self.model.id}'s "
                            f"extension limit ({_show(soft)} s per some sources; UNCERTAIN)",
                            f"keep the total under {_show(soft)} s if the API refuses it", "warning")]
        return []

    def supported(self, name: str) -> list[Problem]:
        value = self.request.get(name)
        # For toggles, an explicit false is a setting too (--no-watermark), so it must be supported.
        if not given(value) and not (name in _TOGGLES and value is not None):
            return []
        support = (self.caps.get("supports") or {}).get(name, False)
        if support is True:
            return []
        if isinstance(support, list) and support:
            if member(value, support):
                return []
            shown = ", ".join(_show(v) for v in support)
            message = (f"{LABELS[name]} {_show(value)} is not offered by {self.model.id} on {self.where}; "
                       f"choose one of {shown}")
            return [Problem(name, message, f"use {FLAGS[name]} {_show(support[0])}{self._alt(name, value)}")]
        return [self._not_supported(name, value)]


# --------------------------------------------------------------------------- message helpers

class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _format(template: str, values: Mapping[str, Any]) -> str:
    try:
        return template.format_map(_Blank(values))
    except (ValueError, IndexError):
        return template


def _show(value: Any) -> str:
    """A value as messages print it (8.0 -> "8", True -> "yes")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:xX×/,_ -]\s*(\d+(?:\.\d+)?)\s*$")


def _nearest(value: Any, allowed: list[Any]) -> Any:
    """The allowed value closest to ``value`` in meaning.

    The same value spelt another way first (``16x9`` or ``16/9`` -> ``16:9``, ``2k`` -> ``2K``, ``1080`` ->
    ``1080p``), then the closest ratio, then the closest number; else the first allowed value.
    """
    spelt = {_spelling(a): a for a in allowed}
    if _spelling(value) in spelt:
        return spelt[_spelling(value)]
    target, ratios = _ratio(value), [(a, _ratio(a)) for a in allowed]
    if target and all(r for _, r in ratios):
        return min(ratios, key=lambda pair: abs(math.log(pair[1] / target)))[0]
    number_of = {a: number(str(a).lower().removesuffix("p")) for a in allowed}
    numeric = [a for a, n in number_of.items() if not math.isnan(n)]
    target = number(str(value).lower().removesuffix("p"))
    if not math.isnan(target) and numeric:
        return min(numeric, key=lambda a: (abs(number_of[a] - target), -number_of[a]))
    return allowed[0]


def _spelling(value: Any) -> str:
    """A value with case, spaces, a trailing ``p`` and ratio separators ignored (``16 X 9`` -> ``16:9``)."""
    ratio = _RATIO.match(str(value))
    if ratio:
        return f"{_show(number(ratio.group(1)))}:{_show(number(ratio.group(2)))}"
    return str(value).strip().lower().removesuffix("p")


def _ratio(value: Any) -> float | None:
    """``"16:9"`` (or ``16x9``) as 1.777..., None for anything that is not a ratio of two positive numbers."""
    found = _RATIO.match(str(value))
    if not found or not number(found.group(1)) or not number(found.group(2)):
        return None
    return number(found.group(1)) / number(found.group(2))


def rank(value: Any) -> float:
    """Order resolutions and image sizes: 360p < 720p < 1080p < 4k, and 512 < 1K < 2K < 4K."""
    text = str(value).lower()
    if text.endswith("p"):
        return number(text[:-1])
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
