"""Use cases over recorded jobs: list, check, wait for, download, cancel (``jobs.py``; MCP job tools).

Nothing here sends a create request: a job is only ever polled, downloaded or
cancelled, so resuming it from any process never bills twice.
"""
from __future__ import annotations

from typing import Any

from mediagen.app.context import Context
from mediagen.app.generation import resolve
from mediagen.app.outcome import Outcome, media_files
from mediagen.app.requests import DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, JobQuery
from mediagen.app.runtime import make_transport
from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.resources import script_command
from mediagen.ops import batch_api, vertex_batch
from mediagen.ops.jobstore import (ABANDONED, TERMINAL_STATES, BatchJob, JobRecord, JobStore, VertexBatchJob,
                                  store_for)
from mediagen.ops.ledger import ledger_for
from mediagen.ops.lro import resume_choice
from mediagen.ops.providers import provider_for
from mediagen.ops.videojobs import outcome_of, wait
from mediagen.ops.videos import DEFAULT_WAIT_TIMEOUT_S

SHOWN_SETTINGS = ("backend", "project_id", "location", "poll_first_s", "poll_interval_s")


def job_command(query: JobQuery, ctx: Context) -> Outcome:
    """``jobs.py ACTION [JOB]``: the listing, or the job's outcome after polling/waiting/cancelling."""
    settings = resolve(query, ctx, "video")
    store = store_for(settings)
    if query.show_defaults:
        return Outcome(_defaults(settings, store))
    if query.action == "list":
        return list_jobs(query, store, ctx)
    record = _record(query, store)
    if isinstance(record, BatchJob):        # Gemini Batch API and Vertex batch prediction image jobs (batch_gen.py)
        command = vertex_batch.job_command if isinstance(record, VertexBatchJob) else batch_api.job_command
        transport = make_transport(settings, ctx.console)
        return Outcome(command(query.action, record, store, settings, transport, ctx.console,   # type: ignore[arg-type]
                               wait_timeout=query.wait_timeout, ledger=ledger_for(settings)))
    if query.action == "cancel":
        return cancel(record, store, settings, ctx)
    if record.state in TERMINAL_STATES:
        return _video_outcome(outcome_of(record))
    timeout = _timeout(query)
    document = wait(record.job_id, store, settings, make_transport(settings, ctx.console), ctx.console,
                    timeout_s=timeout, ledger=ledger_for(settings), poll_now=query.action != "wait")
    return _video_outcome(document)


def get_video(query: JobQuery, ctx: Context) -> Outcome:
    """Poll a video job for at most ``wait_seconds`` (50 s); download it once done; say so while it runs."""
    settings = resolve(query, ctx, "video")
    store = store_for(settings)
    record = _record(query, store)
    kind = record.kind or "video"
    if kind != "video":         # the store is shared with other job kinds (e.g. image batches)
        raise errors.UsageError(f"job {query.job_id} is a {kind} job, not a video job",
                                f"Check it with {script_command('jobs.py', 'status', query.job_id)}.")
    seconds = DEFAULT_WAIT_SECONDS if query.wait_seconds is None else query.wait_seconds
    ctx.console.progress(f"job {query.job_id}: checking", 0.0)
    try:
        document = wait(record.job_id, store, settings, make_transport(settings, ctx.console), ctx.console,
                        timeout_s=max(0.0, min(MAX_WAIT_SECONDS, seconds)), ledger=ledger_for(settings),
                        poll_now=True)
    except errors.StillRunning as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        return Outcome({"job_id": query.job_id, "state": "running", "done": False,
                        "remote_state": details.get("state"), "message": exc.message,
                        "next": f"call get_video again with job_id {query.job_id}; the job keeps running meanwhile"})
    outcome = _video_outcome(document)
    return Outcome({**outcome.document, "done": True}, outcome.files)


def list_jobs(query: JobQuery, store: JobStore, ctx: Context) -> Outcome:
    """The newest jobs first (optionally one state, or 'active'); damaged record files are named, not fatal."""
    records, damaged = store.scan(query.state, limit=max(1, query.limit))
    document: dict[str, Any] = {"store": str(store.folder),
                                "jobs": [summary(r) for r in records]}
    if damaged:
        document["damaged"] = [{"file": str(d.path), "problem": d.problem} for d in damaged]
        for item in damaged:
            ctx.console.warn(f"skipped the damaged job record {item.path}: {item.problem}")
    return Outcome(document)


def cancel(record: JobRecord, store: JobStore, settings: Settings, ctx: Context) -> Outcome:
    """Cancel where the API allows it (Omni interactions); a Veo job (no cancel at Google) is abandoned instead.

    An abandoned job may still finish and be billed, so ``jobs.py wait``/``download`` can still fetch it.
    """
    if record.state in TERMINAL_STATES:
        return Outcome({**summary(record), "cancelled": False, "reason": f"job already {record.state}"})
    provider = provider_for(record.model.get("family"), record.model["id"])
    request = provider.cancel_request(record, settings) if record.handle else None
    if request is None:
        return _abandon(record, store, ctx)
    auth = resume_choice(record, settings, "video").credential.auth
    make_transport(settings, ctx.console).send_json(request, auth)
    record = store.update(record.job_id, state="cancelled")
    return Outcome({**summary(record), "cancelled": True, "cancelled_remotely": True})


def _abandon(record: JobRecord, store: JobStore, ctx: Context) -> Outcome:
    """Stop waiting for a job Google cannot cancel; it stays fetchable if it finishes."""
    job_id = record.job_id
    note = (f"Google offers no cancel for Veo operations: job {job_id} is abandoned here, but the operation may still "
            f"finish and be billed. If it does, {script_command('jobs.py', 'wait', job_id)} (or download) still "
            "fetches the video; it never sends a new create.")
    ctx.console.warn(note)
    record = store.update(job_id, state=ABANDONED)
    return Outcome({**summary(record), "cancelled": False, "abandoned": True, "cancelled_remotely": False,
                    "note": note, "next": script_command("jobs.py", "wait", job_id)})


def summary(record: JobRecord) -> dict[str, Any]:
    """One line of ``jobs.py list``."""
    prompt = record.prompt or ""
    return {"job_id": record.job_id, "state": record.state, "created": record.created,
            "model": (record.model or {}).get("id"), "mode": record.mode,
            "backend": record.backend, "prompt": prompt[:80],
            "outputs": [o.get("path") for o in record.outputs or []],
            "estimate_usd": (record.estimate or {}).get("estimate_usd"),
            "actual_usd": record.actual_usd}


def _record(query: JobQuery, store: JobStore) -> JobRecord:
    if not query.job_id:
        raise errors.UsageError(f"jobs.py {query.action} needs a job id",
                                f"Run {script_command('jobs.py', 'list')} to see job ids.")
    return store.get(query.job_id, complete=True)


def _timeout(query: JobQuery) -> float:
    if query.action != "wait":
        return 0.0
    return DEFAULT_WAIT_TIMEOUT_S if query.wait_timeout is None else query.wait_timeout


def _defaults(settings: Settings, store: JobStore) -> dict[str, Any]:
    return {"settings": {**settings.show(SHOWN_SETTINGS),
                         "job_store": {"value": str(store.folder), "source": settings.source("job_store")
                                       or "default (per-user state folder)"}}}


def _video_outcome(document: dict[str, Any]) -> Outcome:
    return Outcome(document, media_files(document.get("videos"), "video"))
