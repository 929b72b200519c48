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

import time
from pathlib import Path
from typing import Any, Callable

from mediagen import __version__
from mediagen.config.credentials import BackendChoice
from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.resources import script_command
from mediagen.ops import conversations, downloads, lro, uploads
from mediagen.ops.jobstore import TERMINAL_STATES, JobStore, VideoJob, new_job_id, now_iso
from mediagen.ops.ledger import Ledger, describe_cost
from mediagen.ops.output import OutputPlan, Sidecar, write_sidecar
from mediagen.ops.preflight import check_before_paying
from mediagen.ops.providers import OmniProvider, PollResult, describe_operation_error, provider_for
from mediagen.ops.rescue import paid_not_saved
from mediagen.ops.videos import PARAM_KEYS, VideoPlan, build_create
from mediagen.transport.http import Transport
from mediagen.wire import interactions as omni_wire
from mediagen.wire import replies

# Typical fastest generation time per family: the first poll waits this long.
FIRST_POLL_S = {"veo": 10.0, "omni": 8.0}
TYPICAL_TOTAL_S = {"veo": 75.0, "omni": 45.0}
# Between polls: 2 s for the first minute, then 4 s up to three minutes, then 8 s (never hammering).
SCHEDULE = lro.Schedule(steps=((60.0, 2.0), (180.0, 4.0)), then=8.0)


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
    check_before_paying(output=output.folder, store=store.folder, ledger=ledger.path)
    if uploads.stage(plan.inputs.images(), plan.choice, plan.settings, transport, console):
        plan.create = build_create(plan)          # large images uploaded to the gcs_bucket: sent as gs:// URIs
    store.create(_record(plan, job_id, output))
    _ledger(ledger, job_id, plan, "submitted")
    console.info(f"job {job_id}: sending the create request ({plan.mode}, {plan.model_id}); "
                 f"estimated cost {describe_cost(plan.estimate)}")
    try:
        with transport.stream_body(plan.create, plan.choice.credential.auth) as body:
            doc = replies.read_reply(body, plan.provider.shape, _create_subject(job_id, plan))
        handle = plan.provider.handle(doc)
    except errors.MediagenError as exc:
        _create_failed(job_id, plan, exc, store, ledger)
        raise
    record = lro.record_accepted(store, job_id, handle)
    console.info(f"job {job_id}: accepted as {handle}")
    return lro.Submitted(record, _synchronous_answer(plan, doc))


def _create_subject(job_id: str, plan: VideoPlan) -> replies.Subject:
    """How an unusable answer to the create call is named, and what to do: never send it again."""
    assert plan.create is not None
    return replies.Subject(
        f"job {job_id} ({plan.create.label})",
        f"mediagen will not send it again (that could bill twice): the job is recorded as unknown. Check "
        f"{script_command('jobs.py', 'list')} and your usage (AI Studio or the Cloud console) before starting a "
        "new generation.")


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
    return plan.provider.result_of(state)


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
        session=plan.session,
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
    exc.hint = (f"The job is recorded and was not resent; resume it with {script_command('jobs.py', 'wait', job_id)} "
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
        "Cloud console / AI Studio usage before generating again.", details={"job_id": record.job_id})


def _still_running(record: VideoJob, waited: float) -> errors.StillRunning:
    job_id = record.job_id
    error = errors.StillRunning(f"job {job_id} is still running after waiting {waited:.0f}s",
                                f"Nothing is lost: resume with {script_command('jobs.py', 'wait', job_id)} "
                                "(it never sends a new create request).",
                                details={"job_id": job_id, "state": record.remote_state or "running",
                                         "next": script_command("jobs.py", "wait", job_id)})
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
    try:
        videos = downloads.save_results(record, outcome.media, store, settings, transport, choice, console)
    except downloads.Unsaved as unsaved:
        raise _not_saved(record, outcome, unsaved, ledger) from unsaved.error
    except errors.BadReply as exc:          # paid for, but not a video: the job stays to be fetched again
        raise _not_a_video(record, exc) from exc
    except errors.ResultExpired as exc:     # paid for, and gone: the job ends here
        return _close_expired(record, outcome, store, ledger, exc)
    actual = actual_cost(record, outcome, len(videos))
    session = conversations.record_video_turn(record, videos, actual, settings, console)
    for video in videos:
        sidecar = _sidecar(record, video, outcome, actual, len(videos))
        if session:
            sidecar.set(session=session)
            video["session"] = session
        video["sidecar"] = str(write_sidecar(Path(video["path"]), sidecar))
    record = store.update(job_id, state="succeeded", outputs=videos, actual_usd=actual, finished=now_iso(),
                          usage=outcome.usage or None)
    console.info(f"job {job_id}: actual cost " + (f"${actual:.4f}" if actual is not None else "unpriced"))
    if ledger is not None:
        ledger.append_final({"run_id": job_id, "command": "video_gen", "status": "succeeded",
                             "model": record.model["id"], "backend": record.backend["name"],
                             "estimate_usd": record.estimate.get("estimate_usd"), "actual_usd": actual,
                             "files": [v["path"] for v in videos]}, record.estimate.get("max_cost"), console)
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
        return errors.GenerationFailed(f"job {record.job_id} was cancelled",
                                       "The generation was stopped before it finished, so it has no result.",
                                       details={"job_id": record.job_id})
    if record.state == "expired":
        return errors.ResultExpired(error.get("message", f"job {record.job_id} expired"), error.get("hint", ""),
                                    details={"job_id": record.job_id})
    return errors.GenerationFailed(error.get("message", f"job {record.job_id} {record.state}"),
                                   error.get("hint", "See details."),
                                   details={"job_id": record.job_id, "error": error})


# -- downloads ----------------------------------------------------------------------

def _close_expired(record: VideoJob, outcome: Any, store: JobStore, ledger: Ledger | None,
                   exc: errors.ResultExpired) -> VideoJob:
    """The result expired before it was downloaded: billed, lost, and the job's final state says so."""
    actual = actual_cost(record, outcome, len(outcome.media))
    downloads.forget_partials(record)
    cost = f"${actual:.4f}" if actual is not None else "at the model's price (unpriced here)"
    error = {"type": "expired", "message": f"job {record.job_id}: the generated video expired on Google's side before "
                                           f"it was downloaded ({exc.message}). It was billed ({cost}) and the "
                                           "result is lost",
             "hint": "Nothing more can be fetched for this job. Generate it again if you still need it (that is billed "
                     "again); Gemini API results are kept 2 days, so download promptly (video_gen.py waits and "
                     "downloads by default)."}
    record = store.update(record.job_id, state="expired", error=error, actual_usd=actual, finished=now_iso())
    if ledger is not None:
        ledger.append({"run_id": record.job_id, "command": "video_gen", "status": "expired",
                       "model": record.model["id"], "backend": record.backend["name"],
                       "estimate_usd": record.estimate.get("estimate_usd"), "actual_usd": actual})
    return record


def _not_a_video(record: VideoJob, exc: errors.BadReply) -> errors.MediagenError:
    """A result that failed the media check: named, possibly billed, and how to fetch it again."""
    job_id = record.job_id
    subject = replies.Subject(f"job {job_id}", "Nothing was saved. Fetch the result again with: "
                                               f"{script_command('jobs.py', 'download', job_id)} (no new generation); "
                                               "if it keeps failing, the file on Google's side is broken: check your "
                                               "usage before generating again.", "the job may have been billed")
    return replies.possibly_billed(exc.message, subject).for_job(job_id)


def _not_saved(record: VideoJob, outcome: Any, unsaved: downloads.Unsaved,
               ledger: Ledger | None) -> errors.PaidNotSaved:
    """Exit 10: the job is paid for and stays resumable; the ledger records what it cost."""
    job_id = record.job_id
    actual = actual_cost(record, outcome, len(outcome.media))
    if ledger is not None:
        try:
            ledger.append({"run_id": job_id, "command": "video_gen", "status": "paid_not_saved",
                           "model": record.model["id"], "backend": record.backend["name"],
                           "estimate_usd": record.estimate.get("estimate_usd"), "actual_usd": actual,
                           "rescued": [str(unsaved.rescued)] if unsaved.rescued else []})
        except OSError:
            pass            # the error below says everything the line would have
    recover = (f"When there is space again, run: {script_command('jobs.py', 'download', job_id)} (it fetches the "
               "finished result again: no new generation, no new charge).")
    error = paid_not_saved("the video", unsaved.target, unsaved.error,
                           [unsaved.rescued] if unsaved.rescued else [], identity=f"job {job_id}",
                           recover=recover, remote=unsaved.remote or f"job {job_id}, {record.handle}")
    return error.for_job(job_id)


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
