"""Image generation: plan (validate, price), then run (send, save, record).

``plan_images`` does everything that costs nothing: settings, backend choice,
model resolution, catalog validation, the cost estimate and the exact
requests. ``run_images`` sends them with bounded concurrency, saves every
image atomically with its sidecar, and reconciles the cost in the ledger. One
failed or blocked request never loses the others.
"""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mediagen import __version__
from mediagen.config.credentials import BackendChoice, choose_backend
from mediagen.config.settings import Layer, Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.resources import script_command
from mediagen.ops.inputs import load_image
from mediagen.wire.common import MediaInput
from mediagen.ops.ledger import describe_cost, ledger_for
from mediagen.ops.output import OutputPlan, Sidecar, release, write_sidecar
from mediagen.ops.targets import model_method_url, resolve_model
from mediagen.ops.transcode import save_as, wanted_type
from mediagen.transport.http import HttpRequest, Transport
from mediagen.wire import cliproxy as cliproxy_wire
from mediagen.wire import gemini as gemini_wire
from mediagen.wire import imagen as imagen_wire
from mediagen.wire.blobs import read_json_stream
from mediagen.wire.common import GenerationOutcome

DEFAULT_OUTPUT_DIR = "generated_images"
DEFAULT_CONCURRENCY = 4
IMAGEN_MAX_PER_CALL = 4
MAX_COUNT = 64                      # beyond this, batch_gen.py is the right tool
# Largest inline image each backend accepts (Vertex: 7 MB per image; the Gemini API allows 100 MB per
# request, kept lower here so several inputs still fit).
INLINE_LIMITS = {"vertex": 7 * 1024 * 1024, "gemini-api": 20 * 1024 * 1024, "cliproxy": 20 * 1024 * 1024}
PARAM_KEYS = ("model", "aspect_ratio", "image_size", "count", "negative_prompt", "seed", "person_generation",
              "output_mime", "thinking_level", "output", "output_dir", "location", "concurrency")
BLOCK_HINT = ("Rephrase the prompt: describe the scene without the flagged element (real people, violence, "
              "brands, minors), or try another model. Blocked requests may still bill input tokens.")


@dataclass
class ImagePlan:
    """A validated, priced image run; nothing has been sent yet."""

    prompt: str
    settings: Settings
    choice: BackendChoice
    model_id: str
    wire_id: str
    surface: str
    location: str | None
    request: dict[str, Any]            # the normalized request the catalog validated
    inputs: list[MediaInput]
    estimate: Any
    http_requests: list[HttpRequest] = field(default_factory=list)
    images_per_call: list[int] = field(default_factory=list)
    output: OutputPlan | None = None
    per_call: int = 1

    def describe(self) -> dict[str, Any]:
        return {"backend": self.choice.describe(), "model": self.model_info(),
                "location": self.location, "cost": self.cost(None)}

    def model_info(self) -> dict[str, Any]:
        return {"id": self.model_id, "wire_id": self.wire_id, "surface": self.surface}

    def cost(self, actual: float | None) -> dict[str, Any]:
        est = self.estimate
        return {"estimate_usd": est.usd, "actual_usd": actual, "priced": est.priced, "as_of": est.as_of,
                "source": est.source, "per_item_usd": est.per_item_usd}


def plan_images(prompt: str, settings: Settings, catalog: Any, console: Console, *,
                preset: Any = None, transport: Transport | None = None, load_inputs: bool = True,
                estimate_only: bool = False) -> ImagePlan:
    """Resolve, validate and price an image request, and build its HTTP requests.

    ``estimate_only`` skips loading inputs and accepts a missing credential
    (nothing will be sent).
    """
    choice = choose_backend(settings, kind="image", require_credential=not estimate_only)
    load_inputs = load_inputs and not estimate_only
    console.info_once(f"backend {choice.backend}: {choice.reason}")
    if preset is not None:
        settings = settings.with_layers([Layer(f"preset:{preset.name}", preset.values_for(choice.backend))])
    model_name = settings.get("model") or catalog.default_model("image", choice.backend)
    settings = settings.with_defaults({"model": model_name, "count": 1,
                                       "output_dir": DEFAULT_OUTPUT_DIR}, "catalog")
    resolution = resolve_model(catalog, settings, choice.backend, console)
    model_id = resolution.model.id if resolution.model else resolution.wire_id
    surface = _surface(resolution, choice.backend)
    location = _location(settings, catalog, model_id, choice, console) if choice.backend == "vertex" else None
    sources = list(settings.get("images") or [])
    request = _normalized(settings, choice.backend, model_id, len(sources))
    total = request["count"]
    if total > MAX_COUNT:
        raise errors.UsageError(f"--count {total} is more than {MAX_COUNT} images in one run",
                                f"Use {script_command('batch_gen.py')} for large runs (resumable, and 50% cheaper "
                                "through the Batch API where the model allows it).")
    per_call = _per_call_limit(resolution.model, choice.backend, surface)
    # The catalog's count is per API call; --count is the total, split into calls below.
    catalog.enforce({**request, "count": min(total, per_call)}, console.warn)
    estimate = catalog.estimate(request)
    plan = ImagePlan(prompt, settings, choice, model_id, resolution.wire_id, surface, location, request, [],
                     estimate, per_call=per_call)
    if load_inputs:
        limit = INLINE_LIMITS[choice.backend]
        plan.inputs = [load_image(s, transport=transport, allow_gcs=choice.backend == "vertex", max_bytes=limit)
                       for s in sources]
        for item in plan.inputs:
            for note in item.notes:
                console.info(f"input {item.source}: {note}")
    _build_requests(plan)
    return plan


def _per_call_limit(model: Any, backend: str, surface: str) -> int:
    """Images one API call can return: Imagen's sampleCount limit; one for Gemini models and the proxy."""
    if surface != "predict":
        return 1
    bounds = (model.capabilities_for(backend).get("count") if model is not None else None) or {}
    return int(bounds.get("max", IMAGEN_MAX_PER_CALL))


def _surface(resolution: Any, backend: str) -> str:
    if backend == "cliproxy":
        return "chat-completions"
    if resolution.entry is not None:
        return resolution.entry.surface
    return "predict" if "imagen" in resolution.wire_id else "generateContent"


def _location(settings: Settings, catalog: Any, model_id: str, choice: BackendChoice, console: Console) -> str:
    """The Vertex location: the model's own unless the user chose one it allows."""
    allowed = _allowed_locations(catalog, model_id)
    wanted, source = settings.get("location"), settings.source("location")
    default = catalog.default_location(model_id, "vertex") or "us-central1"
    if not wanted:
        return default
    if allowed and wanted not in allowed:
        if source == "cli":
            raise errors.ValidationError(f"{model_id} is served on Vertex only in {', '.join(allowed)}",
                                         f"Use --location {allowed[0]} (or drop --location).")
        console.warn(f"{model_id} is served only in {', '.join(allowed)}; using {default} instead of "
                     f"{wanted} (from {source})")
        return default
    return wanted


def _allowed_locations(catalog: Any, model_id: str) -> tuple[str, ...]:
    model = catalog.get(model_id)
    entry = model.backends.get("vertex") if model else None
    return tuple(entry.locations) if entry and entry.locations else ()


def _normalized(settings: Settings, backend: str, model_id: str, n_inputs: int) -> dict[str, Any]:
    """The request in the catalog's vocabulary (absent keys were not given)."""
    request: dict[str, Any] = {"kind": "image", "model": model_id, "backend": backend,
                               "count": int(settings["count"]), "input_images": n_inputs}
    for key in ("aspect_ratio", "person_generation", "thinking_level", "output_mime"):
        if settings.get(key):
            request[key] = settings[key]
    if settings.get("image_size"):
        request["image_size"] = normalize_image_size(settings["image_size"])
    if settings.get("negative_prompt"):
        request["negative_prompt"] = True
    if settings.get("seed") is not None:
        request["seed"] = True
    return request


def normalize_image_size(value: Any) -> str:
    """``2k`` -> ``2K``: the API requires the upper-case K (``"1k"`` is rejected)."""
    text = str(value).strip()
    return text[:-1] + "K" if text.lower().endswith("k") else text


def _build_requests(plan: ImagePlan) -> None:
    """One HTTP request per image (Gemini models, proxy) or per batch of up to 4 (Imagen)."""
    s, count = plan.settings, int(plan.settings["count"])
    prompt = plan.prompt
    if s.get("negative_prompt") and plan.surface != "predict":
        prompt = f"{prompt}\n\nAvoid: {s['negative_prompt']}"   # Gemini image models have no negative field
    if plan.surface == "predict":
        method, calls = "predict", _chunks(count, plan.per_call)
        size = plan.request.get("image_size")
        bodies = [imagen_wire.build_request(prompt, count=n, aspect_ratio=s.get("aspect_ratio"),
                                            image_size=size, negative_prompt=s.get("negative_prompt"),
                                            seed=s.get("seed"), person_generation=s.get("person_generation"),
                                            output_mime=s.get("output_mime")) for n in calls]
    elif plan.surface == "chat-completions":
        method, calls = "chat", [1] * count
        body = cliproxy_wire.build_request(plan.wire_id, prompt, plan.inputs, aspect_ratio=s.get("aspect_ratio"),
                                           image_size=plan.request.get("image_size"))
        bodies = [body] * count
    else:
        method, calls = "generateContent", [1] * count
        body = gemini_wire.build_request(prompt, plan.inputs, backend=plan.choice.backend,
                                         aspect_ratio=s.get("aspect_ratio"), image_size=plan.request.get("image_size"),
                                         person_generation=s.get("person_generation"),
                                         output_mime=s.get("output_mime"), thinking_level=s.get("thinking_level"),
                                         seed=s.get("seed"))
        bodies = [body] * count
    url = model_method_url(plan.choice, plan.settings, plan.wire_id, method, plan.location)
    plan.http_requests = [HttpRequest("POST", url, headers={"Content-Type": "application/json"}, json=b,
                                      billable=True, label=f"{plan.wire_id}:{method}") for b in bodies]
    plan.images_per_call = calls


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - i) for i in range(0, total, size)]


# -- running ------------------------------------------------------------------

@dataclass
class CallResult:
    """What one HTTP call produced."""

    index: int
    outcome: GenerationOutcome | None = None
    error: errors.MediagenError | None = None
    seconds: float = 0.0


def run_images(plan: ImagePlan, transport_factory: Callable[[], Transport], console: Console,
               output_target: str | None = None) -> dict[str, Any]:
    """Send every request, save results, record the ledger; return the stdout document's fields."""
    settings = plan.settings
    plan.output = OutputPlan(output_target or settings.get("output"), settings["output_dir"], plan.prompt, "image")
    ledger = ledger_for(settings)
    run_id = uuid.uuid4().hex[:12]
    console.info(f"estimated cost: {describe_cost(plan.estimate)}")
    ledger.append({"run_id": run_id, "command": "image_gen", "status": "submitted", "model": plan.model_id,
                   "backend": plan.choice.backend, "items": int(settings["count"]),
                   "estimate_usd": plan.estimate.usd})
    started = time.monotonic()
    results = _send_all(plan, transport_factory, console)
    saved, failures, blocked = _save_all(plan, results, console, started)
    actual = _actual_cost(plan, saved, results)
    status = "succeeded" if saved and not failures and not blocked else ("blocked" if blocked and not saved
                                                                         and not failures else "partial")
    if not saved and failures:
        status = "failed"
    ledger.append_final({"run_id": run_id, "command": "image_gen", "status": status, "model": plan.model_id,
                         "backend": plan.choice.backend, "items": len(saved), "estimate_usd": plan.estimate.usd,
                         "actual_usd": actual, "files": [str(img["path"]) for img in saved]},
                        settings.get("max_cost"), console)
    document = {"images": saved, "backend": plan.choice.describe(), "model": plan.model_info(),
                "cost": plan.cost(actual), "run_id": run_id}
    if plan.location:
        document["location"] = plan.location
    console.info(f"actual cost: ${actual:.4f}" if actual is not None else "actual cost: unpriced")
    if failures or blocked:
        error = _run_error(document, failures, blocked)
        if plan.choice.backend == "cliproxy" and isinstance(error, errors.NetworkError):
            error.hint = (f"CLIProxyAPI does not answer at {plan.choice.credential.auth.url}: start it (ccs, or "
                          "cli-proxy-api -config config.yaml) or set CLIPROXY_URL to where it listens.")
        raise error
    return document


def _send_all(plan: ImagePlan, transport_factory: Callable[[], Transport], console: Console) -> list[CallResult]:
    workers = max(1, min(len(plan.http_requests), int(plan.settings.get("concurrency") or DEFAULT_CONCURRENCY)))
    total = len(plan.http_requests)

    def call(index: int) -> CallResult:
        transport = transport_factory()
        began = time.monotonic()
        request = plan.http_requests[index]
        try:
            with transport.send(request, plan.choice.credential.auth, stream=True) as response:
                doc = read_json_stream(response.iter_content(1 << 20))
            outcome = _parse(plan.surface, doc)
            console.info(f"request {index + 1}/{total} answered in {time.monotonic() - began:.1f}s")
            return CallResult(index, outcome=outcome, seconds=time.monotonic() - began)
        except errors.MediagenError as exc:
            console.info(f"request {index + 1}/{total} failed: {exc.message}")
            return CallResult(index, error=exc, seconds=time.monotonic() - began)

    if workers == 1:
        return [call(i) for i in range(total)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(call, range(total)))


def _parse(surface: str, doc: dict[str, Any]) -> GenerationOutcome:
    if surface == "predict":
        return imagen_wire.parse_response(doc)
    if surface == "chat-completions":
        return cliproxy_wire.parse_response(doc)
    return gemini_wire.parse_response(doc)


def _save_all(plan: ImagePlan, results: list[CallResult], console: Console,
              started: float) -> tuple[list[dict[str, Any]], list[CallResult], list[CallResult]]:
    saved: list[dict[str, Any]] = []
    failures = [r for r in results if r.error]
    blocked = [r for r in results if r.outcome is not None and r.outcome.blocked]
    numbered = int(plan.settings["count"]) > 1
    counter = 0
    for result in results:
        if result.outcome is None or result.outcome.blocked:
            continue
        for payload in result.outcome.media:
            counter += 1
            wanted = wanted_type(plan.output.requested_suffix)        # -o NAME.jpg keeps its format
            path = plan.output.reserve(wanted or payload.mime_type, counter if numbered else None)
            try:
                info = save_as(payload, path, wanted, console.warn)
            except BaseException:
                release([path])
                raise
            info["sidecar"] = str(write_sidecar(path, _sidecar(plan, result, info, started)))
            console.info(f"saved {path} ({info['width']}x{info['height']}, {info['mime_type']})")
            saved.append(info)
    return saved, failures, blocked


def _sidecar(plan: ImagePlan, result: CallResult, info: dict[str, Any], started: float) -> Sidecar:
    outcome = result.outcome
    assert outcome is not None
    return Sidecar.of(
        mediagen_version=__version__, kind="image",
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        file=Path(info["path"]).name, mime_type=info["mime_type"], width=info["width"],
        height=info["height"], bytes=info["bytes"], sha256=info["sha256"],
        prompt=plan.prompt, negative_prompt=plan.settings.get("negative_prompt"),
        model={**plan.model_info(), "requested": plan.settings["model"], "model_version": outcome.model_version},
        backend=plan.choice.describe(), location=plan.location,
        parameters=plan.settings.show([k for k in PARAM_KEYS if k not in ("output", "output_dir")]),
        inputs=[item.describe() for item in plan.inputs],
        usage=outcome.usage, response_id=outcome.response_id, text=outcome.text or None,
        cost={**plan.cost(_per_image_actual(plan)), "basis": "catalog price per generated image"},
        safety={"finish_reason": outcome.finish_reason, "blocked": False,
                "thought_images_skipped": outcome.skipped_thoughts},
        timings={"request_s": round(result.seconds, 3), "since_start_s": round(time.monotonic() - started, 3)},
    )


def _per_image_actual(plan: ImagePlan) -> float | None:
    return plan.estimate.per_item_usd if plan.estimate.priced else None


def _actual_cost(plan: ImagePlan, saved: list[dict[str, Any]], results: list[CallResult]) -> float | None:
    """Bill as Google does: per generated image; blocked calls count their input tokens only."""
    if not plan.estimate.priced:
        return None
    per_image = plan.estimate.per_item_usd or 0.0
    input_price = _input_token_price(plan)
    blocked_input = 0.0
    for result in results:
        if result.outcome is not None and result.outcome.blocked and input_price:
            tokens = gemini_wire.prompt_token_count(result.outcome.usage)
            blocked_input += tokens * input_price / 1_000_000
    return round(per_image * len(saved) + blocked_input, 6)


def _input_token_price(plan: ImagePlan) -> float | None:
    pricing = getattr(plan.estimate, "input_per_million_tokens", None)
    return pricing if isinstance(pricing, (int, float)) else None


def _run_error(document: dict[str, Any], failures: list[CallResult],
               blocked: list[CallResult]) -> errors.MediagenError:
    """One error for the run; the saved images travel with it in the JSON document."""
    if failures:
        first = failures[0].error
        assert first is not None
        error = first
        if document["images"] or blocked:
            error.hint = (f"{len(document['images'])} image(s) were saved; {len(failures)} request(s) failed. "
                          + error.hint)
    else:
        reasons = sorted({r.outcome.reason() for r in blocked if r.outcome})
        error = errors.GenerationBlocked(f"no image returned: {'; '.join(reasons)}", BLOCK_HINT,
                                         reason=reasons[0] if reasons else None,
                                         details={"blocked_requests": len(blocked),
                                                  "texts": [r.outcome.text for r in blocked
                                                            if r.outcome and r.outcome.text][:3]})
    error.partial = document
    return error
