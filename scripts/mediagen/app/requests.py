"""Typed requests: what a caller asks mediagen to do, whichever face it came through.

Each request is a frozen dataclass. Its field names are the MCP argument names
and the command line's option names in snake_case (``--aspect-ratio`` ->
``aspect_ratio``). Field metadata carries what both faces need to describe a
field: the help text, fixed choices or the catalog capability that lists the
accepted values, numeric bounds, which faces expose it, and the setting key it
fills when that differs from its name. The MCP face generates its tool schemas
from this metadata; the command line keeps its hand-written flags (short
options, ``--no-wait`` pairs) and a test keeps both in step.

Standard-library dataclasses only: start-up time matters for scripts run once
per image.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

BACKENDS = ("gemini-api", "vertex", "cliproxy")
BACKEND_CHOICES = ("auto", *BACKENDS)
VIDEO_MODES = ("text_to_video", "image_to_video", "first_last_frame", "reference_to_video", "extend", "edit")
JOB_ACTIONS = ("list", "status", "wait", "download", "cancel")
SESSION_ACTIONS = ("list", "show")
ESTIMATE_KINDS = ("image", "video", "shotlist", "batch")
BATCH_KINDS = ("image", "video")
BATCH_VIA = ("online", "batch-api", "vertex-batch")
BATCH_INPUT_MODES = ("auto", "inline", "file")
MAX_WAIT_SECONDS = 50.0
DEFAULT_WAIT_SECONDS = 45.0
DEFAULT_JOB_LIMIT = 20
DEFAULT_INLINE_LIMIT_MB = 20.0

CLI = ("cli",)
MCP = ("mcp",)
ALLOW_UNKNOWN_HELP = ("Send a model id the catalog does not know even when it is one or two letters away from a "
                      "known one (otherwise taken for a typo and refused); it goes out unvalidated and unpriced.")


def arg(help: str, default: Any = None, **meta: Any) -> Any:
    """A request field: ``help`` text plus schema metadata (``choices``, ``catalog``, ``minimum``,
    ``faces``, ``setting``, ``presets``, ``tool_help``)."""
    return field(default=default, metadata={"help": help, **meta})


# -- shared fields ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Where:
    """Which backend, project and config file a request resolves its settings from."""

    backend: str | None = arg("Which API to use (default auto: see README 'Choosing a backend').",
                              choices=BACKEND_CHOICES)
    project: str | None = arg("Project name from mediagen.yaml.", setting=None)
    location: str | None = arg("Vertex location (default: the model's own, from the catalog).")
    config: str | None = arg("Config file (default: ./mediagen.yaml, then the user config dir; or "
                             "$MEDIAGEN_CONFIG).", setting=None)
    show_defaults: bool = arg("Print every effective setting and where it came from, then stop (sends nothing).",
                              False, faces=CLI, setting=None)


@dataclass(frozen=True)
class Spending(Where):
    """What a paid request may do instead of spending: price it, show it, or cap it."""

    dry_run: bool = arg("Validate and show the exact request (secrets masked); send nothing.", False, setting=None)
    estimate_cost: bool = arg("Print the cost estimate and stop.", False, faces=CLI, setting=None)
    max_cost: float | None = arg("Refuse to send when the estimate is above this many US dollars.", minimum=0)


# -- generation --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageRequest(Spending):
    """Generate images (``image_gen.py``, MCP ``generate_image``)."""

    prompt: str = arg("What to generate: the prompt text.", "", setting=None, min_length=1)
    model: str | None = arg("Model id or alias (e.g. nano-banana-pro); default from the catalog.",
                            catalog_models="image")
    allow_unknown_model: bool = arg(ALLOW_UNKNOWN_HELP, False)
    aspect_ratio: str | None = arg("e.g. 1:1, 3:4, 16:9, 21:9 (the model's own set).", catalog="aspect_ratios")
    image_size: str | None = arg("512, 1K, 2K or 4K where the model offers it.", catalog="image_sizes")
    image: tuple[str, ...] | None = arg("Input image: path, http(s) URL, gs:// (Vertex) or data: URI. Repeatable.",
                                        setting="images")
    continue_from: str | None = arg(
        "Continue the conversation that produced this saved image (found through its sidecar): the earlier "
        "turns are re-sent verbatim, thought signatures included, so the model keeps their context; the "
        "prompt says what to change. Continuing an earlier result branches. Gemini image models on the "
        "Gemini API or Vertex only (command line: --continue).")
    count: int | None = arg("How many images (sent in parallel).", minimum=1)
    negative_prompt: str | None = arg("What to avoid (Imagen field; folded into the prompt otherwise).")
    seed: int | None = arg("Seed, where the backend accepts one.")
    person_generation: str | None = arg("allow_all | allow_adult | dont_allow (Vertex / Imagen).",
                                        catalog="person_generation")
    output_mime: str | None = arg("image/png or image/jpeg (Vertex only).", catalog="supports:output_mime")
    thinking_level: str | None = arg("minimal | high (Gemini 3.1 image models).", catalog="supports:thinking_level")
    preset: str | None = arg("A preset from presets/image.yaml (see --list-presets).", presets="image")
    concurrency: int | None = arg("Parallel requests for --count (default 4).", minimum=1)
    output: str | None = arg("Output file or folder (default ./generated_images/).", faces=CLI)
    output_dir: str | None = arg(
        "Folder for the results (the output_dir setting, here for this call; default ./generated_images/, or "
        "MEDIAGEN_OUTPUT_DIR / the config file's output_dir). A relative path resolves against the MCP server's "
        "working directory: the Claude Code project folder when Claude Code starts the server from .mcp.json.",
        faces=MCP)


@dataclass(frozen=True)
class VideoRequest(Spending):
    """Generate a video as a durable job (``video_gen.py``, MCP ``start_video``/``extend_video``)."""

    prompt: str = arg("What to generate: the prompt text.", "", setting=None, min_length=1)
    model: str | None = arg("Model id or alias; default Veo 3.1 Fast (Vertex), Omni on the Gemini API.",
                            catalog_models="video")
    allow_unknown_model: bool = arg(ALLOW_UNKNOWN_HELP, False)
    mode: str | None = arg("Force a mode (it must match the inputs).", choices=VIDEO_MODES)
    duration: int | None = arg("Seconds (Veo 3.1: 4, 6, 8; Omni: 3-10).", catalog="durations")
    aspect_ratio: str | None = arg("16:9 or 9:16.", catalog="aspect_ratios")
    resolution: str | None = arg("720p, 1080p or 4k (Omni also 360p).", catalog="resolutions")
    negative_prompt: str | None = arg("What to avoid.")
    person_generation: str | None = arg("allow_all | allow_adult | dont_allow.", catalog="person_generation")
    seed: int | None = arg("Seed (Vertex only).")
    generate_audio: bool | None = arg("Audio on/off (Vertex Veo; the Gemini API always adds audio).")
    count: int | None = arg("Videos per request (sampleCount; Vertex 1-4).", minimum=1)
    enhance_prompt: bool | None = arg("Let Veo rewrite the prompt.")
    preset: str | None = arg("quick | quality | extend | budget (presets/video.yaml).", presets="video")
    image: str | None = arg("First frame (path, URL, gs:// on Vertex).")
    last_frame: str | None = arg("Last frame (needs --image).")
    reference_image: tuple[str, ...] | None = arg("Reference image (up to 3 assets or 1 style). Repeatable.",
                                                  setting="references")
    reference_video: tuple[str, ...] | None = arg("Reference clip (Omni). Repeatable.", setting="reference_videos")
    extend_video: str | None = arg("Extend an earlier result (its sidecar supplies defaults), a gs:// URI, or a "
                                   "file.")
    continue_from: str | None = arg(
        "Continue the Gemini Omni conversation that produced this saved clip (previous_interaction_id; its "
        "sidecar supplies the model and format): the prompt says what to change. No task is sent unless mode is "
        "edit or extend. If Google no longer keeps the interaction, the clip itself is sent with an edit task (a "
        "new paid create under the same max cost). Veo clips cannot be continued (command line: --continue).")
    video: str | None = arg("Clip to edit with --mask (Vertex).")
    mask: str | None = arg("Mask image for editing (Vertex).")
    mask_mode: str | None = arg("What the mask does when editing (Vertex): insert, remove, remove_static or "
                                "outpaint.", choices=("insert", "remove", "remove_static", "outpaint"))
    camera: str | None = arg("Camera control, e.g. pan_left, push_in (Vertex, needs --image).",
                             catalog="camera_control")
    resize_mode: str | None = arg("Image fit for image-to-video (Vertex).", choices=("pad", "crop"))
    remix: str | None = arg("Use frames of this clip as first (and last) frame.")
    remix_start: str | None = arg("Time of the first frame (seconds or M:SS).")
    remix_end: str | None = arg("Time of the last frame.")
    remix_last_frame: bool = arg("Also use the frame at --remix-end.", False)
    output: str | None = arg("Output file or folder (default ./generated_videos/).", faces=CLI)
    output_dir: str | None = arg(
        "Folder for the results (the output_dir setting, here for this call; default ./generated_videos/, or "
        "MEDIAGEN_OUTPUT_DIR / the config file's output_dir). A relative path resolves against the MCP server's "
        "working directory.", faces=MCP)
    storage_uri: str | None = arg("Vertex writes results there (gs://...).")
    upload_gcs: str | None = arg("Upload the saved file there afterwards (gs://...).")
    wait: bool = arg("Wait for the result (default); false returns the job id at once.", True, faces=CLI,
                     setting=None)
    wait_timeout: float | None = arg("Stop waiting after S seconds (default 480); the job keeps running.",
                                     faces=CLI, minimum=0)


# -- jobs, checks, listings --------------------------------------------------------------------------

@dataclass(frozen=True)
class JobQuery(Where):
    """List, check, wait for, download or cancel recorded jobs (``jobs.py``, MCP ``get_video`` and friends)."""

    action: str = arg("What to do with the job(s).", "list", choices=JOB_ACTIONS, setting=None)
    job_id: str | None = arg("Job id, as returned by start_video / extend_video or listed by list_jobs (ids from "
                             "video_gen.py and jobs.py work too).", setting=None)
    state: str | None = arg("list: only jobs in this state (or 'active').", setting=None)
    limit: int = arg("list: at most this many jobs (default 20).", DEFAULT_JOB_LIMIT, minimum=1, setting=None)
    wait_timeout: float | None = arg("wait: seconds before giving up (default 480).", faces=CLI, minimum=0,
                                     setting=None)
    wait_seconds: float | None = arg(
        f"How long to wait for the job in this call (0-{MAX_WAIT_SECONDS:.0f} s, default "
        f"{DEFAULT_WAIT_SECONDS:.0f}), sending progress notifications; a job still running then is returned "
        "with state 'running' (call again). 0 polls once.", faces=MCP, minimum=0, maximum=MAX_WAIT_SECONDS,
        setting=None)


@dataclass(frozen=True)
class SessionQuery(Where):
    """List conversation sessions, or show one as a tree of turns (``sessions.py``, MCP ``list_sessions`` and
    ``show_session``)."""

    action: str = arg("What to do: list the sessions, or show one.", "list", choices=SESSION_ACTIONS, setting=None)
    session_id: str | None = arg("Session id, as listed by list_sessions (or in a result's session.id).",
                                 setting=None)
    limit: int = arg("list: at most this many sessions (default 20).", DEFAULT_JOB_LIMIT, minimum=1, setting=None)


@dataclass(frozen=True)
class CheckRequest(Where):
    """A free check of credentials, backend choice and model visibility (``check_api.py``, ``check_setup``)."""

    drift: bool = arg("Also compare the catalog with what the credential can see (free): catalog models not "
                      "served, served image/video models missing from the catalog, shutdown dates that have "
                      "passed. Exit 11 (the drift listed in the result) when they differ.", False, setting=None)


@dataclass(frozen=True)
class ModelListing:
    """The catalog as a listing (MCP ``list_models``)."""

    kind: str | None = arg("Only image or only video models.", choices=("image", "video"))
    backend: str | None = arg("Only models served on this backend (lifecycle shown for it alone).",
                              choices=BACKENDS)


@dataclass(frozen=True)
class PresetListing:
    """The presets of one kind (``--list-presets``)."""

    kind: str = "image"


@dataclass(frozen=True)
class GalleryRequest:
    """A static HTML gallery over a folder's sidecars (``gallery.py``, MCP ``write_gallery``)."""

    folder: str = arg("Folder to scan (sub-folders included).", "")
    output: str | None = arg("Where to write the page (default FOLDER/gallery.html).")
    title: str | None = arg("Page title (default: the folder name).")
    page_size: int | None = arg("Cards per page: gallery.html, then gallery-2.html... (default 200; the "
                                "gallery_page_size setting).", minimum=1, setting="gallery_page_size")


@dataclass(frozen=True)
class EstimateRequest(Where):
    """Price a request, a shot list or a batch file (``estimate_cost.py``, MCP ``estimate_cost``)."""

    kind: str = arg("Price an image or a video request, a storyboard shot list (kind shotlist + file) or a batch "
                    "file (kind batch + file, via batch-api for the Batch API price).", "image",
                    choices=ESTIMATE_KINDS, setting=None)
    image: ImageRequest | None = None
    video: VideoRequest | None = None
    file: str | None = arg("The shot list (YAML) or batch file (txt, CSV, JSONL or YAML) to price.", setting=None)
    via: str = arg("batch: online prices, or batch-api / vertex-batch for the batch discount.", "online",
                   choices=BATCH_VIA, setting=None)


# -- multi-item runs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShotListRequest(Spending):
    """Make a multi-shot video from a shot list (``storyboard.py``, MCP ``start_storyboard``)."""

    shotlist: str = arg("The shot list (YAML): the format the media-navigator agent writes.", "", setting=None)
    approve: bool = arg("Spend the budget shown (without it, or a covering max_cost, nothing is sent).", False,
                        setting=None)
    redo: tuple[str, ...] | None = arg("Regenerate shot N (number or id) and the shots that continue from it.",
                                       setting=None)
    output: str | None = arg("Storyboard folder (default ./generated_videos/<title-slug>/).", setting=None)
    concurrency: int | None = arg("Independent shots generated at once (default 4).", minimum=1)
    wait_timeout: float | None = arg("Stop waiting after S seconds in all (default 480); running jobs continue "
                                     "and a rerun resumes them.", minimum=0)


@dataclass(frozen=True)
class BatchRequest(Spending):
    """Many images (or videos) from one input file (``batch_gen.py``, MCP ``start_batch``)."""

    input: str = arg("Input file: .txt, .csv, .jsonl, .yaml/.yml or .json.", "", setting=None)
    kind: str | None = arg("image (default) or video.", choices=BATCH_KINDS, setting=None, item=True)
    model: str | None = arg("Model id or alias.", setting=None, item=True)
    aspect_ratio: str | None = arg("e.g. 1:1, 16:9.", setting=None, item=True)
    image_size: str | None = arg("512, 1K, 2K or 4K where the model offers it.", setting=None, item=True)
    count: int | None = arg("Images per item.", minimum=1, setting=None, item=True)
    negative_prompt: str | None = arg("What to avoid.", setting=None, item=True)
    seed: int | None = arg("Seed, where the backend accepts one.", setting=None, item=True)
    person_generation: str | None = arg("allow_all | allow_adult | dont_allow.", setting=None, item=True)
    thinking_level: str | None = arg("minimal | high (Gemini 3.1 image models).", setting=None, item=True)
    output_mime: str | None = arg("image/png or image/jpeg (Vertex only).", setting=None, item=True)
    duration: int | None = arg("Video seconds.", setting=None, item=True)
    resolution: str | None = arg("Video resolution (720p, 1080p, 4k).", setting=None, item=True)
    output: str | None = arg("Output folder (default ./generated_batch/<input name>/).", setting=None)
    via: str = arg("online (default): parallel requests now; batch-api: one Gemini Batch API job (50% off); "
                   "vertex-batch: one Vertex batch prediction job (50% off; needs gcs_bucket, runs in "
                   "batch_location).", "online", choices=BATCH_VIA, setting=None)
    concurrency: int | None = arg("Parallel requests online (default: auto, sized from the measured latency and "
                                  "the rate the API allows, at most 256); 429s lower the pace.",
                                  minimum=1, setting=None)
    rate: float | None = arg("Start paced at this many requests per second.", setting=None)
    retry_failed: bool = arg("Also resend items whose earlier attempt failed (never ones that may have been "
                             "billed).", False, setting=None)
    retry_unknown: bool = arg("Also resend items whose earlier create may have been billed without a result "
                              "(state unknown); they may be billed twice, so this needs approve, and the refusal "
                              "first says how many items and the most it could cost.", False, setting=None)
    approve: bool = arg("Approve the estimate above the approve_above threshold.", False, setting=None)
    wait: bool = arg("Wait for jobs (default).", True, faces=CLI, setting=None)
    wait_timeout: float | None = arg("Stop waiting for jobs after S seconds.", minimum=0, setting=None)
    batch_input: str = arg("Batch API: inline requests, or a JSONL file through the Files API (auto: file above "
                           "the limit).", "auto", choices=BATCH_INPUT_MODES, setting=None)
    inline_limit_mb: float = arg("Batch API: largest inline request body before switching to a file "
                                 "(default 20).", DEFAULT_INLINE_LIMIT_MB, setting=None)
    upload_chunk_bytes: int | None = arg("Files API upload chunk size (tests).", faces=(), setting=None)


# -- helpers for the faces ---------------------------------------------------------------------------

def field_meta(request_type: type, name: str) -> dict[str, Any]:
    """The metadata of one field of a request type."""
    for item in fields(request_type):
        if item.name == name:
            return dict(item.metadata)
    raise KeyError(f"{request_type.__name__} has no field {name}")


def item_defaults(request: Any) -> dict[str, Any]:
    """A batch request's generation values, as defaults for every item (None = not given)."""
    return {item.name: getattr(request, item.name) for item in fields(request) if item.metadata.get("item")}


def setting_values(request: Any) -> dict[str, Any]:
    """The request's values by setting key, for the command-line layer of the settings (None = not given).

    Fields marked ``setting=None`` steer the run instead of setting anything;
    ``False`` counts as "not given" for switches that only turn something on.
    """
    values: dict[str, Any] = {}
    for item in fields(request):
        key = item.metadata.get("setting", item.name)
        if key is None or "help" not in item.metadata:
            continue
        value = getattr(request, item.name)
        if isinstance(value, tuple):
            value = list(value)
        if value is False and item.default is False:
            value = None
        values[key] = value
    return values
