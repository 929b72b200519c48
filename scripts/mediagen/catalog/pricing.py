"""Pricing: list-price estimates from the catalog, and the cheapest valid alternative."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from mediagen.catalog.conditions import holds
from mediagen.catalog.data import BACKENDS, CatalogData, Model, mode_capabilities
from mediagen.catalog.lifecycle import alternatives, default_or_none
from mediagen.catalog.rules import rank, validate


@dataclass
class CostEstimate:
    """What a request should cost, from catalog list prices.

    ``usd`` is the likely figure; ``max_usd`` the worst case where the catalog
    is unsure how the request is billed (``pricing.uncertain_billing``), else
    the same figure. Caps and approval compare ``max_usd``.
    """

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
    max_usd: float | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict (``max_usd`` only when the estimate is priced)."""
        doc = asdict(self)
        if doc["max_usd"] is None:
            del doc["max_usd"]
        return doc


# History pricing without catalog figures: the dearest documented input rate (Gemini 3 Pro Image, $2 / 1M) and
# the largest documented per-image input size (1120 tokens, Gemini 3 "high" media resolution).
DEFAULT_INPUT_USD_PER_MILLION = 2.0
DEFAULT_INPUT_IMAGE_TOKENS = 1120


def worst_usd(estimate: Any) -> float:
    """An estimate's worst case (its likely figure where billing is certain; 0 when unpriced)."""
    worst = getattr(estimate, "max_usd", None)
    return float(worst if worst is not None else estimate.usd or 0.0)


def estimate(catalog: CatalogData, request: Mapping[str, Any]) -> CostEstimate:
    """List-price estimate: count x per-image price, or count x seconds x per-second price."""
    backend = request.get("backend") or "gemini-api"
    model = catalog.get(request.get("model") or "") if request.get("model") else None
    if model is None and not request.get("model") and backend in BACKENDS:
        model = catalog.get(default_or_none(catalog, request.get("kind") or "image", backend) or "")
    if model is None:
        name = request.get("model")
        return CostEstimate(None, None, int(request.get("count") or 1), _unit(request.get("kind")),
                            notes=[f"model {name!r} is not in the catalog: no price"])
    pricing = model.pricing_for(backend)
    mode = request.get("mode") or ("text_to_video" if model.kind == "video" else None)
    caps = mode_capabilities(model, backend, mode)
    if not pricing or pricing.get("priced") is False:
        return CostEstimate(None, None, _count(request, caps), _unit(model.kind),
                            notes=[f"{model.id} has no price on {backend} in the catalog"])
    if model.kind == "image":
        return _estimate_image(model, pricing, caps, request)
    return _estimate_video(model, pricing, caps, request, mode)


def cheapest_alternative(catalog: CatalogData, request: Mapping[str, Any]) -> tuple[str, dict, CostEstimate] | None:
    """A cheaper valid model and/or setting for the same kind and backend.

    Returns ``(model_id, changes, estimate)`` where ``changes`` holds only the
    request keys that differ; None if nothing valid is cheaper.
    """
    current = estimate(catalog, request)
    backend = request.get("backend") or "gemini-api"
    model = catalog.get(request.get("model") or "") if request.get("model") else None
    if not current.priced or current.usd is None or model is None or backend not in BACKENDS:
        return None
    best: tuple[float, int, str, dict, CostEstimate] | None = None
    for candidate, changes in _variants(catalog, model, backend, request):
        trial = {**request, **changes}
        if any(p.severity == "error" for p in validate(catalog, trial)):
            continue
        cost = estimate(catalog, trial)
        if not cost.priced or cost.usd is None or cost.usd >= current.usd - 1e-9:
            continue
        key = (cost.usd, len(changes), candidate.id, changes, cost)
        if best is None or key[:2] < best[:2]:
            best = key
    return (best[2], best[3], best[4]) if best else None


def _variants(catalog: CatalogData, model: Model, backend: str,
              request: Mapping[str, Any]) -> Iterable[tuple[Model, dict]]:
    """Candidate (model, changes) pairs: other models, cheaper resolutions or sizes."""
    setting = "resolution" if model.kind == "video" else "image_size"
    floor = {"resolution": "720p", "image_size": "1K"}[setting]
    current = request.get(setting)
    for candidate in alternatives(catalog, model.kind, backend):
        values = mode_capabilities(candidate, backend, request.get("mode")).get(
            "resolutions" if setting == "resolution" else "image_sizes") or []
        options: list[Any] = [None] + [v for v in values if rank(v) >= rank(floor) or v == current]
        for value in options:
            changes: dict[str, Any] = {}
            if candidate.id != model.id:
                changes["model"] = candidate.id
            if value is not None and value != current:
                changes[setting] = value
            if changes:
                yield candidate, changes


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
    usd = round(usd, 6)
    return CostEstimate(usd, round(per_item, 6), items, unit, breakdown, pricing.get("as_of"),
                        pricing.get("source"), batch_usd, True, notes, usd)


def _worst_case(estimate: CostEstimate, pricing: dict, request: Mapping[str, Any],
                clip_factor: float | None = None) -> CostEstimate:
    """Price the worst reading of every uncertain billing rule that applies (``max_usd``), each with a note.

    ``clip_factor`` is how many times the likely figure the whole returned clip would cost (videos only).
    """
    factor = 1.0
    for rule in pricing.get("uncertain_billing") or []:
        if not all(holds(cond, request.get(name), strict=True) for name, cond in (rule.get("when") or {}).items()):
            continue
        rule_factor = clip_factor if rule.get("worst_case") == "returned_clip" else rule.get("factor")
        if rule_factor is None:
            continue
        factor = max(factor, float(rule_factor))
        worst = round((estimate.usd or 0.0) * float(rule_factor), 6)
        estimate.notes.append(f"UNCERTAIN billing ({rule['id']}): {rule['note']}; the worst case, ${worst:.4f}, "
                              "is what a max cost and approval compare")
    if estimate.usd is not None:
        estimate.max_usd = round(estimate.usd * factor, 6)
    return estimate


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
    per_item += _input_image_cost(pricing, request, items, breakdown, notes)
    per_item += _history_cost(pricing, request, items, breakdown, notes)
    return _worst_case(_finish(per_item * items, per_item, items, "image", breakdown, pricing, request, notes),
                       pricing, request)


def _input_image_cost(pricing: dict, request: Mapping[str, Any], items: int, breakdown: list[dict],
                      notes: list[str]) -> float:
    """The per-item price of the input images (0 when they are not priced per image)."""
    inputs = int(request.get("input_images") or 0)
    if inputs and pricing.get("input_image"):
        # Each output image is its own request, so the inputs are sent (and billed) every time.
        extra = inputs * pricing["input_image"]
        breakdown.append({"item": "input images", "count": inputs * items, "usd_each": pricing["input_image"],
                          "usd": round(extra * items, 6)})
        return extra
    if inputs:
        notes.append("input images are billed as input tokens, not included")
    return 0


def _history_cost(pricing: dict, request: Mapping[str, Any], items: int, breakdown: list[dict],
                  notes: list[str]) -> float:
    """The per-item price of the earlier turns a continued conversation re-sends, as input tokens.

    Every call re-sends the whole history: its text and every image in it (the model's own images included)
    are billed as input tokens. Without a catalog input price the most expensive documented one is used.
    """
    images = int(request.get("history_images") or 0)
    tokens = int(request.get("history_tokens") or 0) + images * int(pricing.get("input_image_tokens")
                                                                    or DEFAULT_INPUT_IMAGE_TOKENS)
    if not tokens:
        return 0.0
    rate = pricing.get("usd_per_million_input_tokens")
    if rate is None or pricing.get("input_uncertain"):
        rate = rate if rate is not None else DEFAULT_INPUT_USD_PER_MILLION
        notes.append("UNCERTAIN input price for the re-sent history: "
                     + (pricing.get("input_notes") or f"no catalog figure; ${rate:.2f} / 1M tokens assumed"))
    usd = tokens * float(rate) / 1_000_000
    breakdown.append({"item": "history re-sent (input tokens)", "images": images, "tokens": tokens,
                      "count": items, "usd_per_million_tokens": rate, "usd": round(usd * items, 6)})
    return usd


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
    estimate = _finish(per_item * items, per_item, items, "video", [line], pricing, request, notes)
    return _worst_case(estimate, pricing, request, _returned_clip_factor(request, ext, float(seconds)))


def _returned_clip_factor(request: Mapping[str, Any], ext: dict, seconds: float) -> float | None:
    """An extension billed as the whole clip it returns, over one billed as its new seconds.

    The clip is the source plus the new seconds; when the source's length is unknown, the longest clip
    the model returns (None when the catalog does not say either).
    """
    if request.get("mode") != "extend" or seconds <= 0:
        return None
    source = request.get("source_seconds")
    if isinstance(source, (int, float)) and not isinstance(source, bool) and source > 0:
        return (float(source) + seconds) / seconds
    longest = ext.get("max_total_seconds")
    return max(1.0, float(longest) / seconds) if longest else None


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

