"""Vertex batch prediction for image batches (``batch_gen.py --via vertex-batch``): submit once, poll, save once.

The job is recorded (kind ``vertex-batch``) and its items' results lines are
written before anything is sent. Inputs too large to send inline go to the
bucket (``ops.uploads``); the requests are written as JSONL to
``<gcs_bucket>/mediagen-batch/<job id>/input.jsonl``; then comes the one create
call, whose display name is the job id, and the job's name it answers is
recorded before any poll. Polls go through ``ops.lro`` like every other job.
When the job ends, the ``predictions*.jsonl`` files of its output folder are
streamed to disk and read line by line, and the images are saved with
sidecars, one results-file line per item and the ledger line, once, under the
job's lock (``ops.batch_jobs``).

Recovery: a run killed before the create leaves a record without
``create_sent``; resuming sends the create then (once). A create whose answer
was lost (a dropped connection, a timeout, a 5xx) is looked for by its display
name in the job listing; only a job the listing does not show stays
``unknown``, and it is never sent again.

Batch jobs are regional, while Gemini 3 image models are ``global``-only
online: the job's location is the ``batch_location`` setting (default
``us-central1``). The price is the catalog's Vertex batch rate (50% off).
Decision 0007 records the choices.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from mediagen.config.credentials import BackendChoice
from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.resources import script_command
from mediagen.ops import batch_jobs, gcs, lro, uploads
from mediagen.ops.batch.planning import BatchItem, ResultsFile
from mediagen.ops.images import ImagePlan, stage_inputs
from mediagen.ops.jobstore import TERMINAL_STATES, JobStore, VertexBatchJob, new_job_id, now_iso
from mediagen.ops.ledger import Ledger
from mediagen.ops.preflight import check_before_paying
from mediagen.ops.output import OutputPlan
from mediagen.transport.bodies import FileBody
from mediagen.transport.http import HttpRequest, Transport
from mediagen.wire import replies
from mediagen.wire import vertex_batch as vb_wire
from mediagen.wire.batch import BatchResult
from mediagen.wire.blobs import read_json_stream

RECORD_KIND = "vertex-batch"
VIA = "vertex-batch"
DEFAULT_LOCATION = "us-central1"
FOLDER = "mediagen-batch"
FIRST_POLL_S = 5.0
# Batch prediction takes minutes to hours: a poll every 10 s for a minute, 30 s up to ten minutes, then 60 s.
SCHEDULE = lro.Schedule(steps=((60.0, 10.0), (600.0, 30.0)), then=60.0)
DEFAULT_WAIT_TIMEOUT_S = 480.0
OVERRIDE_HINT = ("to try it anyway, set backend_capabilities: {vertex: {supports: {batch: true}}} for the model in "
                 "the file MEDIAGEN_CATALOG_OVERRIDE names")


# -- eligibility ---------------------------------------------------------------------------------------------

def check_eligible(items: list[BatchItem], catalog: Any, console: Console) -> None:
    """Refuse (before sending) items Vertex batch prediction cannot take, naming their lines."""
    problems = [f"line {item.line}: {problem}" for item in items if (problem := _ineligible(item, catalog))]
    if problems:
        raise errors.ValidationError(f"--via vertex-batch cannot take {len(problems)} item(s); first: {problems[0]}",
                                     "Vertex batch prediction takes the Gemini image models it documents (2.5 Flash "
                                     "Image, 3 Pro Image, 3.1 Flash Image) on Vertex with a project. Use --via online "
                                     "for the others.", details={"problems": problems})
    for item in items:
        if catalog.get(item.plan.model_id) is None:
            console.warn(f"line {item.line}: {item.plan.model_id} is not in the catalog; Vertex may refuse it")


def _ineligible(item: BatchItem, catalog: Any) -> str | None:
    plan = item.plan
    if item.kind != "image":
        return "videos cannot go through Vertex batch prediction (use --via online)"
    if plan.choice.backend != "vertex" or plan.choice.express:
        return (f"batch prediction is a Vertex feature for a Google Cloud project; this item runs on "
                f"{'Vertex express mode' if plan.choice.backend == 'vertex' else plan.choice.backend} "
                "(use --backend vertex with a project)")
    if getattr(plan, "surface", "") != "generateContent":
        return f"{plan.model_id} is not a Gemini image model (Imagen is not offered through batch prediction)"
    model = catalog.get(plan.model_id)
    if model is None:
        return None
    problems = [p for p in catalog.validate({**plan.request, "batch": True}) if getattr(p, "severity", "") == "error"]
    if not problems:
        return None
    batch = [p for p in problems if p.field == "batch"]
    if batch:
        doubt = "is not documented (UNCERTAIN)" if _uncertain(model) else "is not offered"
        return f"Vertex batch prediction of {plan.model_id} {doubt}; {OVERRIDE_HINT}"
    return f"{problems[0].message} ({problems[0].fix})"


def _uncertain(model: Any) -> bool:
    marks = getattr(model, "uncertain", None) or ()
    return any("batch" in str(mark) or str(mark) == "backends.vertex" for mark in marks)


# -- submit --------------------------------------------------------------------------------------------------

def submit(items: list[BatchItem], catalog: Any, *, store: JobStore, ledger: Ledger, results: ResultsFile,
           transport: Transport, console: Console, source: str = "") -> VertexBatchJob:
    """Record the job, upload the inputs and the JSONL, create the job once, record its name."""
    plan = _plan_of(items[0])
    job_id = new_job_id("vbat")
    prefix = f"{uploads.bucket_prefix(plan.settings)}/{FOLDER}/{job_id}"
    folders = {OutputPlan(i.output_target, i.output_target, i.prompt, "image").folder for i in items}
    check_before_paying(store=store.folder, ledger=ledger.path, others=(results.path.parent, *sorted(folders)))
    for item in items:            # before the record: a rerun then finds the job (or knows nothing was sent)
        results.append(item.entry("submitting", job_id=job_id, via=VIA))
    record = store.create(batch_jobs.job_record(
        VertexBatchJob, job_id, items, catalog, provider="vertex-batch", results_path=results.path, source=source,
        input={"source": source}, location=location_of(plan.settings), output_prefix=f"{prefix}/output/"))
    ledger.append({"run_id": job_id, "command": "batch_gen", "status": "submitting", "model": plan.model_id,
                   "backend": "vertex", "items": len(items), "estimate_usd": record.estimate["estimate_usd"]})
    record = _upload_input(record, items, store, transport, console)
    return _create(record, items, store, ledger, transport, console)


def preview_create(items: list[BatchItem]) -> HttpRequest:
    """The create call a dry run shows (the job id, and so its folder in the bucket, is chosen when it runs)."""
    plan = _plan_of(items[0])
    prefix = f"{uploads.bucket_prefix(plan.settings)}/{FOLDER}/<job id>"
    url = vb_wire.jobs_url(str(plan.choice.project_id), location_of(plan.settings),
                           plan.settings.get("vertex_base_url"))
    body = vb_wire.create_body("<job id>", plan.wire_id, f"{prefix}/input.jsonl", f"{prefix}/output/")
    return vb_wire.create_request(url, body, plan.wire_id)


def location_of(settings: Settings) -> str:
    """The region batch jobs run in: the ``batch_location`` setting, else us-central1."""
    return str(settings.get("batch_location") or DEFAULT_LOCATION)


def _plan_of(item: BatchItem) -> ImagePlan:
    assert isinstance(item.plan, ImagePlan)
    return item.plan


def _upload_input(record: VertexBatchJob, items: list[BatchItem], store: JobStore, transport: Transport,
                  console: Console) -> VertexBatchJob:
    """Upload large inputs and the JSONL of every request; record where the JSONL is."""
    plan = _plan_of(items[0])
    for item in items:
        stage_inputs(_plan_of(item), transport, console)
    uri = f"{str(record.output_prefix).rsplit('/output/', 1)[0]}/input.jsonl"
    with tempfile.TemporaryDirectory(prefix="mediagen-vbatch-") as folder:
        path = Path(folder) / "input.jsonl"
        with open(path, "wb") as handle:
            for index, (_, body) in enumerate(_entries(items)):
                vb_wire.write_line(handle, vb_wire.label_key(index), body)
        console.info(f"job {record.job_id}: uploading {path.stat().st_size} bytes of requests to {uri}")
        gcs.upload_data(FileBody(path, "application/jsonl"), uri, transport=transport,
                        auth=plan.choice.credential.auth, base_url=plan.settings["gcs_base_url"],
                        content_type="application/jsonl")
    return store.update(record.job_id, input_uri=uri)          # type: ignore[return-value]


def _entries(items: list[BatchItem]) -> list[tuple[str, dict[str, Any]]]:
    return [entry for item in items for entry in batch_jobs.request_entries(item)]


def _create(record: VertexBatchJob, items: list[BatchItem] | None, store: JobStore, ledger: Ledger | None,
            transport: Transport, console: Console, choice: BackendChoice | None = None,
            settings: Settings | None = None) -> VertexBatchJob:
    """The one create call; a lost answer is looked for by display name before the job is called unknown."""
    if items:
        choice, settings = _plan_of(items[0]).choice, _plan_of(items[0]).settings
    assert choice is not None and settings is not None
    job_id = record.job_id
    url = vb_wire.jobs_url(str(choice.project_id), str(record.location), settings.get("vertex_base_url"))
    body = vb_wire.create_body(job_id, record.model["wire_id"], str(record.input_uri), str(record.output_prefix))
    store.update(job_id, create_sent=now_iso())
    console.info(f"job {job_id}: creating the batch prediction job in {record.location}")
    try:
        with transport.stream_body(vb_wire.create_request(url, body, record.model["wire_id"]),
                                   choice.credential.auth) as answer:
            state = vb_wire.parse_job(replies.read_reply(answer, vb_wire.JOB, _create_subject(job_id)))
    except errors.MediagenError as exc:
        found = _found_after(exc, record, settings, transport, choice, console)
        if found is None:
            batch_jobs.create_failed(record, exc, store, ledger)
            raise
        state = found
    if not state.name:
        raise errors.ServerError("the batch prediction create call returned no job name",
                                 f"Check the batch jobs in the Cloud console; job {job_id} will not be resent.")
    console.info(f"job {job_id}: accepted as {state.name}")
    return lro.record_accepted(store, job_id, state.name, remote_state=state.state)   # type: ignore[return-value]


def _found_after(exc: errors.MediagenError, record: VertexBatchJob, settings: Settings, transport: Transport,
                 choice: BackendChoice, console: Console) -> vb_wire.JobState | None:
    """After an answer that may hide a created job, the job the listing shows under the display name (or None)."""
    if not lro.may_have_started(exc):
        return None
    try:
        name = _find(record, settings, transport, choice)
    except errors.MediagenError:
        return None
    if name:
        console.warn(f"job {record.job_id}: the create call's answer was lost ({exc.message}); found the job by its "
                     f"display name: {name}")
        return vb_wire.JobState(name=name, state="PENDING")
    return None


def _create_subject(job_id: str) -> replies.Subject:
    return replies.Subject(
        f"batch job {job_id} (batchPredictionJobs.create)",
        f"mediagen will not send it again (that could bill twice): {script_command('jobs.py', 'wait', job_id)} "
        "finds the job by its display name if Google created it.")


def _find(record: VertexBatchJob, settings: Settings, transport: Transport, choice: BackendChoice) -> str | None:
    """The name of the job whose display name is the job id, from the (filtered) job listing."""
    url = vb_wire.jobs_url(str(choice.project_id), str(record.location), settings.get("vertex_base_url"))
    token: str | None = None
    for _ in range(20):
        listing = transport.send_json(HttpRequest("GET", url, params=vb_wire.list_params(record.job_id, token),
                                                  label="batchPredictionJobs.list"), choice.credential.auth)
        name = vb_wire.named_job(listing, record.job_id)
        token = listing.get("nextPageToken")
        if name or not token:
            return name
    return None


# -- wait / poll ---------------------------------------------------------------------------------------------

def wait(job_id: str, store: JobStore, settings: Settings, transport: Transport, console: Console, *,
         timeout_s: float, ledger: Ledger | None = None, poll_now: bool = False, clock: lro.Clock | None = None,
         items: list[BatchItem] | None = None) -> dict[str, Any]:
    """Poll until the job ends (then save its results) or ``timeout_s`` passes (``StillRunning``).

    A job without a name is created now (its create was never sent) or found by its display name.
    """
    clock = clock or lro.Clock()
    record = store.get(job_id, VertexBatchJob)
    if record.state in TERMINAL_STATES:
        return batch_jobs.outcome(record)
    choice = lro.resume_choice(record, settings, "image")
    if not record.handle:
        record = _resume(record, store, settings, transport, choice, console, ledger, items)
    first = settings.get("poll_first_s")
    first_at = lro.first_poll_at(record, FIRST_POLL_S if first is None else float(first), clock)
    timing = lro.Timing.starting(first_at, SCHEDULE.fixed_at(settings.get("poll_interval_s")), timeout_s, clock,
                                 poll_now=poll_now)
    driver = lro.Driver(poll=lambda r: poll(r, settings, transport, choice), report=_reporter(console, clock),
                        finish=lambda state: finish(job_id, store, settings, transport, console, state, choice,
                                                    ledger),
                        still_running=batch_jobs.still_running)
    return lro.wait_until_done(record, store, driver, timing)


def _resume(record: VertexBatchJob, store: JobStore, settings: Settings, transport: Transport,
            choice: BackendChoice, console: Console, ledger: Ledger | None,
            items: list[BatchItem] | None) -> VertexBatchJob:
    """A job without a name: send its create if it never was, else find it by display name, else give up."""
    if not record.create_sent:
        if not record.input_uri:
            if not items:
                raise errors.GenerationFailed(
                    f"job {record.job_id} was stopped before its input was uploaded; nothing was sent",
                    "Rerun the same batch_gen.py command: it uploads the input and creates the job once.",
                    details={"job_id": record.job_id})
            record = _upload_input(record, items, store, transport, console)
        console.info(f"job {record.job_id}: its create call was never sent; sending it now")
        return _create(record, None, store, ledger, transport, console, choice, settings)
    name = _find(record, settings, transport, choice)
    if name:
        return store.update(record.job_id, state="running", handle=name,     # type: ignore[return-value]
                            submitted_epoch=record.submitted_epoch or time.time())
    raise errors.GenerationFailed(f"job {record.job_id} has no batch prediction job name (state {record.state}): its "
                                  f"create call may or may not have reached Google, and no job named {record.job_id} "
                                  "is listed",
                                  "mediagen will not resend it (that could bill twice). Check the batch jobs in the "
                                  "Cloud console, then rerun batch_gen.py with --retry-unknown if none exists.",
                                  details={"job_id": record.job_id})


def poll(record: VertexBatchJob, settings: Settings, transport: Transport, choice: BackendChoice) -> vb_wire.JobState:
    """One ``GET`` of the job."""
    url = vb_wire.job_url(str(record.handle), override=settings.get("vertex_base_url"))
    subject = replies.Subject(f"batch job {record.job_id} (batchPredictionJobs.get)", "",
                              "the batch may have been billed")
    with transport.stream_body(HttpRequest("GET", url, label="batchPredictionJobs.get"),
                               choice.credential.auth) as answer:
        return vb_wire.parse_job(replies.read_reply(answer, vb_wire.JOB, subject))


def _reporter(console: Console, clock: lro.Clock) -> Callable[[VertexBatchJob, vb_wire.JobState], None]:
    def report(record: VertexBatchJob, state: vb_wire.JobState) -> None:
        done = f" ({state.requests_done} requests done)" if state.requests_done else ""
        console.progress(f"job {record.job_id}: {state.state.lower()}{done}", lro.elapsed_s(record, clock))
    return report


# -- finish --------------------------------------------------------------------------------------------------

def finish(job_id: str, store: JobStore, settings: Settings, transport: Transport, console: Console,
           state: vb_wire.JobState, choice: BackendChoice, ledger: Ledger | None) -> dict[str, Any]:
    """Save every result once (under the job lock); record states, costs and results lines."""
    def save(record: VertexBatchJob) -> VertexBatchJob:
        if state.state not in vb_wire.WITH_RESULTS:
            return batch_jobs.close_remote_failure(record, state, store, ledger)       # type: ignore[return-value]
        store.update(job_id, state="downloading", output_dir=state.output_dir)
        saver = batch_jobs.Saver(record, console, settings.env)
        answered: set[str] = set()
        with batch_jobs.billed_if_unsaved(record, ledger):
            for result in _results(record, state, settings, transport, choice):
                answered.add(result.key or "")
                saver.take(result)
        for key in set(saver.by_key) - answered:        # a request the job wrote no line for
            saver.errors[saver.by_key[key]["key"]].append({"message": f"the batch wrote no result for {key}"})
        return batch_jobs.close_success(record, saver, store, ledger)            # type: ignore[return-value]

    return lro.finish_once(store, job_id, save, batch_jobs.outcome)


def _results(record: VertexBatchJob, state: vb_wire.JobState, settings: Settings, transport: Transport,
             choice: BackendChoice) -> Iterator[BatchResult]:
    """Every output line, its label mapped back to the request key, from each ``predictions*.jsonl`` in turn."""
    keys = {vb_wire.label_key(i): key for i, key in enumerate(k for item in record.items for k in item["request_keys"])}
    folder = (state.output_dir or str(record.output_prefix)).rstrip("/") + "/"
    auth, base = choice.credential.auth, settings["gcs_base_url"]
    files = [u for u in gcs.list_objects(folder, transport=transport, auth=auth, base_url=base)
             if vb_wire.is_predictions_file(u)]
    with tempfile.TemporaryDirectory(prefix="mediagen-vbatch-") as tmp:
        for number, uri in enumerate(sorted(files)):
            path = Path(tmp) / f"predictions-{number}.jsonl"
            gcs.download(uri, path, transport=transport, auth=auth, base_url=base)
            yield from _lines(path, keys)
            path.unlink(missing_ok=True)


def _lines(path: Path, keys: dict[str, str]) -> Iterator[BatchResult]:
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                result = vb_wire.result_of(read_json_stream([line]))
                result.key = keys.get(result.key or "", result.key)
                yield result


# -- cancel, jobs.py -----------------------------------------------------------------------------------------

def cancel(record: VertexBatchJob, store: JobStore, settings: Settings, transport: Transport) -> dict[str, Any]:
    """``POST .../batchPredictionJobs/ID:cancel`` (free); the items are marked failed so a rerun can resend
    them. Requests the job already finished may still be billed."""
    def send() -> None:
        choice = lro.resume_choice(record, settings, "image")
        url = vb_wire.job_url(record.handle or "", "cancel", settings.get("vertex_base_url"))
        transport.send_json(HttpRequest("POST", url, json={}, label="batchPredictionJobs.cancel"),
                            choice.credential.auth)
    return batch_jobs.cancel(record, store, RECORD_KIND, send)


def job_command(action: str, record: VertexBatchJob, store: JobStore, settings: Settings, transport: Transport,
                console: Console, *, wait_timeout: float | None, ledger: Ledger | None) -> dict[str, Any]:
    """``jobs.py status|wait|download|cancel`` for this kind of batch job."""
    return batch_jobs.job_command(
        action, record, cancel=lambda: cancel(record, store, settings, transport),
        wait=lambda timeout, poll_now: wait(record.job_id, store, settings, transport, console, timeout_s=timeout,
                                            ledger=ledger, poll_now=poll_now),
        wait_timeout=wait_timeout, default_wait_s=DEFAULT_WAIT_TIMEOUT_S)
