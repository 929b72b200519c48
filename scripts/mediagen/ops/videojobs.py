"""Durable video jobs: submit once, poll from any process, download exactly once.

``submit`` records the job before the create request and the operation (or
interaction) id right after it, before any poll. ``wait`` polls on a schedule
(first poll near the model's usual minimum time, then every few seconds,
slower as time goes on) until done or until its deadline, when the job keeps
running and ``jobs.py wait`` resumes it. ``finish`` runs under the job's lock,
so two processes never download (or bill the ledger) twice. The loop itself is
``mediagen.ops.lro``, shared with Gemini Batch API jobs.
"""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from mediagen import __version__
from mediagen.config.credentials import BackendChoice
from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.ops import frames, gcs, lro
from mediagen.ops.jobstore import TERMINAL_STATES, JobStore, VideoJob, new_job_id, now_iso
from mediagen.ops.ledger import Ledger, describe_cost
from mediagen.ops.output import (
    OutputPlan,
    Sidecar,
    extension_for,
    release,
    reserve_unique,
    write_sidecar,
)
from mediagen.ops.payloads import save_payload
from mediagen.ops.providers import (
    OmniProvider,
    PollResult,
    describe_operation_error,
    provider_for,
)
from mediagen.ops.videos import PARAM_KEYS, VideoPlan
from mediagen.transport.http import HttpRequest, Transport
from mediagen.wire import interactions as omni_wire
from mediagen.wire.blobs import read_json_stream
from mediagen.wire.common import MediaPayload

# Typical fastest generation time per family: the first poll waits this long.
FIRST_POLL_S = {"veo": 10.0, "omni": 8.0}
TYPICAL_TOTAL_S = {"veo": 75.0, "omni": 45.0}
# Between polls: 2 s for the first minute, then 4 s up to three minutes, then 8 s (never hammering).
SCHEDULE = lro.Schedule(steps=((60.0, 2.0), (180.0, 4.0)), then=8.0)
GEMINI_FILE_RETENTION = dt.timedelta(days=2)
FILE_ACTIVE_POLLS = 30


# -- submit -------------------------------------------------------------------------

def submit(plan: VideoPlan, store: JobStore, ledger: Ledger, transport: Transport, console: Console,
           output_target: str | None = None, *, job_id: str | None = None) -> lro.Submitted:
    """Record the job, send the (billable) create request once, record its handle.

    ``job_id`` lets a caller (the storyboard manifest) write the id down before
    anything is sent. The result carries the record, and the finished answer
    when the server answered the create call synchronously (nothing to poll).
    """
    assert plan.create is not None
    output = OutputPlan(output_target or plan.settings.get("output"), plan.settings["output_dir"], plan.prompt,
                        "video")
    job_id = job_id or new_job_id()
    store.create(_record(plan, job_id, output))
    _ledger(ledger, job_id, plan, "submitted")
    console.info(f"job {job_id}: sending the create request ({plan.mode}, {plan.model_id}); "
                 f"estimated cost {describe_cost(plan.estimate)}")
    try:
        with transport.send(plan.create, plan.choice.credential.auth, stream=True) as response:
            doc = read_json_stream(response.iter_content(1 << 20))
        handle = plan.provider.handle(doc)
    except errors.MediagenError as exc:
        _create_failed(job_id, plan, exc, store, ledger)
        raise
    record = lro.record_accepted(store, job_id, handle)
    console.info(f"job {job_id}: accepted as {handle}")
    return lro.Submitted(record, _synchronous_answer(plan, doc))


def _create_failed(job_id: str, plan: VideoPlan, exc: errors.MediagenError, store: JobStore,
                   ledger: Ledger) -> None:
    """Record the failure; when Google may have started (and will bill) the job it is "unknown", never resent."""
    unknown = lro.may_have_started(exc)
    state = "unknown" if unknown else "failed"
    store.update(job_id, state=state, error=exc.to_dict())
    _ledger(ledger, job_id, plan, state, actual_usd=None if unknown else 0.0)
    exc.for_job(job_id)


def _ledger(ledger: Ledger, job_id: str, plan: VideoPlan, status: str, **fields: Any) -> None:
    ledger.append({"run_id": job_id, "command": "video_gen", "status": status, "model": plan.model_id,
                   "backend": plan.choice.backend, "estimate_usd": plan.estimate.usd, **fields})


def _synchronous_answer(plan: VideoPlan, doc: dict[str, Any]) -> PollResult | None:
    """An Omni create call may answer with the finished interaction: then there is nothing to poll."""
    if not isinstance(plan.provider, OmniProvider):
        return None
    state = omni_wire.parse_interaction(doc)
    if not state.done:
        return None
    return PollResult(True, "blocked" if state.failed else "succeeded", outcome=state.outcome,
                      error=state.errors[0] if state.failed and state.errors else None)


def _record(plan: VideoPlan, job_id: str, output: OutputPlan) -> VideoJob:
    choice = plan.choice
    first_poll = plan.settings.get("poll_first_s")
    if first_poll is None:
        first_poll = FIRST_POLL_S.get(plan.provider.name, 10.0)
    return VideoJob.of(
        job_id=job_id, kind="video", state="submitting", provider=plan.provider.name,
        backend=choice.describe(), express=choice.express,
        location=plan.location, model=plan.model_info(), mode=plan.mode, prompt=plan.prompt,
        parameters=plan.settings.show(PARAM_KEYS), inputs=plan.inputs.describe(),
        extend_source=plan.inputs.source, request=plan.request,
        output={**output.describe(), "upload_gcs": plan.settings.get("upload_gcs")},
        estimate=plan.cost(), pricing=plan.pricing_hint, polls=0, first_poll_s=first_poll,
    )


# -- wait / poll --------------------------------------------------------------------

def wait(job_id: str, store: JobStore, settings: Settings, transport: Transport, console: Console, *,
         timeout_s: float, clock: lro.Clock | None = None, initial: PollResult | None = None,
         ledger: Ledger | None = None, poll_now: bool = False) -> dict[str, Any]:
    """Poll until the job finishes (then download) or ``timeout_s`` passes (``StillRunning``).

    ``poll_now`` polls once immediately (``jobs.py status``) instead of waiting
    for the model's usual minimum time.
    """
    clock = clock or lro.Clock()
    record = store.get(job_id, VideoJob)
    if record.state in TERMINAL_STATES:
        return outcome_of(record)
    _require_handle(record)
    choice = lro.resume_choice(record, settings, "video")
    first = 10.0 if record.first_poll_s is None else float(record.first_poll_s)
    timing = lro.Timing.starting(lro.first_poll_at(record, first, clock),
                                 SCHEDULE.fixed_at(settings.get("poll_interval_s")), timeout_s, clock,
                                 poll_now=poll_now, budget=lro.shared_budget(settings, clock))
    driver = lro.Driver(poll=_poller(settings, transport, choice), report=_reporter(console, clock),
                        finish=lambda result: finish(job_id, store, settings, transport, console, result, choice,
                                                     ledger),
                        still_running=_still_running)
    return lro.wait_until_done(record, store, driver, timing, initial)


def _poller(settings: Settings, transport: Transport,
            choice: BackendChoice) -> Callable[[VideoJob], PollResult]:
    """One poll of a job; a failed poll says how to resume the (safe) job."""
    def poll(record: VideoJob) -> PollResult:
        provider = provider_for(record.model.get("family"), record.model["id"])
        try:
            return provider.poll(record, settings, transport, choice.credential.auth)
        except errors.MediagenError as exc:
            raise _resumable(exc, record.job_id) from exc
    return poll


def _reporter(console: Console, clock: lro.Clock) -> Callable[[VideoJob, PollResult], None]:
    """A progress line per poll, with the share of the family's typical time."""
    def report(record: VideoJob, result: PollResult) -> None:
        elapsed = lro.elapsed_s(record, clock)
        total = TYPICAL_TOTAL_S.get(record.provider or "veo", 60.0)
        console.progress(f"job {record.job_id}: {result.state}", elapsed,
                         min(0.95, elapsed / total) if total else None)
    return report


def _resumable(exc: errors.MediagenError, job_id: str) -> errors.MediagenError:
    """A poll failed after its retries: the job itself is safe, so say how to pick it up again."""
    exc.hint = (f"The job is recorded and was not resent; resume it with scripts/jobs.py wait {job_id} "
                f"once this is fixed. {exc.hint}").strip()
    exc.for_job(job_id)
    return exc


def _require_handle(record: VideoJob) -> None:
    if record.handle:
        return
    state = record.state
    raise errors.GenerationFailed(
        f"job {record.job_id} has no operation id (state {state}): the create call "
        f"{'may or may not have reached Google' if state in ('submitting', 'unknown') else 'failed'}",
        "Nothing can be resumed and mediagen will not resend it (that could bill twice). Check the Google "
        "Cloud console / AI Studio usage before generating again.")


def _still_running(record: VideoJob, waited: float) -> errors.StillRunning:
    job_id = record.job_id
    error = errors.StillRunning(f"job {job_id} is still running after waiting {waited:.0f}s",
                                f"Nothing is lost: resume with scripts/jobs.py wait {job_id} "
                                "(it never sends a new create request).",
                                details={"job_id": job_id, "state": record.remote_state or "running",
                                         "next": f"scripts/jobs.py wait {job_id}"})
    error.partial = {"job_id": job_id, "state": "running"}
    return error


# -- finish -------------------------------------------------------------------------

def finish(job_id: str, store: JobStore, settings: Settings, transport: Transport, console: Console,
           result: PollResult, choice: BackendChoice, ledger: Ledger | None) -> dict[str, Any]:
    """Save the results (once, under the job lock), record cost and state; raise for blocked/failed."""
    def save(record: VideoJob) -> VideoJob:
        outcome = result.outcome
        if result.state == "failed" or (result.error and not (outcome and outcome.media)):
            return _close_unsuccessful(record, store, ledger, result)
        if outcome is None or not outcome.media:
            return _close_unsuccessful(record, store, ledger, PollResult(True, "blocked", outcome=outcome))
        return _close_success(record, outcome, store, settings, transport, choice, console, ledger)

    return lro.finish_once(store, job_id, save, outcome_of)


def _close_success(record: VideoJob, outcome: Any, store: JobStore, settings: Settings, transport: Transport,
                   choice: BackendChoice, console: Console, ledger: Ledger | None) -> VideoJob:
    job_id = record.job_id
    store.update(job_id, state="downloading")
    videos = _save_videos(record, outcome.media, settings, transport, choice, console)
    actual = actual_cost(record, outcome, len(videos))
    for video in videos:
        video["sidecar"] = str(write_sidecar(Path(video["path"]), _sidecar(record, video, outcome, actual,
                                                                            len(videos))))
    record = store.update(job_id, state="succeeded", outputs=videos, actual_usd=actual, finished=now_iso(),
                          usage=outcome.usage or None)
    console.info(f"job {job_id}: actual cost " + (f"${actual:.4f}" if actual is not None else "unpriced"))
    if ledger is not None:
        ledger.append({"run_id": job_id, "command": "video_gen", "status": "succeeded",
                       "model": record.model["id"], "backend": record.backend["name"],
                       "estimate_usd": record.estimate.get("estimate_usd"), "actual_usd": actual,
                       "files": [v["path"] for v in videos]})
    return record


def _close_unsuccessful(record: VideoJob, store: JobStore, ledger: Ledger | None, result: PollResult) -> VideoJob:
    outcome = result.outcome
    if result.state == "blocked" or (outcome is not None and outcome.filtered_reasons and not result.error):
        reasons = (outcome.filtered_reasons if outcome else []) or [str((result.error or {}).get("message", ""))]
        state, error = "blocked", {"type": "blocked", "message": "no video returned: " + "; ".join(
            r for r in reasons if r) or "no video returned", "reasons": reasons}
    else:
        message, hint = describe_operation_error(result.error or {})
        state, error = "failed", {"type": "generation_failed", "message": message, "hint": hint,
                                  "operation_error": result.error}
    record = store.update(record.job_id, state=state, error=error, actual_usd=0.0, finished=now_iso())
    if ledger is not None:
        ledger.append({"run_id": record.job_id, "command": "video_gen", "status": state,
                       "model": record.model["id"], "backend": record.backend["name"],
                       "estimate_usd": record.estimate.get("estimate_usd"), "actual_usd": 0.0})
    return record


def outcome_of(record: VideoJob) -> dict[str, Any]:
    """The stdout fields for a finished job, or the error its state means."""
    state = record.state
    doc = {"job_id": record.job_id, "state": state, "videos": record.outputs or [],
           "backend": record.backend,
           "model": record.model, "mode": record.mode, "operation": record.handle,
           "cost": {**record.estimate, "actual_usd": record.actual_usd},
           "polls": record.polls}
    if state == "succeeded":
        return doc
    exc = _state_error(record)
    exc.partial = doc
    raise exc


def _state_error(record: VideoJob) -> errors.MediagenError:
    """The error a job's final (unsuccessful) state means."""
    error = record.error or {}
    if record.state == "blocked":
        return errors.GenerationBlocked(
            error.get("message", "no video returned"),
            "Safety filters removed the video (nothing was billed). Rephrase the prompt: avoid real people, "
            "violence, brands and minors, or describe the scene more neutrally.",
            reason="; ".join(error.get("reasons", [])) or None, details={"job_id": record.job_id})
    if record.state == "cancelled":
        return errors.GenerationFailed(f"job {record.job_id} was cancelled", "Start a new generation if needed.")
    return errors.GenerationFailed(error.get("message", f"job {record.job_id} {record.state}"),
                                   error.get("hint", "See details."),
                                   details={"job_id": record.job_id, "error": error})


# -- downloads -----------------------------------------------------------------------

def _save_videos(record: VideoJob, media: list[MediaPayload], settings: Settings, transport: Transport,
                 choice: BackendChoice, console: Console) -> list[dict[str, Any]]:
    plan = record.output
    folder, stem = Path(plan["folder"]), plan["stem"]
    videos = []
    for index, payload in enumerate(media, start=1):
        name = stem if len(media) == 1 else f"{stem}-{index}"
        path = reserve_unique(folder, name, extension_for(payload.mime_type, ".mp4"))
        try:
            info = _fetch(payload, path, record, settings, transport, choice)
        except BaseException:
            release([path])
            raise
        info["duration_s"] = frames.duration_or_none(path)
        if plan.get("upload_gcs"):
            info["gcs_uri"] = gcs.upload(path, plan["upload_gcs"], transport=transport,
                                         auth=choice.credential.auth, base_url=settings["gcs_base_url"])
            console.info(f"uploaded {path.name} to {info['gcs_uri']}")
        console.info(f"saved {path} ({info['bytes']} bytes)")
        videos.append(info)
    return videos


def _fetch(payload: MediaPayload, path: Path, record: VideoJob, settings: Settings, transport: Transport,
           choice: BackendChoice) -> dict[str, Any]:
    """Write one result to ``path``: inline bytes, a gs:// object, or a Gemini file (key in a header)."""
    if payload.data is not None:
        return save_payload(payload, path)
    uri = payload.uri or ""
    if uri.startswith("gs://"):
        done = gcs.download(uri, path, transport=transport, auth=choice.credential.auth,
                            base_url=settings["gcs_base_url"])
        return {"path": str(path), "mime_type": payload.mime_type, "bytes": done.size, "sha256": done.sha256,
                "remote": {"gcs_uri": uri}}
    auth = choice.credential.auth if _trusted(uri, settings) else None
    if isinstance(provider_for(record.model.get("family"), record.model["id"]), OmniProvider):
        _wait_file_active(uri, settings, transport, auth)
    try:
        done = transport.download(HttpRequest("GET", uri, label="video download"), path, auth)
    except errors.NotFoundError as exc:
        exc.hint = ("The generated file is gone: Gemini API results are kept for 2 days. "
                    "Generate again (this job cannot be re-downloaded).")
        raise
    expires = (dt.datetime.now(dt.timezone.utc) + GEMINI_FILE_RETENTION).isoformat(timespec="seconds")
    return {"path": str(path), "mime_type": payload.mime_type, "bytes": done.size, "sha256": done.sha256,
            "remote": {"uri": uri, "expires": expires}}


def _trusted(uri: str, settings: Settings) -> bool:
    """Send the API key only to Google (or to the configured Gemini base URL's host)."""
    host = urlparse(uri).hostname or ""
    base = urlparse(settings["gemini_base_url"] or "").hostname or ""
    return host == base or host.endswith(".googleapis.com")


def _wait_file_active(uri: str, settings: Settings, transport: Transport, auth: Any) -> None:
    """Files-API results must be ACTIVE before download."""
    file_id = omni_wire.file_id_from_uri(uri)
    if not file_id or auth is None:
        return
    parsed = urlparse(uri)
    version = parsed.path.strip("/").split("/")[0] or settings["gemini_api_version"]
    url = f"{parsed.scheme}://{parsed.netloc}/{version}/files/{file_id}"
    for _ in range(FILE_ACTIVE_POLLS):
        state = transport.send_json(HttpRequest("GET", url, label="files.get"), auth).get("state")
        if state in (None, "ACTIVE"):
            return
        if state == "FAILED":
            raise errors.GenerationFailed("the generated file failed processing on Google's side",
                                          "Generate again; failed files are not billed.")
        time.sleep(1.0)




# -- costs and sidecars ------------------------------------------------------------------

def actual_cost(record: VideoJob, outcome: Any, produced: int) -> float | None:
    """Omni: from the returned video tokens; Veo: the catalog price for what was produced."""
    estimate = record.estimate or {}
    if not estimate.get("priced"):
        return None
    if record.provider == "omni":
        tokens = omni_wire.video_output_tokens(outcome.usage or {})
        rate = (record.pricing or {}).get("usd_per_million_video_tokens")
        if tokens and rate:
            return round(tokens * rate / 1_000_000, 6)
    count = int((record.request or {}).get("count") or 1)
    usd = estimate.get("estimate_usd") or 0.0
    return round(usd * produced / max(1, count), 6)


def _sidecar(record: VideoJob, video: dict[str, Any], outcome: Any, actual: float | None,
             produced: int) -> Sidecar:
    per_video = round(actual / produced, 6) if actual is not None and produced else actual
    sidecar = Sidecar.of(
        mediagen_version=__version__, kind="video",
        created=now_iso(), file=Path(video["path"]).name, mime_type=video["mime_type"],
        bytes=video["bytes"], sha256=video["sha256"], duration_s=video.get("duration_s"),
        prompt=record.prompt, mode=record.mode, model=record.model,
        backend=record.backend, location=record.location, job_id=record.job_id,
        operation=record.handle, parameters=record.parameters, inputs=record.inputs,
        extend_source=record.extend_source, usage=outcome.usage or None,
        text=outcome.text or None,
        cost={**record.estimate, "actual_usd": per_video},
        timings={"submitted": record.submitted, "finished": now_iso(),
                 "processing_s": round(time.time() - float(record.submitted_epoch or time.time()), 1),
                 "polls": record.polls},
        safety={"blocked": False},
    )
    if video.get("remote"):
        sidecar.set(remote=video["remote"])
    if video.get("gcs_uri"):
        sidecar.set(gcs_uri=video["gcs_uri"])
    if record.provider == "omni":
        sidecar.set(omni={"interaction_id": record.handle})
    return sidecar
