"""Use case: generate images (``image_gen.py``, MCP ``generate_image``)."""
from __future__ import annotations

from mediagen.app.context import Context
from mediagen.app.generation import begin, explain_model_error, free_outcome
from mediagen.app.outcome import Outcome, media_files, require_positive
from mediagen.app.requests import ImageRequest, PresetListing
from mediagen.app.runtime import make_transport
from mediagen.config.presets import load_presets
from mediagen.core import errors
from mediagen.ops.conversations import recorder_for
from mediagen.ops.images import PARAM_KEYS, plan_images, run_images
from mediagen.ops.transcode import check_output_name

SHOWN_SETTINGS = PARAM_KEYS + ("backend", "project_id", "max_cost", "images", "preset", "continue_from")
PREVIEW_SETTINGS = ("model", "aspect_ratio", "image_size", "count", "preset")      # what the image skill shows


def generate_image(request: ImageRequest, ctx: Context) -> Outcome:
    """Plan, price, gate, then send every request and save every image (or stop at a free outcome)."""
    require_positive(request.count, "count", "--count")
    require_positive(request.concurrency, "concurrency", "--concurrency")
    start = begin(request, ctx, "image")
    check_output_name(start.settings.get("output"))         # a format that cannot be written: refused unsent
    plan = plan_images(request.prompt, start.settings, start.catalog, ctx.console, preset=start.preset,
                       transport=make_transport(start.settings, ctx.console),
                       load_inputs=not (request.show_defaults or request.estimate_cost))
    free = free_outcome(request, plan, SHOWN_SETTINGS, plan.http_requests, PREVIEW_SETTINGS)
    if free is not None:
        return Outcome(free)
    plan.recorder = recorder_for(plan, ctx.console)
    if plan.conversation is not None:
        ctx.console.info(f"continuing session {plan.conversation.session.session_id} from turn "
                         f"{plan.conversation.turn['turn']} ({plan.conversation.history_images} image(s) re-sent)")
    try:
        document = run_images(plan, lambda: make_transport(plan.settings, ctx.console), ctx.console)
    except errors.ApiError as exc:
        explain_model_error(exc, start.catalog, plan)
        raise
    if plan.conversation is not None:
        document = {**document, "continued": plan.conversation.describe()}
    return Outcome(document, media_files(document["images"], "image"))


def list_presets(request: PresetListing) -> Outcome:
    """The presets of one kind, with what each sets."""
    presets = load_presets(request.kind)
    return Outcome({"presets": {name: {"description": p.description, "values": p.values}
                                for name, p in presets.items()}})
