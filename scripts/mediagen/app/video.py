"""Use cases: start a video job, and wait for it (``video_gen.py``; MCP ``start_video``/``extend_video``).

A job is recorded before its create request is sent and its handle before
the first poll, so whatever happens to this process the job is resumed with
``jobs.py wait`` (or MCP ``get_video``) and never paid twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediagen.app.context import Context
from mediagen.app.gate import gate
from mediagen.app.generation import begin, budget_of, cap_of, check_local_tools, explain_model_error, free_outcome
from mediagen.app.outcome import Outcome, media_files, require_positive
from mediagen.app.requests import VideoRequest
from mediagen.app.runtime import make_transport
from mediagen.core import errors
from mediagen.core.resources import script_command
from mediagen.ops.jobstore import JobStore, store_for
from mediagen.ops.ledger import Ledger, ledger_for
from mediagen.ops.videojobs import submit, wait
from mediagen.ops.conversations import video_session
from mediagen.ops.videos import PARAM_KEYS, VideoPlan, fallback_to_clip, plan_video
from mediagen.transport.http import Transport

SHOWN_SETTINGS = PARAM_KEYS + ("backend", "project_id", "max_cost", "image", "last_frame", "references",
                               "reference_videos", "extend_video", "continue_from", "video", "mask", "remix",
                               "preset")
PREVIEW_SETTINGS = ("model", "mode", "duration", "resolution", "aspect_ratio", "count", "preset")
REMIX_PURPOSE = "--remix (frames cut from a clip)"


@dataclass
class Started:
    """A submitted job: its plan, where it is recorded, and an answer the create call may already carry."""

    plan: VideoPlan
    job_id: str
    store: JobStore
    ledger: Ledger
    transport: Transport
    initial: Any = None


def generate_video(request: VideoRequest, ctx: Context) -> Outcome:
    """Submit the job, then wait for it unless ``wait`` is off (a free outcome stops before sending)."""
    started = start(request, ctx)
    if isinstance(started, Outcome):
        return started
    if not request.wait and started.initial is None:
        return Outcome(_running(started, script_command("jobs.py", "wait", started.job_id)))
    timeout = float(started.plan.settings["wait_timeout"])
    return finished(started, ctx, timeout)


def start_video(request: VideoRequest, ctx: Context) -> Outcome:
    """Submit the job and return its id at once (saving the result now if the API answered synchronously)."""
    started = start(request, ctx)
    if isinstance(started, Outcome):
        return started
    if started.initial is None:
        return Outcome({**_running(started, f"call get_video with job_id {started.job_id} (repeat while state is "
                                            "'running')"), "done": False})
    outcome = finished(started, ctx, 0.0)
    return Outcome({**outcome.document, "done": True}, outcome.files)


def start(request: VideoRequest, ctx: Context) -> Started | Outcome:
    """Plan and price the video, pass the gate, record the job and send its create request once."""
    require_positive(request.count, "count", "--count")
    begun = begin(request, ctx, "video")
    if begun.settings.get("remix"):
        check_local_tools(REMIX_PURPOSE, ctx, free=bool(request.show_defaults or request.estimate_cost))
    transport = make_transport(begun.settings, ctx.console)
    plan = plan_video(request.prompt, begun.settings, begun.catalog, ctx.console, preset=begun.preset,
                      transport=transport, load_inputs=not (request.show_defaults or request.estimate_cost))
    free = free_outcome(request, plan, SHOWN_SETTINGS, [plan.create] if plan.create else [], PREVIEW_SETTINGS)
    if free is not None:
        return Outcome(free)
    store, ledger = store_for(plan.settings), ledger_for(plan.settings)
    plan.session = video_session(plan)
    try:
        submitted = _submit(plan, begun.catalog, store, ledger, transport, ctx)
    except errors.ApiError as exc:
        explain_model_error(exc, begun.catalog, plan)
        raise
    return Started(plan, submitted.job_id, store, ledger, transport, submitted.initial)


def _submit(plan: VideoPlan, catalog: Any, store: JobStore, ledger: Ledger, transport: Transport,
            ctx: Context) -> Any:
    """Submit once; a continued Omni interaction Google no longer has falls back to sending the clip.

    The 404 bills nothing; the fallback is a new paid create, priced again and passed through the same gate.
    """
    try:
        return submit(plan, store, ledger, transport, ctx.console)
    except errors.NotFoundError:
        if not (plan.inputs.source or {}).get("previous_interaction_id"):
            raise
    plan = fallback_to_clip(plan, catalog, transport, ctx.console)
    gate(budget_of(plan.estimate), cap_of(plan.settings), spending=True)
    plan.session = video_session(plan)
    return submit(plan, store, ledger, transport, ctx.console)


def finished(started: Started, ctx: Context, timeout_s: float) -> Outcome:
    """Wait up to ``timeout_s`` for the job, then download its result (StillRunning names the job)."""
    document = wait(started.job_id, started.store, started.plan.settings, started.transport, ctx.console,
                    timeout_s=timeout_s, initial=started.initial, ledger=started.ledger)
    source = started.plan.inputs.source or {}
    if started.plan.settings.get("continue_from"):
        document = {**document, "continued": {key: source.get(key) for key in
                                              ("source", "previous_interaction_id", "task", "fallback")
                                              if source.get(key) is not None}}
    return Outcome(document, media_files(document.get("videos"), "video"))


def _running(started: Started, next_step: str) -> dict[str, Any]:
    return {**started.plan.describe(), "job_id": started.job_id, "state": "running", "next": next_step}
