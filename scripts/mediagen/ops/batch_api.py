"""Gemini Batch API jobs for image batches: submit once, poll from any process, save once.

A job is recorded in the job store (kind ``image-batch``) before anything is
sent, and the batch name (``batches/ID``) right after the create call, before
any poll, exactly like a video job. Requests go inline while the body stays
under 20 MB, else as a JSONL file uploaded through the Files API. Every
request carries a key ``<item key>-<n>``, so each answer maps back to its input
line. ``finish`` runs under the job's lock: results (inlined, or the responses
file streamed to disk) are split into files with sidecars, one results-file
line per item, the ledger entry, and the record's final state. The
submit/poll/finish skeleton is ``mediagen.ops.lro``, shared with video jobs.

The Batch API bills 50% of the standard price; the estimate with and without
the discount travels in the record and every output.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from mediagen.config.credentials import BackendChoice
from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.resources import script_command
from mediagen.ops import batch_jobs, files_api, lro
from mediagen.ops.batch.planning import BatchItem, ResultsFile
from mediagen.ops.images import ImagePlan, stage_inputs
from mediagen.ops.jobstore import TERMINAL_STATES, BatchJob, JobStore, new_job_id, now_iso
from mediagen.ops.ledger import Ledger
from mediagen.ops.output import OutputPlan
from mediagen.ops.preflight import check_before_paying
from mediagen.ops.targets import model_method_url
from mediagen.transport.http import HttpRequest, Transport
from mediagen.wire import batch as batch_wire
from mediagen.wire import endpoints
from mediagen.wire import replies
from mediagen.wire.blobs import read_json_stream

RECORD_KIND = "image-batch"
INLINE_LIMIT_BYTES = 20 * 1024 * 1024
FIRST_POLL_S = 5.0
# Batch jobs take minutes to hours: a poll every 10 s for a minute, 30 s up to ten minutes, then 60 s.
SCHEDULE = lro.Schedule(steps=((60.0, 10.0), (600.0, 30.0)), then=60.0)
DEFAULT_WAIT_TIMEOUT_S = 480.0


# -- eligibility and prices ---------------------------------------------------------------

def check_eligible(items: list[BatchItem], catalog: Any, console: Console) -> None:
    """Refuse (before sending) items the Gemini Batch API cannot take, naming their lines."""
    problems = []
    for item in items:
        problem = _ineligible(item, catalog)
        if problem:
            problems.append(f"line {item.line}: {problem}")
        elif catalog.get(item.plan.model_id) is None:
            console.warn(f"line {item.line}: {item.plan.model_id} is not in the catalog; the Batch API may refuse it")
    if problems:
        raise errors.ValidationError(f"--via batch-api cannot take {len(problems)} item(s); first: {problems[0]}",
                                     "The Batch API takes Gemini image models on the Gemini API (an API key). "
                                     "Use --via online for the others, or change their model/backend.",
                                     details={"problems": problems})


def _ineligible(item: BatchItem, catalog: Any) -> str | None:
    plan = item.plan
    if item.kind != "image":
        return "videos cannot go through the Gemini Batch API (use --via online)"
    if plan.choice.backend != "gemini-api":
        return (f"the Batch API is a Gemini API feature; this item runs on {plan.choice.backend} "
                "(use --backend gemini-api)")
    if getattr(plan, "surface", "") != "generateContent":
        return f"{plan.model_id} is not a generateContent model (Imagen cannot be batched)"
    if catalog.get(plan.model_id) is None:
        return None
    problems = [p for p in catalog.validate({**plan.request, "batch": True})
                if getattr(p, "severity", "error") == "error"]
    return f"{problems[0].message} ({problems[0].fix})" if problems else None


# -- submit -----------------------------------------------------------------------------------

@dataclass
class SubmitOptions:
    """How to send: input mode (auto|inline|file), inline size limit, upload chunk size, poll schedule."""

    input_mode: str = "auto"
    inline_limit: int = INLINE_LIMIT_BYTES
    chunk_bytes: int = files_api.CHUNK_BYTES
    source: str = ""


def submit(items: list[BatchItem], catalog: Any, *, store: JobStore, ledger: Ledger, results: ResultsFile,
           transport: Transport, console: Console, options: SubmitOptions) -> BatchJob:
    """Record the job, upload the input if needed, create the batch once, record its name."""
    plan = items[0].plan
    assert isinstance(plan, ImagePlan)
    job_id = new_job_id("imgb")
    for item in items:          # inputs too large to send inline: uploaded once, referenced by every request
        stage_inputs(item.plan, transport, console)         # type: ignore[arg-type]
    entries = [(key, body) for item in items for key, body in batch_jobs.request_entries(item)]
    mode = _input_mode(entries, options)
    folders = {OutputPlan(i.output_target, i.output_target, i.prompt, "image").folder for i in items}
    check_before_paying(store=store.folder, ledger=ledger.path, others=(results.path.parent, *sorted(folders)))
    for item in items:            # before the record: a rerun then finds the job (or knows nothing was sent)
        results.append(item.entry("submitting", job_id=job_id, via="batch-api"))
    record = store.create(batch_jobs.job_record(BatchJob, job_id, items, catalog, provider="gemini-batch",
                                                results_path=results.path, source=options.source,
                                                input={"mode": mode, "source": options.source}))
    ledger.append({"run_id": job_id, "command": "batch_gen", "status": "submitted", "model": plan.model_id,
                   "backend": "gemini-api", "items": len(items), "estimate_usd": record.estimate["estimate_usd"]})
    body = _create_body(job_id, entries, mode, plan.settings, transport, plan.choice.credential.auth, store,
                        options, console)
    store.update(job_id, create_sent=now_iso())
    console.info(f"job {job_id}: creating the batch ({len(entries)} request(s), {mode} input)")
    try:
        with transport.stream_body(_create_request(plan, body), plan.choice.credential.auth) as answer:
            doc = replies.read_reply(answer, replies.BATCH, _create_subject(job_id))
    except errors.MediagenError as exc:
        batch_jobs.create_failed(record, exc, store, ledger)
        raise
    state = batch_wire.parse_batch(doc)
    if not state.name:
        raise errors.ServerError("the batch create call returned no batch name",
                                 f"Check the batches list in AI Studio; job {job_id} will not be resent.")
    record = lro.record_accepted(store, job_id, state.name, remote_state=state.state)
    console.info(f"job {job_id}: accepted as {state.name}")
    return record


def _create_subject(job_id: str) -> replies.Subject:
    """How an unusable answer to the batch create call is named, and what to do: never send it again."""
    return replies.Subject(
        f"batch job {job_id} (batchGenerateContent)",
        f"mediagen will not send it again (that could bill twice): {script_command('jobs.py', 'wait', job_id)} "
        "finds the batch by its name if Google created it.")


def _create_request(plan: ImagePlan, body: dict[str, Any]) -> HttpRequest:
    """The one billable ``batchGenerateContent`` call (never resent)."""
    url = model_method_url(plan.choice, plan.settings, plan.wire_id, "batchGenerateContent", None)
    return HttpRequest("POST", url, headers={"Content-Type": "application/json"}, json=body, billable=True,
                       label=f"{plan.wire_id}:batchGenerateContent")


def _input_mode(entries: list[tuple[str, dict[str, Any]]], options: SubmitOptions) -> str:
    if options.input_mode in ("inline", "file"):
        return options.input_mode
    return "inline" if batch_wire.inline_size(entries) <= options.inline_limit else "file"


def _create_body(job_id: str, entries: list[tuple[str, dict[str, Any]]], mode: str, settings: Settings,
                 transport: Transport, auth: Any, store: JobStore, options: SubmitOptions,
                 console: Console) -> dict[str, Any]:
    if mode == "inline":
        return batch_wire.inline_body(job_id, entries)
    with tempfile.TemporaryDirectory(prefix="mediagen-batch-") as folder:
        path = Path(folder) / f"{job_id}.jsonl"
        with open(path, "wb") as handle:
            for key, body in entries:
                batch_wire.write_jsonl_line(handle, key, body)
        console.info(f"job {job_id}: uploading {path.stat().st_size} bytes of requests (Files API)")
        resource = files_api.upload_file(path, mime_type="application/jsonl", display_name=job_id,
                                         settings=settings, transport=transport, auth=auth,
                                         chunk_bytes=options.chunk_bytes)
    files_api.wait_active(resource["name"], settings=settings, transport=transport, auth=auth)
    store.update(job_id, input={"mode": "file", "source": options.source, "file": resource["name"]})
    return batch_wire.file_body(job_id, resource["name"])


# -- wait / poll ---------------------------------------------------------------------------------

def wait(job_id: str, store: JobStore, settings: Settings, transport: Transport, console: Console, *,
         timeout_s: float, ledger: Ledger | None = None, poll_now: bool = False,
         clock: lro.Clock | None = None) -> dict[str, Any]:
    """Poll until the batch ends (then save its results) or ``timeout_s`` passes (``StillRunning``)."""
    clock = clock or lro.Clock()
    record = store.get(job_id, BatchJob)
    if record.state in TERMINAL_STATES:
        return batch_jobs.outcome(record)
    choice = lro.resume_choice(record, settings, "image")
    if not record.handle:
        record = _recover_handle(record, store, settings, transport, choice)
    first = settings.get("poll_first_s")
    first_at = lro.first_poll_at(record, FIRST_POLL_S if first is None else float(first), clock)
    timing = lro.Timing.starting(first_at, SCHEDULE.fixed_at(settings.get("poll_interval_s")), timeout_s, clock,
                                 poll_now=poll_now, budget=lro.shared_budget(settings, clock))
    driver = lro.Driver(poll=lambda r: poll(r, settings, transport, choice), report=_reporter(console, clock),
                        finish=lambda state: finish(job_id, store, settings, transport, console, state, choice,
                                                    ledger),
                        still_running=batch_jobs.still_running)
    return lro.wait_until_done(record, store, driver, timing)


def _reporter(console: Console, clock: lro.Clock) -> Callable[[BatchJob, batch_wire.BatchState], None]:
    """A progress line per poll, with the requests done so far."""
    def report(record: BatchJob, state: batch_wire.BatchState) -> None:
        console.progress(f"job {record.job_id}: {state.state.lower()} {_stats_text(state)}",
                         lro.elapsed_s(record, clock))
    return report


def _stats_text(state: batch_wire.BatchState) -> str:
    total = state.requests_total
    return f"({state.requests_done}/{total} requests done)" if total else ""


def poll(record: BatchJob, settings: Settings, transport: Transport,
         choice: BackendChoice) -> batch_wire.BatchState:
    """One ``GET batches/{id}``; inlined results (base64 images) are spooled, never held twice."""
    url = endpoints.gemini_url(settings["gemini_base_url"], settings["gemini_api_version"], str(record.handle))
    subject = replies.Subject(f"batch job {record.job_id} (batches.get)", "", "the batch may have been billed")
    with transport.stream_body(HttpRequest("GET", url, label="batches.get"), choice.credential.auth) as answer:
        doc = replies.read_reply(answer, replies.BATCH, subject)
    return batch_wire.parse_batch(doc)


def _recover_handle(record: BatchJob, store: JobStore, settings: Settings, transport: Transport,
                    choice: BackendChoice) -> BatchJob:
    """A run killed during the create call: find the batch by its display name (the job id), or give up."""
    job_id = record.job_id
    if record.create_sent:
        url = endpoints.gemini_url(settings["gemini_base_url"], settings["gemini_api_version"], "batches")
        listing = transport.send_json(HttpRequest("GET", url, params=batch_wire.list_params(), label="batches.list"),
                                      choice.credential.auth)
        name = batch_wire.named_batch(listing, job_id)
        if name:
            return store.update(job_id, state="running", handle=name,
                                submitted_epoch=record.submitted_epoch or time.time())
    sent = "may or may not have reached Google" if record.create_sent else "was never sent"
    raise errors.GenerationFailed(f"job {job_id} has no batch name (state {record.state}): its create call "
                                  f"{sent}, and no batch named {job_id} is listed",
                                  "mediagen will not resend it (that could bill twice). Check the batches in AI "
                                  "Studio, then rerun batch_gen.py with --retry-failed if none exists.",
                                  details={"job_id": job_id})


# -- finish ------------------------------------------------------------------------------------

def finish(job_id: str, store: JobStore, settings: Settings, transport: Transport, console: Console,
           state: batch_wire.BatchState, choice: BackendChoice, ledger: Ledger | None) -> dict[str, Any]:
    """Save every result once (under the job lock); record states, costs and results lines."""
    def save(record: BatchJob) -> BatchJob:
        if state.state in batch_jobs.REMOTE_FAILURES or (state.state != "SUCCEEDED" and not _has_output(state)):
            return batch_jobs.close_remote_failure(record, state, store, ledger)
        store.update(job_id, state="downloading")
        saver = batch_jobs.Saver(record, console, settings.env)
        with batch_jobs.billed_if_unsaved(record, ledger):
            for result in _results(state, record, settings, transport, choice):
                saver.take(result)
        return batch_jobs.close_success(record, saver, store, ledger)

    return lro.finish_once(store, job_id, save, batch_jobs.outcome)


def _has_output(state: batch_wire.BatchState) -> bool:
    return state.inline is not None or bool(state.responses_file)


def _results(state: batch_wire.BatchState, record: BatchJob, settings: Settings, transport: Transport,
             choice: BackendChoice) -> Iterator[batch_wire.BatchResult]:
    if state.inline is not None:
        keys = [k for item in record.items for k in item["request_keys"]]
        for position, result in enumerate(batch_wire.inline_results(state.inline)):
            if result.key is None and position < len(keys):
                result.key = keys[position]         # inlined answers keep the request order
            yield result
        return
    yield from _file_results(state.responses_file or "", settings, transport, choice)


def _file_results(name: str, settings: Settings, transport: Transport,
                  choice: BackendChoice) -> Iterator[batch_wire.BatchResult]:
    """Stream the responses file to disk, then read it line by line."""
    request = HttpRequest("GET", files_api.download_url(settings, name), params={"alt": "media"},
                          label="batch responses download")
    with tempfile.TemporaryDirectory(prefix="mediagen-batch-") as folder:
        path = Path(folder) / "responses.jsonl"
        transport.download(request, path, choice.credential.auth)
        with open(path, "rb") as handle:
            for line in handle:
                if line.strip():
                    yield batch_wire.result_of(read_json_stream([line]))


# -- cancel, jobs.py ---------------------------------------------------------------------------------

def cancel(record: BatchJob, store: JobStore, settings: Settings, transport: Transport) -> dict[str, Any]:
    """``POST batches/{id}:cancel`` (free); the items are marked failed so a rerun can resend them."""
    def send() -> None:
        choice = lro.resume_choice(record, settings, "image")
        url = endpoints.gemini_url(settings["gemini_base_url"], settings["gemini_api_version"],
                                   batch_wire.cancel_path(record.handle or ""))
        transport.send_json(HttpRequest("POST", url, json=batch_wire.cancel_body(), label="batches.cancel"),
                            choice.credential.auth)
    return batch_jobs.cancel(record, store, RECORD_KIND, send)


def job_command(action: str, record: BatchJob, store: JobStore, settings: Settings, transport: Transport,
                console: Console, *, wait_timeout: float | None, ledger: Ledger | None) -> dict[str, Any]:
    """``jobs.py status|wait|download|cancel`` for this kind of batch job."""
    return batch_jobs.job_command(
        action, record, cancel=lambda: cancel(record, store, settings, transport),
        wait=lambda timeout, poll_now: wait(record.job_id, store, settings, transport, console, timeout_s=timeout,
                                            ledger=ledger, poll_now=poll_now),
        wait_timeout=wait_timeout, default_wait_s=DEFAULT_WAIT_TIMEOUT_S)
