"""The MCP tools: names, descriptions and properties (generated from the typed requests)."""
from __future__ import annotations

from typing import Any, Mapping

from mediagen.app import requests as rq
from mediagen.mcp.schema import (GENERATION_NOTE, IMAGE_CONTINUE_FIELDS, RUN_HANDLE, VIDEO_CONTINUE_FIELDS,
                                 VIDEO_EXTEND_FIELDS, WAIT, WHERE, Prop, ToolSpec, props_of)

ESTIMATE_SKIPPED = ("prompt", "dry_run", "output_dir")


def build_specs(values: Mapping[str, Mapping[str, list[Any]]] | None = None) -> dict[str, ToolSpec]:
    """Every tool's spec; ``values`` (per kind, from ``app.choices.field_choices``) supply the enums."""
    image = dict((values or {}).get("image") or {})
    video = dict((values or {}).get("video") or {})
    specs = [*_generation_tools(image, video), *_continue_tools(image, video), *_job_tools(),
             _estimate_tool(image, video), *_free_tools(), *_session_tools(), *_run_tools()]
    return {spec.name: spec for spec in specs}


def _generation_tools(image: dict[str, list[Any]], video: dict[str, list[Any]]) -> list[ToolSpec]:
    return [
        ToolSpec("generate_image", "Generate images", (
            "Generate one or more images (Gemini image models, Imagen on Vertex, or CLIProxyAPI) and save them "
            "with a JSON sidecar each. Validated and priced before anything is sent; costs money (see "
            "estimate_cost, or dry_run=true to see the request). Returns the file paths (also as resource links), "
            "a sidecar summary, the cost, and a small PNG preview per image (the full files stay on disk). "
            + GENERATION_NOTE),
            tuple(props_of(rq.ImageRequest, image, required=("prompt",))), remote=True,
            output=("images", "cost", "backend", "model", "run_id")),
        ToolSpec("start_video", "Start a video job", (
            "Start a video generation (Veo on Vertex, Gemini Omni with a Gemini API key) and return its job id at "
            "once; the job is recorded before the request is sent. Then call get_video with the job id until it is "
            "done. The mode follows from the inputs (image, last_frame, reference_image, video+mask, remix). "
            "Costs money: check estimate_cost first. To extend a clip use extend_video. " + GENERATION_NOTE),
            tuple(props_of(rq.VideoRequest, video, exclude=("extend_video",), required=("prompt",))), remote=True,
            output=("job_id", "state", "done", "videos", "cost")),
        ToolSpec("extend_video", "Extend a video", (
            "Start extending an earlier clip (a local result whose sidecar supplies model, backend and format; a "
            "gs:// URI on Vertex; or a file) and return the job id at once; then call get_video. Costs money. "
            + GENERATION_NOTE),
            tuple(props_of(rq.VideoRequest, video, include=VIDEO_EXTEND_FIELDS, required=("prompt", "extend_video"))),
            remote=True, output=("job_id", "state", "done", "videos", "cost")),
    ]


def _continue_tools(image: dict[str, list[Any]], video: dict[str, list[Any]]) -> list[ToolSpec]:
    return [
        ToolSpec("continue_image", "Continue an image", (
            "Change an image made earlier instead of generating a new one: continue_from names the saved image "
            "(its sidecar finds the conversation) and the prompt says what to change. The earlier turns are "
            "re-sent verbatim with their thought signatures, so the model keeps what was good; continuing an "
            "earlier result starts a branch. The re-sent history is priced into the estimate and max_cost. Gemini "
            "image models on the Gemini API or Vertex (not CLIProxyAPI: pass the image to generate_image instead). "
            "Costs money. " + GENERATION_NOTE),
            tuple(props_of(rq.ImageRequest, image, include=IMAGE_CONTINUE_FIELDS,
                           required=("prompt", "continue_from"))),
            remote=True, output=("images", "cost", "continued", "run_id")),
        ToolSpec("continue_video", "Continue a video", (
            "Change or lengthen an Omni clip made earlier: continue_from names the saved clip and the prompt says "
            "what to change. It continues the stored interaction (previous_interaction_id) with no task, or with "
            "mode edit or extend; when Google no longer has the interaction the clip itself is sent with an edit "
            "task (a paid create under the same max_cost, refused when the clip exceeds the model's edit limits). "
            "Veo clips cannot be continued (use extend_video or a mask edit). Returns the job id at once; then call "
            "get_video. Costs money. " + GENERATION_NOTE),
            tuple(props_of(rq.VideoRequest, video, include=VIDEO_CONTINUE_FIELDS,
                           required=("prompt", "continue_from"))),
            remote=True, output=("job_id", "state", "done", "videos", "cost", "continued")),
    ]


def _session_tools() -> list[ToolSpec]:
    query = rq.SessionQuery
    return [
        ToolSpec("list_sessions", "List sessions", (
            "List conversation sessions, newest first: every image and video result is a turn of one, and "
            "continuing a result adds a turn (or a branch). Each shows its turns, branches, cost and newest file. "
            "Free, local."),
            tuple(props_of(query, {}, include=("limit", "project", "config"))), read_only=True,
            output=("store", "sessions")),
        ToolSpec("show_session", "Show a session", (
            "Show one conversation session as a tree: every turn with its prompt, files and cost, and the chains "
            "from first to last turn (1 -> 2 -> 3; a branch shows as a second chain). Free, local."),
            tuple(props_of(query, {}, include=("session_id", "project", "config"), required=("session_id",))),
            read_only=True, output=("session", "chains", "tree")),
    ]


def _job_tools() -> list[ToolSpec]:
    job = rq.JobQuery
    return [
        ToolSpec("get_video", "Wait for a video job", (
            "Check a video job and wait for it up to wait_seconds (at most 50 s, so clients with a 60 s tool "
            "timeout never hang), with progress notifications. Returns state 'running' and the job id while it "
            "runs (call again), or, once done, downloads the result (once, whichever process asks first) and "
            "returns the file paths, a sidecar summary and the cost. Never sends a new create request."),
            tuple(props_of(job, {}, include=("job_id", "project", "config", "wait_seconds"), required=("job_id",))),
            remote=True, output=("job_id", "state", "done", "videos", "cost")),
        ToolSpec("list_jobs", "List video jobs", (
            "List recorded video jobs, newest first, from the shared job store (jobs started by the scripts, "
            "this server or another server process)."),
            tuple(props_of(job, {}, include=("state", "limit", "project", "config"))), read_only=True,
            output=("store", "jobs")),
        ToolSpec("cancel_job", "Cancel a job", (
            "Cancel a recorded job where Google allows it (Gemini Omni interactions, Batch API jobs). Veo offers "
            "no cancel: the job is then marked cancelled locally, though Google may still finish and bill it."),
            tuple(props_of(job, {}, include=("job_id", "project", "config"), required=("job_id",))), remote=True,
            output=("job_id", "state", "cancelled")),
    ]


def _estimate_tool(image: dict[str, list[Any]], video: dict[str, list[Any]]) -> ToolSpec:
    return ToolSpec("estimate_cost", "Estimate a cost", (
        "Price an image or video request from the catalog (price date and source included) and name the "
        "cheapest valid alternative, or price a storyboard shot list or a batch file (kind shotlist / batch with "
        "file). Free: sends nothing and needs no credential. Properties are the image / video request fields; "
        "each applies to the kind(s) its description names."),
        tuple(estimate_props(image, video)), read_only=True, output=("kind", "total_usd", "estimate", "budget"))


def estimate_props(image: dict[str, list[Any]], video: dict[str, list[Any]]) -> list[Prop]:
    """``kind``, ``file`` and ``via``, the settings fields, and the union of the image and video fields."""
    props = {p.name: p for p in props_of(rq.EstimateRequest, {}, include=("kind", "file", "via", *WHERE))}
    per_kind = {"image": props_of(rq.ImageRequest, image, exclude=(*ESTIMATE_SKIPPED, *WHERE)),
                "video": props_of(rq.VideoRequest, video, exclude=(*ESTIMATE_SKIPPED, *WHERE))}
    merged: dict[str, Prop] = {}
    for kind, found in per_kind.items():
        for prop in found:
            known = merged.get(prop.name)
            merged[prop.name] = Prop(prop.name, _merged(known, prop, kind), False,
                                     (known.kinds if known else ()) + (kind,))
    return [*props.values(), *merged.values()]


def _merged(known: Prop | None, prop: Prop, kind: str) -> dict[str, Any]:
    schema = dict(prop.schema)
    schema["description"] = f"{kind}: {schema['description']}"
    if known is None:
        return schema
    first = dict(known.schema)
    first["description"] += " " + schema.pop("description")
    if first.get("type") != schema.get("type"):
        array, scalar = (first, schema) if first.get("type") == "array" else (schema, first)
        items = dict(array["items"])
        items.pop("enum", None)
        return {"type": ["array", scalar["type"]], "items": items, "description": first["description"]}
    if "enum" in first and "enum" in schema:
        first["enum"] = first["enum"] + [v for v in schema["enum"] if v not in first["enum"]]
    else:
        first.pop("enum", None)
    return first


def _free_tools() -> list[ToolSpec]:
    return [
        ToolSpec("list_models", "List models", (
            "The model catalog: every image and video model with its aliases, the backends that serve it and its "
            "lifecycle there (ga, preview, deprecated with shutdown date and replacement, retired), the default "
            "model per backend, and the main capabilities. Free, offline."),
            tuple(props_of(rq.ModelListing, {})), read_only=True, output=("catalog", "defaults", "models")),
        ToolSpec("check_setup", "Check the setup", (
            "Free check of the credentials (what scripts/check_api.py reports): which backend mediagen would use "
            "and why, whether the credential works, which catalog models it can see with lifecycle warnings, and "
            "whether CLIProxyAPI answers. Generates nothing."),
            tuple(props_of(rq.CheckRequest, {})), read_only=True, remote=True, output=("backend", "checks")),
        ToolSpec("write_gallery", "Write a gallery", (
            "Write a static HTML gallery (gallery.html) of every image and video in a folder that has a .json "
            "sidecar: thumbnails, prompts, models, costs, filters. Free, offline; returns the page as a resource "
            "link."),
            tuple(props_of(rq.GalleryRequest, {}, required=("folder",))), output=("path", "counts")),
    ]


def _run_tools() -> list[ToolSpec]:
    handle = (Prop("run_id", dict(RUN_HANDLE), True), Prop("wait_seconds", dict(WAIT)))
    return [
        ToolSpec("start_storyboard", "Start a storyboard", (
            "Make a multi-shot video from a shot list (YAML; the media-navigator agent's format). Every shot is "
            "priced first: without approve=true (or a max_cost that covers the budget) nothing is sent and the "
            "budget is returned as an approval_required error. With approval the run starts in the background and "
            "a run id returns at once; then call get_storyboard. Resumable: starting the same shot list again "
            "keeps finished shots and resumes running jobs, never paying twice. dry_run shows the requests."),
            tuple(props_of(rq.ShotListRequest, {}, required=("shotlist",))), remote=True,
            output=("run_id", "state", "done", "budget", "shots", "final")),
        ToolSpec("get_storyboard", "Wait for a storyboard", (
            "Wait up to wait_seconds (at most 50 s) for a storyboard started with start_storyboard, with progress "
            "notifications. Returns state 'running' (call again) or the finished storyboard: every shot, the "
            "stitched film, the costs."), handle, remote=True,
            output=("run_id", "state", "done", "shots", "final", "cost")),
        ToolSpec("start_batch", "Start a batch", (
            "Generate many images (or videos) from one input file (txt, CSV, JSONL, YAML), online or as one Gemini "
            "Batch API job (via batch-api, 50% cheaper). Every item is priced first; above the approve_above "
            "threshold it needs approve=true (or a covering max_cost). The run starts in the background and a run "
            "id returns at once; then call get_batch. Resumable: finished items are skipped on a new start."),
            tuple(props_of(rq.BatchRequest, {}, required=("input",))), remote=True,
            output=("run_id", "state", "done", "items", "counts", "cost")),
        ToolSpec("get_batch", "Wait for a batch", (
            "Wait up to wait_seconds (at most 50 s) for a batch started with start_batch, with progress "
            "notifications. Returns state 'running' (call again) or the finished batch: per-item states and files, "
            "counts and costs."), handle, remote=True, output=("run_id", "state", "done", "items", "counts", "cost")),
    ]
