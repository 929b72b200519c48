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
per image. Each request type lives in the submodule of its use case and is
imported on first use (``mediagen.app.requests.VideoRequest`` works as before):
building a dataclass costs about 50 microseconds a field, and an image run
should not pay for the 150 fields of the others.
"""
from __future__ import annotations

import importlib
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


# Request types defined in submodules, imported when first named.
_LAZY = {
    "ImageRequest": "image",
    "PresetListing": "image",
    "VideoRequest": "video",
    "JobQuery": "jobs",
    "SessionQuery": "jobs",
    "EstimateRequest": "runs",
    "ShotListRequest": "runs",
    "BatchRequest": "runs",
    "CheckRequest": "listing",
    "ModelListing": "listing",
    "GalleryRequest": "listing",
}


def __getattr__(name: str) -> Any:
    """A request type from its submodule, imported on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
