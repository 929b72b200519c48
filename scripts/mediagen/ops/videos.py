"""Video generation: pick the mode, validate and price, build the create request, submit durably.

Modes are detected from the inputs given (``--mode`` may force one):
mask + video -> ``edit``; ``--extend-video`` -> ``extend``; reference images ->
``reference_to_video``; image + last frame -> ``first_last_frame``; image ->
``image_to_video``; nothing -> ``text_to_video``. ``--remix`` turns a clip into
first (and last) frames first.

When extending or continuing an earlier result, its sidecar supplies defaults
(model, resolution, aspect ratio, project, storage URI, location, backend)
between the command line (and preset) and the config file. Veo runs through
``predictLongRunning``; Gemini Omni through the Interactions API.

``--continue SRC`` continues the Omni interaction that made SRC
(``previous_interaction_id``) with no task unless ``--mode edit|extend``;
``--extend-video`` on an Omni result takes the same path with ``extend``.
When the stored interaction is gone (404), ``fallback_to_clip`` turns the
plan into an edit of the clip itself, within the model's edit-source limits.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediagen.config.credentials import BackendChoice, choose_backend
from mediagen.config.settings import Layer, Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.ops import conversations, frames, uploads
from mediagen.ops.inputs import load_image, load_video
from mediagen.wire.common import MediaInput
from mediagen.ops.output import Sidecar, load_sidecar
from mediagen.ops.providers import OmniProvider, VeoProvider, provider_for
from mediagen.ops.targets import model_method_url, resolve_model
from mediagen.transport.http import HttpRequest, Transport
from mediagen.wire import interactions as omni_wire
from mediagen.wire import veo as veo_wire

DEFAULT_OUTPUT_DIR = "generated_videos"
DEFAULT_WAIT_TIMEOUT_S = 480.0          # under Claude Code's 10-minute Bash limit, with room to report
FALLBACK_DEFAULTS = {"duration": 8, "resolution": "720p", "aspect_ratio": "16:9", "count": 1}
INHERITED_KEYS = ("model", "resolution", "aspect_ratio", "project_id", "storage_uri", "location", "backend")
MODES = ("text_to_video", "image_to_video", "first_last_frame", "reference_to_video", "extend", "edit")
GEMINI_FILE_RETENTION = dt.timedelta(days=2)
PARAM_KEYS = ("model", "mode", "duration", "resolution", "aspect_ratio", "count", "negative_prompt",
              "person_generation", "seed", "generate_audio", "enhance_prompt", "storage_uri", "upload_gcs",
              "resize_mode", "camera", "mask_mode", "location", "output_dir", "wait_timeout")


@dataclass
class VideoInputs:
    """Everything the request embeds, loaded and typed."""

    image: MediaInput | None = None
    last_frame: MediaInput | None = None
    references: list[tuple[MediaInput, str]] = field(default_factory=list)
    reference_videos: list[MediaInput] = field(default_factory=list)
    video: MediaInput | None = None            # clip to edit, or (Vertex/Omni) to extend
    mask: MediaInput | None = None
    source: dict[str, Any] | None = None       # what is being extended, for the sidecar

    def images(self) -> list[MediaInput]:
        """The image inputs (frames, references, mask): the ones that can go by ``gs://`` reference."""
        found = [self.image, self.last_frame, *[image for image, _ in self.references], self.mask]
        return [item for item in found if item is not None]

    def describe(self) -> list[dict[str, Any]]:
        items = []
        for role, item in (("first_frame", self.image), ("last_frame", self.last_frame),
                           ("video", self.video), ("mask", self.mask)):
            if item is not None:
                items.append({"role": role, **item.describe()})
        items += [{"role": f"reference_{kind}", **img.describe()} for img, kind in self.references]
        items += [{"role": "reference_video", **v.describe()} for v in self.reference_videos]
        return items


@dataclass
class VideoPlan:
    """A validated, priced video request; nothing has been sent yet."""

    prompt: str
    settings: Settings
    choice: BackendChoice
    model_id: str
    wire_id: str
    family: str | None
    provider: VeoProvider | OmniProvider
    location: str | None
    mode: str
    request: dict[str, Any]
    estimate: Any
    inputs: VideoInputs = field(default_factory=VideoInputs)
    session: dict[str, Any] | None = None     # the conversation a result joins (set by the use case)
    create: HttpRequest | None = None
    extend_source: dict[str, Any] | None = None
    pricing_hint: dict[str, Any] = field(default_factory=dict)   # what the actual-cost calculation needs
    capabilities: dict[str, Any] = field(default_factory=dict)   # the model's, for this backend

    def model_info(self) -> dict[str, Any]:
        return {"id": self.model_id, "wire_id": self.wire_id, "family": self.family, "provider": self.provider.name}

    def cost(self, actual: float | None = None) -> dict[str, Any]:
        """The cost block: the estimate (its worst case and the cap when they matter) and the actual cost."""
        est = self.estimate
        doc = {"estimate_usd": est.usd, "actual_usd": actual, "priced": est.priced, "as_of": est.as_of,
               "source": est.source}
        worst = getattr(est, "max_usd", None)
        if worst is not None and est.usd is not None and worst > est.usd:
            doc["max_usd"] = worst
        if self.settings.get("max_cost") is not None:
            doc["max_cost"] = float(self.settings["max_cost"])      # read again when the job finishes
        return doc

    def describe(self) -> dict[str, Any]:
        return {"backend": self.choice.describe(), "model": self.model_info(), "mode": self.mode,
                "location": self.location, "cost": self.cost()}


def plan_video(prompt: str, base: Settings, catalog: Any, console: Console, *, preset: Any = None,
               transport: Transport | None = None, load_inputs: bool = True,
               estimate_only: bool = False) -> VideoPlan:
    """Resolve settings (with sidecar inheritance), validate, price and build the create request.

    ``estimate_only`` skips loading inputs and accepts a missing credential.
    """
    source_layer, source = _source_layer(base)
    pre = base.with_layers([source_layer]) if source_layer else base
    choice = choose_backend(pre, kind="video", require_credential=not estimate_only)
    load_inputs = load_inputs and not estimate_only
    console.info_once(f"backend {choice.backend}: {choice.reason}")
    layers = [Layer(f"preset:{preset.name}", preset.values_for(choice.backend))] if preset else []
    settings = base.with_layers(layers + ([source_layer] if source_layer else []))
    settings = settings.with_defaults({"model": catalog.default_model("video", choice.backend),
                                       "output_dir": DEFAULT_OUTPUT_DIR,
                                       "wait_timeout": DEFAULT_WAIT_TIMEOUT_S}, "catalog")
    if not estimate_only:
        check_upload_target(settings.get("upload_gcs"), choice)
    resolution = resolve_model(catalog, settings, choice.backend, console)
    model = resolution.model
    model_id = model.id if model else resolution.wire_id
    family = model.family if model else None
    provider = provider_for(family, model_id)
    if settings.get("continue_from"):
        conversations.check_video_target(settings, provider.name, choice.backend)
    mode = detect_mode(settings)
    settings = settings.with_defaults(_model_defaults(model, choice.backend, mode), "catalog")
    location = _location(settings, catalog, model_id, choice, provider)
    plan = VideoPlan(prompt, settings, choice, model_id, resolution.wire_id, family, provider, location, mode,
                     {}, None, extend_source=source, pricing_hint=_pricing_hint(model, choice.backend),
                     capabilities=model.capabilities_for(choice.backend) if model else {})
    if load_inputs:
        plan.inputs = _load_inputs(plan, transport, console)
        if choice.backend == "vertex" and isinstance(provider, VeoProvider) and settings.get("gcs_bucket"):
            uploads.plan_uploads(plan.inputs.images(), "vertex", settings)     # Veo reads gs:// images too
    plan.request = normalized_request(plan)
    catalog.enforce(plan.request, console.warn)
    plan.estimate = catalog.estimate(plan.request)
    if load_inputs:
        plan.create = build_create(plan)
    return plan


def check_upload_target(target: str | None, choice: BackendChoice) -> None:
    """Refuse an ``--upload-gcs`` target that cannot work now, not after the video is paid for."""
    if not target:
        return
    bucket = target[5:].partition("/")[0] if target.startswith("gs://") else ""
    if not bucket:
        raise errors.UsageError(f"--upload-gcs {target!r} is not a gs://BUCKET/PATH URI",
                                "Use gs://your-bucket/some/folder/, or drop --upload-gcs.")
    if choice.backend != "vertex":
        raise errors.UsageError(f"--upload-gcs needs a Google Cloud credential, and {choice.backend} uses "
                                f"{choice.credential.kind}", "Use --backend vertex with a Google Cloud credential, or "
                                                             "drop --upload-gcs and copy the file yourself.")


def _pricing_hint(model: Any, backend: str) -> dict[str, Any]:
    """Token rates for billing Omni from its returned usage (Veo bills per second from the estimate)."""
    if model is None:
        return {}
    tokens = (model.pricing_for(backend) or {}).get("video_tokens") or {}
    rate = tokens.get("usd_per_million")
    return {"usd_per_million_video_tokens": rate} if rate else {}


def detect_mode(settings: Settings) -> str:
    """The generation mode from the inputs given (or ``--mode``, checked against them)."""
    if settings.get("continue_from"):
        return conversations.continue_mode(settings)
    has = {key: bool(settings.get(key)) for key in
           ("image", "last_frame", "references", "extend_video", "video", "mask", "remix", "remix_last_frame")}
    if has["remix"]:
        has["image"] = True
        has["last_frame"] = has["remix_last_frame"]
    if has["video"] and has["mask"]:
        detected = "edit"
    elif has["extend_video"]:
        detected = "extend"
    elif has["references"]:
        detected = "reference_to_video"
    elif has["image"] and has["last_frame"]:
        detected = "first_last_frame"
    elif has["image"]:
        detected = "image_to_video"
    else:
        detected = "text_to_video"
    if has["last_frame"] and not has["image"] and not has["extend_video"]:
        raise errors.ValidationError("--last-frame needs a first frame", "Add --image FIRST_FRAME.")
    if has["mask"] and not has["video"]:
        raise errors.ValidationError("--mask needs the clip it applies to", "Add --video CLIP.")
    forced = settings.get("mode")
    if forced and forced != detected:
        if forced not in MODES:
            raise errors.UsageError(f"unknown mode {forced}", f"Use one of: {', '.join(MODES)}.")
        raise errors.ValidationError(f"--mode {forced} does not match the inputs given (they mean {detected})",
                                     "Drop --mode, or give the inputs that mode needs.")
    return detected


def mode_capabilities(model: Any, backend: str, mode: str) -> dict[str, Any]:
    """The model's capabilities on a backend with the mode's own overrides (e.g. extension lengths)."""
    caps = dict(model.capabilities_for(backend)) if model is not None else {}
    caps.update((caps.get("by_mode") or {}).get(mode) or {})
    return caps


def _model_defaults(model: Any, backend: str, mode: str) -> dict[str, Any]:
    """Duration/resolution/aspect defaults: the model's own (catalog) or the common Veo/Omni ones."""
    defaults = dict(FALLBACK_DEFAULTS)
    if model is not None:
        caps = mode_capabilities(model, backend, mode)
        for key, cap in (("duration", "durations"), ("resolution", "resolutions"), ("aspect_ratio", "aspect_ratios")):
            allowed = _allowed_values(caps.get(cap))
            if allowed and defaults[key] not in allowed:
                defaults[key] = allowed[0]
        for key, value in (caps.get("defaults") or {}).items():
            if key in defaults:
                defaults[key] = value
    return defaults


def _allowed_values(cap: Any) -> list[Any]:
    if isinstance(cap, list):
        return cap
    if isinstance(cap, dict) and "min" in cap and "max" in cap:
        return list(range(int(cap["min"]), int(cap["max"]) + 1))
    return []


def _location(settings: Settings, catalog: Any, model_id: str, choice: BackendChoice,
              provider: VeoProvider | OmniProvider) -> str | None:
    if choice.backend != "vertex":
        return None
    if isinstance(provider, OmniProvider):
        return "global"          # Omni on Vertex is served from the global location only
    default = catalog.default_location(model_id, "vertex") or "us-central1"
    return settings.get("location") or default


# -- extension sources -------------------------------------------------------

def _source_layer(base: Settings) -> tuple[Layer | None, dict[str, Any] | None]:
    """Defaults inherited from the sidecar of the clip being extended or continued."""
    target = base.get("extend_video") or base.get("continue_from")
    if not target or str(target).startswith(("gs://", "http://", "https://")):
        return None, None
    sidecar = load_sidecar(Path(target))
    if sidecar is None:
        return None, {"path": str(target), "sidecar": None}
    params = sidecar.parameters or {}
    values: dict[str, Any] = {}
    for key in INHERITED_KEYS:
        entry = params.get(key)
        value = entry.get("value") if isinstance(entry, dict) else entry
        if value is not None and not isinstance(value, str):
            path = Path(target).with_suffix(".json")
            raise errors.UsageError(f"the sidecar {path} is damaged: parameters.{key} is not a string",
                                    f"Repair or move {path.name} away (without it the clip is treated as a plain "
                                    "video file).", details={"file": str(path)})
        if value is not None:
            values[key] = value
    values.setdefault("model", (sidecar.model or {}).get("id"))
    backend = sidecar.backend or {}
    values.setdefault("backend", backend.get("name"))
    if backend.get("project_id"):
        values.setdefault("project_id", backend["project_id"])
    values = {k: v for k, v in values.items() if v is not None}
    return Layer(f"sidecar:{Path(target).with_suffix('.json')}", values), {"path": str(target), "sidecar": sidecar}


def _extend_input(plan: VideoPlan, transport: Transport | None, inputs: VideoInputs) -> None:
    """How the clip to extend or continue is referenced: interaction id, Gemini file URI, gs:// URI or bytes."""
    target = str(plan.settings.get("extend_video") or plan.settings["continue_from"])
    sidecar = (plan.extend_source or {}).get("sidecar") or Sidecar()
    remote = sidecar.remote or {}
    source: dict[str, Any] = {"source": target}
    if isinstance(plan.provider, OmniProvider):
        _continue_omni(plan, target, sidecar, source)
        if not source.get("previous_interaction_id"):
            inputs.video = load_video(target, transport=transport, allow_gcs=plan.choice.backend == "vertex")
    elif plan.choice.backend == "gemini-api":
        uri = target if target.startswith("https://") else remote.get("uri")
        if not uri:
            raise errors.ValidationError("the Gemini API extends only its own recent results, by their file URI",
                                         "Pass the local result whose sidecar records the URI (kept 2 days), "
                                         "or use Vertex (--backend vertex) to extend any clip.")
        expires = remote.get("expires")
        if expires and dt.datetime.fromisoformat(expires) < dt.datetime.now(dt.timezone.utc):
            raise errors.ValidationError(f"the remote copy of {target} expired on {expires}",
                                         "Gemini API results are kept 2 days; extend it on Vertex instead.")
        source["uri"] = uri
    elif target.startswith("gs://"):
        source["gcs_uri"] = target
    else:
        inputs.video = load_video(target, transport=transport)
    if sidecar.duration_s:
        source["seconds"] = float(sidecar.duration_s)
    elif inputs.video is not None and inputs.video.data is not None and not target.startswith("gs://"):
        source["seconds"] = _local_seconds(Path(target))
    inputs.source = source


def _continue_omni(plan: VideoPlan, target: str, sidecar: Sidecar, source: dict[str, Any]) -> None:
    """Continue the interaction that made the clip (same backend): ``previous_interaction_id`` and the task.

    ``--continue`` sends no task unless ``--mode`` names one; ``--extend-video`` is ``--continue --mode extend``.
    Anywhere else the clip itself is sent with the mode's task (edit, extend).
    """
    interaction = (sidecar.omni or {}).get("interaction_id")
    same_backend = (sidecar.backend or {}).get("name") == plan.choice.backend
    forced = plan.settings.get("mode") if plan.settings.get("continue_from") else plan.mode
    if interaction and same_backend:
        source["previous_interaction_id"] = interaction
        source["task"] = forced if forced in ("edit", "extend") else None
    else:
        source["task"] = "extend" if plan.mode == "extend" else "edit"


def fallback_to_clip(plan: VideoPlan, catalog: Any, transport: Transport | None, console: Console) -> VideoPlan:
    """The plan once the continued interaction is gone: the clip itself with an edit (or extend) task.

    It is a new paid create: re-priced here for the caller's gate, and refused (exit 2) when the clip is
    outside the model's edit-source limits (catalog ``edit_source_seconds``).
    """
    source = dict(plan.inputs.source or {})
    gone = source.pop("previous_interaction_id", None)
    target = str(source["source"])
    task = "extend" if plan.mode == "extend" else "edit"
    seconds = _source_seconds(plan) or _local_seconds(Path(target))
    conversations.check_edit_source(plan.capabilities, plan.model_id, target, seconds, gone)
    console.warn(f"the stored interaction {gone} behind {target} is gone (Google keeps interactions for a limited "
                 f"time); sending the clip itself with an {task} task instead: a new "
                 "paid create under the same cost cap")
    plan.inputs.video = load_video(target, transport=transport, allow_gcs=plan.choice.backend == "vertex")
    plan.inputs.source = {**source, "task": task, "fallback": f"interaction {gone} gone: clip sent"}
    plan.request = normalized_request(plan)
    catalog.enforce(plan.request, console.warn)
    plan.estimate = catalog.estimate(plan.request)
    plan.create = build_create(plan)
    return plan


def _local_seconds(path: Path) -> float | None:
    try:
        return frames.duration(path)
    except errors.MediagenError:
        return None


# -- inputs ---------------------------------------------------------------------

def _load_inputs(plan: VideoPlan, transport: Transport | None, console: Console) -> VideoInputs:
    s, vertex = plan.settings, plan.choice.backend == "vertex"
    inputs = VideoInputs()
    if s.get("remix"):
        _load_remix(s, inputs)
    if s.get("image"):
        inputs.image = load_image(s["image"], transport=transport, allow_gcs=vertex)
    if s.get("last_frame"):
        inputs.last_frame = load_image(s["last_frame"], transport=transport, allow_gcs=vertex)
    for spec in s.get("references") or []:
        path, kind = parse_reference(spec)
        inputs.references.append((load_image(path, transport=transport, allow_gcs=vertex), kind))
    for clip in s.get("reference_videos") or []:
        inputs.reference_videos.append(load_video(clip, transport=transport, allow_gcs=vertex))
    if s.get("video"):
        inputs.video = load_video(s["video"], transport=transport, allow_gcs=vertex)
    if s.get("mask"):
        inputs.mask = load_image(s["mask"], transport=transport, allow_gcs=vertex)
    if s.get("extend_video") or s.get("continue_from"):
        _extend_input(plan, transport, inputs)
    for item in [inputs.image, inputs.last_frame, inputs.video, inputs.mask, *[r for r, _ in inputs.references]]:
        for note in (item.notes if item else []):
            console.info(f"input {item.source}: {note}")
    return inputs


def parse_reference(spec: str) -> tuple[str, str]:
    """``PATH[:asset|style]`` -> (path, kind); Windows drive letters and URIs keep their colons."""
    for kind in ("asset", "style"):
        if spec.lower().endswith(f":{kind}"):
            return spec[: -len(kind) - 1], kind
    return spec, "asset"


def _load_remix(s: Settings, inputs: VideoInputs) -> None:
    """The first (and last) frame cut from the ``--remix`` clip, read into memory; the temp folder always goes."""
    with tempfile.TemporaryDirectory(prefix="mediagen-remix-") as work:
        first, last = _remix_frames(s, Path(work))
        inputs.image = load_image(str(first), allow_gcs=False)
        inputs.image.notes.append(f"frame extracted from {s['remix']}")
        if last is not None:
            inputs.last_frame = load_image(str(last), allow_gcs=False)
            inputs.last_frame.notes.append(f"frame extracted from {s['remix']}")


def _remix_frames(s: Settings, folder: Path) -> tuple[Path, Path | None]:
    clip = Path(s["remix"])
    if not clip.is_file():
        raise errors.UsageError(f"--remix {clip}: file not found", "Pass a local video file.")
    length = frames.duration(clip)
    start = frames.parse_time(s.get("remix_start")) or 0.0
    end = frames.parse_time(s.get("remix_end"))
    end = length if end is None else end
    if not 0 <= start < end <= length + 0.05:
        raise errors.UsageError(f"remix range {start:.2f}-{end:.2f}s is outside the clip (0-{length:.2f}s)",
                                "Pick --remix-start/--remix-end inside the clip.")
    first = frames.extract_frame(clip, start, folder / "first.png")
    last = None
    if s.get("remix_last_frame"):
        last = frames.extract_frame(clip, max(start, end - 0.1), folder / "last.png")
    return first, last


# -- validation and the request -------------------------------------------------

def normalized_request(plan: VideoPlan) -> dict[str, Any]:
    """The request in the catalog's vocabulary."""
    s = plan.settings
    request: dict[str, Any] = {"kind": "video", "model": plan.model_id, "backend": plan.choice.backend,
                               "mode": plan.mode, "duration": int(s["duration"]), "resolution": s["resolution"],
                               "aspect_ratio": s["aspect_ratio"], "count": int(s["count"]),
                               "first_frame": bool(s.get("image") or s.get("remix")),
                               "last_frame": bool(s.get("last_frame") or s.get("remix_last_frame"))}
    refs = [parse_reference(r)[1] for r in s.get("references") or []]
    if refs:
        request["reference_assets"] = refs.count("asset")
        request["reference_styles"] = refs.count("style")
    if s.get("reference_videos"):
        request["reference_videos"] = len(s["reference_videos"])
    source_seconds = _source_seconds(plan)
    if source_seconds:
        request["source_seconds"] = source_seconds
    optional = {"mask_mode": (s.get("mask_mode") or "insert") if s.get("mask") else None,
                "camera_control": s.get("camera"),
                "resize_mode": s.get("resize_mode"), "person_generation": s.get("person_generation"),
                "compression_quality": s.get("compression_quality")}
    request.update({k: v for k, v in optional.items() if v})
    for key in ("generate_audio", "enhance_prompt"):
        if s.source(key) not in (None, "catalog", "default") and s.get(key) is not None:
            request[key] = bool(s[key])
    if s.get("seed") is not None:
        request["seed"] = True
    if s.get("negative_prompt"):
        request["negative_prompt"] = True
    if s.get("storage_uri"):
        request["storage_uri"] = True
    return request


def _source_seconds(plan: VideoPlan) -> float | None:
    """The length of the clip being extended: measured with the inputs, else from its sidecar (estimates)."""
    if plan.inputs.source and plan.inputs.source.get("seconds"):
        return plan.inputs.source["seconds"]
    sidecar = (plan.extend_source or {}).get("sidecar")
    seconds = getattr(sidecar, "duration_s", None)
    return float(seconds) if isinstance(seconds, (int, float)) and seconds > 0 else None


def build_create(plan: VideoPlan) -> HttpRequest:
    """The billable create request for the plan's provider."""
    if isinstance(plan.provider, OmniProvider):
        return _omni_create(plan)
    s, inputs = plan.settings, plan.inputs
    video = None
    if plan.mode == "extend" and inputs.source:
        video = veo_wire.VideoSource(uri=inputs.source.get("uri"), gcs_uri=inputs.source.get("gcs_uri"),
                                     local=inputs.video)
    elif plan.mode == "edit" and inputs.video is not None:
        video = veo_wire.VideoSource(gcs_uri=inputs.video.gcs_uri, local=inputs.video)
    audio = s.get("generate_audio")
    audio_caps = plan.capabilities.get("generate_audio") or {}
    if plan.choice.backend == "vertex" and audio is None and audio_caps.get("settable"):
        audio = bool(audio_caps.get("default", True))   # sent explicitly: older Veo 3 endpoints required it
    # Veo extension always adds a fixed length; the documented requests leave durationSeconds out.
    duration = None if plan.mode == "extend" else s["duration"]
    params = veo_wire.parameters(duration=duration, aspect_ratio=s["aspect_ratio"], resolution=s["resolution"],
                                 count=s["count"], negative_prompt=s.get("negative_prompt"),
                                 person_generation=s.get("person_generation"), seed=s.get("seed"),
                                 generate_audio=audio, enhance_prompt=s.get("enhance_prompt"),
                                 storage_uri=s.get("storage_uri"),
                                 resize_mode=s.get("resize_mode") if inputs.image else None)
    body = veo_wire.build_request(plan.prompt, backend=plan.choice.backend, image=inputs.image,
                                  last_frame=inputs.last_frame, references=inputs.references, video=video,
                                  mask=inputs.mask, mask_mode=s.get("mask_mode"), camera=s.get("camera"),
                                  params=params)
    url = model_method_url(plan.choice, plan.settings, plan.wire_id, "predictLongRunning", plan.location)
    return HttpRequest("POST", url, headers={"Content-Type": "application/json"}, json=body, billable=True,
                       label=f"{plan.wire_id}:predictLongRunning")


def _omni_create(plan: VideoPlan) -> HttpRequest:
    s, inputs = plan.settings, plan.inputs
    prompt = plan.prompt
    if s.get("negative_prompt"):
        prompt = f"{prompt}\n\nAvoid: {s['negative_prompt']}"     # Omni has no negative-prompt field
    previous = (inputs.source or {}).get("previous_interaction_id")
    task = (inputs.source or {}).get("task", {"extend": "extend", "edit": "edit"}.get(plan.mode))
    body = omni_wire.build_request(plan.wire_id, prompt, backend=plan.choice.backend, first_frame=inputs.image,
                                   last_frame=inputs.last_frame, references=[img for img, _ in inputs.references],
                                   reference_videos=inputs.reference_videos,
                                   video=inputs.video, previous_interaction_id=previous, task=task,
                                   aspect_ratio=s["aspect_ratio"], resolution=s["resolution"],
                                   duration=s["duration"], gcs_uri=s.get("storage_uri"))
    project = None if plan.choice.express else plan.choice.project_id
    url = plan.provider.collection_url(plan.choice.backend, plan.settings, project)
    return HttpRequest("POST", url, headers={"Content-Type": "application/json"}, json=body, billable=True,
                       label=f"{plan.wire_id}:interactions.create")
