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
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mediagen import __version__
from mediagen.config.credentials import BackendChoice, choose_backend
from mediagen.config.settings import Layer, Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.resources import script_command
from mediagen.ops import conversations
from mediagen.ops.inputs import load_image
from mediagen.wire.common import MediaInput
from mediagen.core.files import describe_os_error
from mediagen.ops.ledger import Ledger, describe_cost, ledger_for
from mediagen.ops import uploads
from mediagen.core.errors import may_have_started
from mediagen.ops.output import OutputPlan, Sidecar, extension_for, release, write_sidecar
from mediagen.ops.payloads import write_payload
from mediagen.ops.preflight import check_before_paying
from mediagen.ops.rescue import paid_not_saved, rescue
from mediagen.ops.targets import model_method_url, resolve_model
from mediagen.ops.transcode import save_as, wanted_type
from mediagen.transport.http import HttpRequest, Transport
from mediagen.wire import cliproxy as cliproxy_wire
from mediagen.wire import gemini as gemini_wire
from mediagen.wire import imagen as imagen_wire
from mediagen.wire import replies
from mediagen.wire.common import GenerationOutcome, MediaPayload

DEFAULT_OUTPUT_DIR = "generated_images"
DEFAULT_CONCURRENCY = 4
IMAGEN_MAX_PER_CALL = 4
MAX_COUNT = 64                      # beyond this, batch_gen.py is the right tool
# Inputs the proxy cannot take inline are downscaled to fit; the Gemini API and Vertex upload them instead
# (ops.uploads: the Files API, or the gcs_bucket).
DOWNSCALE_ABOVE = {"cliproxy": 20 * 1024 * 1024}
PARAM_KEYS = ("model", "aspect_ratio", "image_size", "count", "negative_prompt", "seed", "person_generation",
              "output_mime", "thinking_level", "output", "output_dir", "location", "concurrency")
REPLY_SHAPES = {"predict": replies.IMAGEN_PREDICT, "chat-completions": replies.CHAT_COMPLETIONS,
                "generateContent": replies.GENERATE_CONTENT}
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
    conversation: Any = None           # the turn a --continue run continues (ops.conversations)
    recorder: Any = None               # records each result as a session turn (set by the use case)

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
    settings, conversation = conversations.continue_image(settings)
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
    conversations.prepare_request(conversation, request, surface)
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
                     estimate, per_call=per_call, conversation=conversation)
    if load_inputs:
        limit = DOWNSCALE_ABOVE.get(choice.backend)
        plan.inputs = [load_image(s, transport=transport, allow_gcs=choice.backend == "vertex", max_bytes=limit)
                       for s in sources]
        for item in plan.inputs:
            for note in item.notes:
                console.info(f"input {item.source}: {note}")
        uploads.plan_uploads(plan.inputs, choice.backend, settings)
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
        body = gemini_wire.with_history(body, plan.conversation.history if plan.conversation else [])
        bodies = [body] * count
    url = model_method_url(plan.choice, plan.settings, plan.wire_id, method, plan.location)
    plan.http_requests = [HttpRequest("POST", url, headers={"Content-Type": "application/json"}, json=b,
                                      billable=True, label=f"{plan.wire_id}:{method}") for b in bodies]
    plan.images_per_call = calls


def stage_inputs(plan: ImagePlan, transport: Transport, console: Console) -> None:
    """Upload the inputs that go by reference (once, see ``ops.uploads``) and build the requests around them."""
    if uploads.stage(plan.inputs, plan.choice, plan.settings, transport, console):
        _build_requests(plan)


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


@dataclass
class Unsaved:
    """A paid image whose destination failed: where it was meant to go, why, and its rescued copy (if any)."""

    target: Path
    error: OSError
    rescued: Path | None
    identity: str


@dataclass
class Saving:
    """Every call's fate: images saved, calls failed or blocked, paid images that could not be saved."""

    saved: list[dict[str, Any]] = field(default_factory=list)
    failures: list[CallResult] = field(default_factory=list)
    blocked: list[CallResult] = field(default_factory=list)
    unsaved: list[Unsaved] = field(default_factory=list)

    def status(self) -> str:
        """The ledger status of the run: ``unknown`` when Google may bill a call whose result never arrived."""
        if self.unsaved:
            return "paid_not_saved"
        if self.possibly_billed():
            return "unknown"
        if self.saved and not self.failures and not self.blocked:
            return "succeeded"
        if self.blocked and not self.saved and not self.failures:
            return "blocked"
        return "failed" if not self.saved and self.failures else "partial"

    def possibly_billed(self) -> bool:
        """Whether a failed call may still have been billed (a timeout, a dropped connection, a 5xx, a bad reply)."""
        return any(r.error is not None and may_have_started(r.error) for r in self.failures)


def run_images(plan: ImagePlan, transport_factory: Callable[[], Transport], console: Console,
               output_target: str | None = None) -> dict[str, Any]:
    """Send every request, save results, record the ledger; return the stdout document's fields."""
    settings = plan.settings
    plan.output = OutputPlan(output_target or settings.get("output"), settings["output_dir"], plan.prompt, "image")
    ledger = ledger_for(settings)
    check_before_paying(output=plan.output.folder, ledger=ledger.path)
    stage_inputs(plan, transport_factory(), console)
    run_id = secrets.token_hex(6)              # 12 hex digits, as the job ids (uuid imports platform: ~2 ms)
    console.info(f"estimated cost: {describe_cost(plan.estimate)}")
    ledger.append({"run_id": run_id, "command": "image_gen", "status": "submitted", "model": plan.model_id,
                   "backend": plan.choice.backend, "items": int(settings["count"]),
                   "estimate_usd": plan.estimate.usd})
    started = time.monotonic()
    results = _send_all(plan, transport_factory, console, run_id)
    saving = _save_all(plan, results, console, started, run_id)
    known = _actual_cost(plan, len(saving.saved) + len(saving.unsaved), results)
    actual = None if saving.status() == "unknown" else known
    document = {"images": saving.saved, "backend": plan.choice.describe(), "model": plan.model_info(),
                "cost": plan.cost(actual), "run_id": run_id}
    if plan.location:
        document["location"] = plan.location
    ledger_error = _final_ledger(ledger, plan, run_id, saving, actual, known, console)
    console.info(f"actual cost: ${actual:.4f}" if actual is not None else
                 "actual cost: unknown (a request may be billed without a result)" if known is not None
                 else "actual cost: unpriced")
    error = _run_error(plan, document, saving)
    if ledger_error is not None and error is not None:
        error.details = {**(error.details if isinstance(error.details, dict) else {}), "ledger": ledger_error}
    if error is not None:
        raise error
    return document


def _final_ledger(ledger: Ledger, plan: ImagePlan, run_id: str, saving: Saving, actual: float | None,
                  known: float | None, console: Console) -> str | None:
    """The run's final ledger line; a ledger that cannot be written (a full disk) is reported, not fatal.

    When a call may be billed without a result the cost is ``unknown`` (``actual_usd: null``) and
    ``known_usd`` holds what the saved images cost.
    """
    entry = {"run_id": run_id, "command": "image_gen", "status": saving.status(), "model": plan.model_id,
             "backend": plan.choice.backend, "items": len(saving.saved) + len(saving.unsaved),
             "estimate_usd": plan.estimate.usd, "actual_usd": actual,
             "files": [str(img["path"]) for img in saving.saved]}
    if actual is None and known is not None:
        entry["known_usd"] = known
    if saving.unsaved:
        entry["rescued"] = [str(u.rescued) for u in saving.unsaved if u.rescued]
    try:
        ledger.append_final(entry, plan.settings.get("max_cost"), console)
    except OSError as exc:
        return f"the final ledger line could not be written to {ledger.path}: {describe_os_error(exc)}"
    return None


def _send_all(plan: ImagePlan, transport_factory: Callable[[], Transport], console: Console,
              run_id: str) -> list[CallResult]:
    workers = max(1, min(len(plan.http_requests), int(plan.settings.get("concurrency") or DEFAULT_CONCURRENCY)))
    total = len(plan.http_requests)

    def call(index: int) -> CallResult:
        began = time.monotonic()
        try:
            outcome = _call(plan, transport_factory(), index, _subject(plan, run_id, index, total))
        except errors.MediagenError as exc:
            console.info(f"request {index + 1}/{total} failed: {exc.message}")
            return CallResult(index, error=exc, seconds=time.monotonic() - began)
        except OSError as exc:          # the reply could not even be spooled (a full disk): paid, then lost
            error = paid_not_saved(f"the reply to request {index + 1}/{total}", Path(tempfile.gettempdir()), exc,
                                   [], identity=_identity(run_id, index, total), recover=_RECOVER.format(run_id))
            return CallResult(index, error=error, seconds=time.monotonic() - began)
        console.info(f"request {index + 1}/{total} answered in {time.monotonic() - began:.1f}s")
        return CallResult(index, outcome=outcome, seconds=time.monotonic() - began)

    if workers == 1:
        return [call(i) for i in range(total)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(call, range(total)))


def _call(plan: ImagePlan, transport: Transport, index: int, subject: replies.Subject) -> GenerationOutcome:
    """Send one (billable) request; check and parse its answer."""
    with transport.stream_body(plan.http_requests[index], plan.choice.credential.auth) as body:
        doc = replies.read_reply(body, REPLY_SHAPES[plan.surface], subject)
    return _parse(plan.surface, doc)


def _subject(plan: ImagePlan, run_id: str, index: int, total: int) -> replies.Subject:
    """How an unusable answer to request ``index`` is named, and what the user can do about it."""
    return replies.Subject(
        f"{_identity(run_id, index, total)} ({plan.http_requests[index].label})",
        f"The image cannot be fetched again: Google may bill this request, and the ledger records it as unknown "
        f"(run {run_id}). Check your usage (AI Studio or the Cloud console) before generating a replacement.")


def _identity(run_id: str, index: int, total: int) -> str:
    return f"run {run_id}, request {index + 1} of {total}"


_RECOVER = ("Google cannot send the image again; the ledger records it as billed (run {}), so check it before "
            "generating a replacement.")


def _parse(surface: str, doc: dict[str, Any]) -> GenerationOutcome:
    if surface == "predict":
        return imagen_wire.parse_response(doc)
    if surface == "chat-completions":
        return cliproxy_wire.parse_response(doc)
    return gemini_wire.parse_response(doc)


def _save_all(plan: ImagePlan, results: list[CallResult], console: Console, started: float,
              run_id: str) -> Saving:
    """Save every returned image; a paid image whose destination fails goes to the rescue folder."""
    saving = Saving(failures=[r for r in results if r.error],
                    blocked=[r for r in results if r.outcome is not None and r.outcome.blocked])
    numbered = int(plan.settings["count"]) > 1
    counter = 0
    for result in results:
        if result.outcome is None or result.outcome.blocked:
            continue
        for payload in result.outcome.media:
            counter += 1
            index = counter if numbered else None
            try:
                saving.saved.append(_save_image(plan, result, payload, index, started, console))
            except errors.BadReply as exc:          # paid for, but not the image it claims to be
                subject = _subject(plan, run_id, result.index, len(results))
                saving.failures.append(CallResult(result.index, error=replies.possibly_billed(exc.message, subject)))
            except OSError as exc:
                identity = _identity(run_id, result.index, len(results))
                saving.unsaved.append(_rescue_image(plan, payload, index, exc, identity, console))
    return saving


def _save_image(plan: ImagePlan, result: CallResult, payload: MediaPayload, index: int | None, started: float,
                console: Console) -> dict[str, Any]:
    """Write one image under a reserved name, then its sidecar."""
    assert plan.output is not None
    wanted = wanted_type(plan.output.requested_suffix)        # -o NAME.jpg keeps its format
    path = plan.output.reserve(wanted or payload.mime_type, index)
    try:
        info = save_as(payload, path, wanted, console.warn)
    except BaseException:
        release([path])
        raise
    session = plan.recorder.turn(result.index, *conversations.image_turn(plan, result.index, result.outcome, info)) \
        if plan.recorder is not None else None
    if session:
        info["session"] = session
    try:
        sidecar = _sidecar(plan, result, info, started)
        if session:
            sidecar.set(session=session)
        info["sidecar"] = str(write_sidecar(path, sidecar))
    except OSError as exc:          # the image itself is safe; only its description is missing
        info["sidecar"] = None
        console.warn(f"saved {path} but not its sidecar: {describe_os_error(exc)}")
    console.info(f"saved {path} ({info.get('width')}x{info.get('height')}, {info['mime_type']})")
    return info


def _rescue_image(plan: ImagePlan, payload: MediaPayload, index: int | None, exc: OSError, identity: str,
                  console: Console) -> Unsaved:
    """Keep a paid image whose destination failed in the rescue folder (when any folder takes it)."""
    assert plan.output is not None
    stem = plan.output.stem if index is None else f"{plan.output.stem}-{index}"
    name = stem + extension_for(payload.mime_type, ".png")
    kept = rescue(lambda handle: write_payload(payload, handle), name, plan.settings.env)
    console.warn(f"could not write {plan.output.folder / name} ({describe_os_error(exc)}); "
                 + (f"kept it in {kept}" if kept else "no rescue folder could take it either"))
    return Unsaved(plan.output.folder / name, exc, kept, identity)


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


def _actual_cost(plan: ImagePlan, produced: int, results: list[CallResult]) -> float | None:
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
    return round(per_image * produced + blocked_input, 6)


def _input_token_price(plan: ImagePlan) -> float | None:
    pricing = getattr(plan.estimate, "input_per_million_tokens", None)
    return pricing if isinstance(pricing, (int, float)) else None


def _run_error(plan: ImagePlan, document: dict[str, Any], saving: Saving) -> errors.MediagenError | None:
    """One error for the run (None when all went well); the saved images travel with it in the JSON document."""
    if saving.unsaved:
        error: errors.MediagenError = _unsaved_error(saving.unsaved, document["run_id"])
    elif saving.failures:
        error = _failure_error(plan, document, saving)
    elif saving.blocked:
        reasons = sorted({r.outcome.reason() for r in saving.blocked if r.outcome})
        error = errors.GenerationBlocked(f"no image returned: {'; '.join(reasons)}", BLOCK_HINT,
                                         reason=reasons[0] if reasons else None,
                                         details={"blocked_requests": len(saving.blocked),
                                                  "texts": [r.outcome.text for r in saving.blocked
                                                            if r.outcome and r.outcome.text][:3]})
    else:
        return None
    error.partial = document
    return error


def _failure_error(plan: ImagePlan, document: dict[str, Any], saving: Saving) -> errors.MediagenError:
    """The first failed call's error, with what was saved around it (a paid-but-lost reply comes first)."""
    lost = [r.error for r in saving.failures if isinstance(r.error, errors.PaidNotSaved)]
    first = lost[0] if lost else saving.failures[0].error
    assert first is not None
    if document["images"] or saving.blocked:
        first.hint = (f"{len(document['images'])} image(s) were saved; {len(saving.failures)} request(s) failed. "
                      + first.hint)
    if plan.choice.backend == "cliproxy" and isinstance(first, errors.NetworkError):
        first.hint = (f"CLIProxyAPI does not answer at {plan.choice.credential.auth.url}: start it (ccs, or "
                      "cli-proxy-api -config config.yaml) or set CLIPROXY_URL to where it listens.")
    return first


def _unsaved_error(unsaved: list[Unsaved], run_id: str) -> errors.PaidNotSaved:
    """Exit 10: paid images that could not be written, with their rescued copies (or the news they are lost)."""
    first = unsaved[0]
    what = "an image" if len(unsaved) == 1 else f"{len(unsaved)} images"
    rescued = [u.rescued for u in unsaved if u.rescued is not None]
    identity = "; ".join(u.identity for u in unsaved)
    if rescued and len(rescued) < len(unsaved):
        identity += f" ({len(unsaved) - len(rescued)} of them could not be rescued and are lost)"
    recover = f"The ledger records it as billed (run {run_id})." if rescued else _RECOVER.format(run_id)
    return paid_not_saved(what, first.target, first.error, rescued, identity=identity, recover=recover)
