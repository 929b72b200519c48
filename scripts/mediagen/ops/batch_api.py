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

import datetime as dt
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from mediagen import __version__
from mediagen.config.credentials import BackendChoice
from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.resources import script_command
from mediagen.ops import files_api, lro
from mediagen.ops.batch.planning import BatchItem, ResultsFile
from mediagen.ops.images import PARAM_KEYS, ImagePlan, stage_inputs
from mediagen.ops.jobstore import TERMINAL_STATES, BatchJob, JobStore, new_job_id, now_iso
from mediagen.ops.ledger import Ledger
from mediagen.ops.output import OutputPlan, Sidecar, release, write_sidecar
from mediagen.ops.payloads import save_payload, write_payload
from mediagen.ops.rescue import paid_not_saved, rescue
from mediagen.ops.preflight import check_before_paying
from mediagen.ops.targets import model_method_url
from mediagen.transport.http import HttpRequest, Transport
from mediagen.wire import batch as batch_wire
from mediagen.wire import endpoints
from mediagen.wire import gemini as gemini_wire
from mediagen.wire import replies
from mediagen.wire.blobs import read_json_stream
from mediagen.wire.common import GenerationOutcome

RECORD_KIND = "image-batch"
INLINE_LIMIT_BYTES = 20 * 1024 * 1024
FIRST_POLL_S = 5.0
# Batch jobs take minutes to hours: a poll every 10 s for a minute, 30 s up to ten minutes, then 60 s.
SCHEDULE = lro.Schedule(steps=((60.0, 10.0), (600.0, 30.0)), then=60.0)
DEFAULT_WAIT_TIMEOUT_S = 480.0
REMOTE_FAILURES = {"FAILED": "failed", "CANCELLED": "cancelled", "EXPIRED": "expired"}


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


def prices(item: BatchItem, catalog: Any) -> tuple[float | None, float | None]:
    """(standard, batch) estimates of one item in USD."""
    estimate = catalog.estimate({**item.plan.request, "batch": True})
    standard = item.plan.estimate.usd if item.plan.estimate.priced else None
    batch_usd = estimate.usd if estimate.priced else None
    return standard, batch_usd


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
    entries = [(key, body) for item in items for key, body in request_entries(item)]
    mode = _input_mode(entries, options)
    folders = {OutputPlan(i.output_target, i.output_target, i.prompt, "image").folder for i in items}
    check_before_paying(store=store.folder, ledger=ledger.path, others=(results.path.parent, *sorted(folders)))
    for item in items:            # before the record: a rerun then finds the job (or knows nothing was sent)
        results.append(item.entry("submitting", job_id=job_id, via="batch-api"))
    record = store.create(_record(job_id, items, catalog, mode, results.path, options.source))
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
        _create_failed(job_id, items, exc, store, ledger, results, record)
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


def request_entries(item: BatchItem) -> list[tuple[str, dict[str, Any]]]:
    """``(key, generateContent body)`` for each image of the item (``<item key>-<n>``)."""
    assert isinstance(item.plan, ImagePlan)
    return [(f"{item.key}-{n}", request.json) for n, request in enumerate(item.plan.http_requests, start=1)]


def _input_mode(entries: list[tuple[str, dict[str, Any]]], options: SubmitOptions) -> str:
    if options.input_mode in ("inline", "file"):
        return options.input_mode
    return "inline" if batch_wire.inline_size(entries) <= options.inline_limit else "file"


def _record(job_id: str, items: list[BatchItem], catalog: Any, mode: str, results_path: Path,
            source: str) -> BatchJob:
    plan = items[0].plan
    assert isinstance(plan, ImagePlan)
    described = [_item_record(item, catalog) for item in items]
    standard = _sum(d["standard_usd"] for d in described)
    batch_usd = _sum(d["estimate_usd"] for d in described)
    priced = all(d["estimate_usd"] is not None for d in described)
    return BatchJob.of(
        job_id=job_id, kind=RECORD_KIND, state="submitting", provider="gemini-batch",
        backend=plan.choice.describe(), express=False, model=plan.model_info(), mode="batch",
        prompt=f"{len(items)} image item(s) from {source or 'a batch file'}",
        input={"mode": mode, "source": source}, results_file=str(results_path), items=described,
        estimate={"estimate_usd": batch_usd if priced else None, "standard_usd": standard if priced else None,
                  "batch_usd": batch_usd if priced else None,
                  "saving_usd": round(standard - batch_usd, 6) if priced else None, "priced": priced,
                  "as_of": plan.estimate.as_of, "source": plan.estimate.source},
        polls=0,
    )


def _item_record(item: BatchItem, catalog: Any) -> dict[str, Any]:
    plan = item.plan
    assert isinstance(plan, ImagePlan)
    standard, batch_usd = prices(item, catalog)
    count = max(1, len(plan.http_requests))
    return {"key": item.key, "index": item.index, "line": item.line, "prompt": item.prompt,
            "negative_prompt": plan.settings.get("negative_prompt"), "output_target": item.output_target,
            "request_keys": [key for key, _ in request_entries(item)], "count": count,
            "model": {**plan.model_info(), "requested": plan.settings["model"]},
            "parameters": plan.settings.show([k for k in PARAM_KEYS if k not in ("output", "output_dir")]),
            "inputs": [i.describe() for i in plan.inputs], "standard_usd": standard, "estimate_usd": batch_usd,
            "per_image_usd": round(batch_usd / count, 6) if batch_usd is not None else None, "state": "pending"}


def _sum(values: Iterator[float | None] | Any) -> float:
    return round(sum(v for v in values if v is not None), 6)


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


def _create_failed(job_id: str, items: list[BatchItem], exc: errors.MediagenError, store: JobStore,
                   ledger: Ledger, results: ResultsFile, record: BatchJob) -> None:
    """After a timeout or a 5xx Google may have created the batch: record "unknown", never resend."""
    unknown = lro.may_have_started(exc)
    state = "unknown" if unknown else "failed"
    error = exc.to_dict()
    store.update(job_id, state=state, error=error)
    ledger.append({"run_id": job_id, "command": "batch_gen", "status": state, "model": record.model["id"],
                   "backend": "gemini-api", "estimate_usd": record.estimate["estimate_usd"],
                   "actual_usd": None if unknown else 0.0})
    for item in items:
        results.append(item.entry(state, job_id=job_id, error=error, retryable=not unknown, via="batch-api"))
    exc.for_job(job_id)


# -- wait / poll ---------------------------------------------------------------------------------

def wait(job_id: str, store: JobStore, settings: Settings, transport: Transport, console: Console, *,
         timeout_s: float, ledger: Ledger | None = None, poll_now: bool = False,
         clock: lro.Clock | None = None) -> dict[str, Any]:
    """Poll until the batch ends (then save its results) or ``timeout_s`` passes (``StillRunning``)."""
    clock = clock or lro.Clock()
    record = store.get(job_id, BatchJob)
    if record.state in TERMINAL_STATES:
        return outcome(record)
    choice = lro.resume_choice(record, settings, "image")
    if not record.handle:
        record = _recover_handle(record, store, settings, transport, choice)
    first = settings.get("poll_first_s")
    first_at = lro.first_poll_at(record, FIRST_POLL_S if first is None else float(first), clock)
    timing = lro.Timing.starting(first_at, SCHEDULE.fixed_at(settings.get("poll_interval_s")), timeout_s, clock,
                                 poll_now=poll_now)
    driver = lro.Driver(poll=lambda r: poll(r, settings, transport, choice), report=_reporter(console, clock),
                        finish=lambda state: finish(job_id, store, settings, transport, console, state, choice,
                                                    ledger),
                        still_running=_still_running)
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


def _still_running(record: BatchJob, waited: float) -> errors.StillRunning:
    job_id = record.job_id
    error = errors.StillRunning(f"batch job {job_id} is still running after waiting {waited:.0f}s",
                                f"Batch jobs take minutes to hours (at most 24 h). Nothing is lost: "
                                f"{script_command('jobs.py', 'wait', job_id)}, or rerun the same batch_gen.py command.",
                                details={"job_id": job_id, "state": record.remote_state or "running",
                                         "next": script_command("jobs.py", "wait", job_id)})
    error.partial = {"job_id": job_id, "state": "running", "batch": record.handle}
    return error


# -- finish ------------------------------------------------------------------------------------

def finish(job_id: str, store: JobStore, settings: Settings, transport: Transport, console: Console,
           state: batch_wire.BatchState, choice: BackendChoice, ledger: Ledger | None) -> dict[str, Any]:
    """Save every result once (under the job lock); record states, costs and results lines."""
    def save(record: BatchJob) -> BatchJob:
        if state.state in REMOTE_FAILURES or (state.state != "SUCCEEDED" and not _has_output(state)):
            return _close_remote_failure(record, state, store, ledger)
        store.update(job_id, state="downloading")
        saver = _Saver(record, console, settings.env)
        for result in _results(state, record, settings, transport, choice):
            saver.take(result)
        return _close_success(record, saver, store, ledger)

    return lro.finish_once(store, job_id, save, outcome)


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


class _Saver:
    """Saves each answer's images next to its item's target, and tallies per item."""

    def __init__(self, record: BatchJob, console: Console, env: Mapping[str, str]) -> None:
        self.record = record
        self.console = console
        self.env = env
        self.by_key = {key: item for item in record.items for key in item["request_keys"]}
        self.files: dict[str, list[dict[str, Any]]] = {item["key"]: [] for item in record.items}
        self.blocked: dict[str, list[str]] = {item["key"]: [] for item in record.items}
        self.errors: dict[str, list[dict[str, Any]]] = {item["key"]: [] for item in record.items}
        self.outputs: dict[str, OutputPlan] = {}

    def take(self, result: batch_wire.BatchResult) -> None:
        item = self.by_key.get(result.key or "")
        if item is None:
            self.console.warn(f"batch answer with unknown key {result.key!r} ignored")
            return
        if result.response is None:
            self.errors[item["key"]].append(result.error or {"message": "no response"})
            return
        problem = replies.GENERATE_CONTENT.problem(result.response)
        if problem:                 # one unusable answer fails its item, not the batch
            self.errors[item["key"]].append({"message": f"the batch answer for {result.key} is unusable: {problem}"})
            return
        parsed = gemini_wire.parse_response(result.response)
        if parsed.blocked:
            self.blocked[item["key"]].append(parsed.reason())
            return
        for payload in parsed.media:
            self._save(item, payload, parsed, result.key or "")

    def _save(self, item: dict[str, Any], payload: Any, parsed: GenerationOutcome, key: str) -> None:
        output = self.outputs.setdefault(item["key"], OutputPlan(item["output_target"], item["output_target"],
                                                                 item["prompt"], "image"))
        number = int(key.rsplit("-", 1)[-1]) if item["count"] > 1 else None
        try:
            path = output.reserve(payload.mime_type, number)
        except OSError as exc:
            raise self._unsaved(output.folder / output.stem, payload, exc) from exc
        try:
            info = save_payload(payload, path)
        except errors.BadReply as exc:      # one answer that is not the image it claims fails its item alone
            release([path])
            self.errors[item["key"]].append({"message": f"the batch answer for {key} is unusable: {exc.message}"})
            return
        except OSError as exc:              # paid, and the disk is full: keep it, say where, stop here
            release([path])
            raise self._unsaved(path, payload, exc) from exc
        except BaseException:
            release([path])
            raise
        info["sidecar"] = str(write_sidecar(path, _sidecar(self.record, item, info, parsed, key)))
        self.console.info(f"saved {path} (line {item['line']})")
        self.files[item["key"]].append(info)


    def _unsaved(self, target: Path, payload: Any, exc: OSError) -> errors.PaidNotSaved:
        """Exit 10: a paid image of the batch could not be written; it goes to the rescue folder if it can."""
        job_id = self.record.job_id
        kept = rescue(lambda handle: write_payload(payload, handle), target.name, self.env)
        recover = (f"When there is space again, {script_command('jobs.py', 'download', job_id)} saves the batch's "
                   "results again (no new generation; images saved before the disk filled may then appear twice).")
        error = paid_not_saved("an image of the batch", target, exc, [kept] if kept else [],
                               identity=f"batch job {job_id}", recover=recover, remote=self.record.handle)
        return error.for_job(job_id)


def _sidecar(record: BatchJob, item: dict[str, Any], info: dict[str, Any], parsed: GenerationOutcome,
             key: str) -> Sidecar:
    return Sidecar.of(
        mediagen_version=__version__, kind="image",
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        file=Path(info["path"]).name, mime_type=info["mime_type"], width=info.get("width"),
        height=info.get("height"), bytes=info["bytes"], sha256=info["sha256"],
        prompt=item["prompt"], negative_prompt=item.get("negative_prompt"),
        model={**item["model"], "model_version": parsed.model_version}, backend=record.backend,
        parameters=item["parameters"], inputs=item["inputs"], usage=parsed.usage,
        response_id=parsed.response_id, text=parsed.text or None,
        cost={"estimate_usd": item["per_image_usd"], "actual_usd": item["per_image_usd"],
              "priced": item["per_image_usd"] is not None, "as_of": record.estimate.get("as_of"),
              "source": record.estimate.get("source"), "batch": True,
              "basis": "catalog price per image with the Batch API discount"},
        safety={"finish_reason": parsed.finish_reason, "blocked": False,
                "thought_images_skipped": parsed.skipped_thoughts},
        batch={"job_id": record.job_id, "name": record.handle, "key": key, "item_key": item["key"],
               "line": item["line"], "index": item["index"], "via": "batch-api"},
    )


def _close_success(record: BatchJob, saver: _Saver, store: JobStore, ledger: Ledger | None) -> BatchJob:
    results = ResultsFile(Path(str(record.results_file)))
    items, outputs, actual = [], [], 0.0
    for item in record.items:
        files = saver.files[item["key"]]
        state, error = _item_state(item, files, saver)
        cost = round((item["per_image_usd"] or 0.0) * len(files), 6) if item["per_image_usd"] is not None else None
        actual += cost or 0.0
        items.append({**item, "state": state, "files": [f["path"] for f in files], "cost_usd": cost, "error": error})
        outputs += files
        entry = {"key": item["key"], "index": item["index"], "line": item["line"], "kind": "image", "state": state,
                 "prompt": item["prompt"], "model": item["model"]["id"], "time": now_iso(),
                 "job_id": record.job_id, "via": "batch-api", "files": [f["path"] for f in files],
                 "cost_usd": cost}
        if error:
            entry.update(error=error, retryable=True)
        results.append(entry)
    actual = round(actual, 6)
    record = store.update(record.job_id, state="succeeded", items=items, outputs=outputs, actual_usd=actual,
                          finished=now_iso())
    _ledger(ledger, record, "succeeded", actual_usd=actual, files=[f["path"] for f in outputs])
    return record


def _ledger(ledger: Ledger | None, record: BatchJob, status: str, **fields: Any) -> None:
    if ledger is not None:
        ledger.append({"run_id": record.job_id, "command": "batch_gen", "status": status,
                       "model": record.model["id"], "backend": "gemini-api",
                       "estimate_usd": record.estimate.get("estimate_usd"), **fields})


def _item_state(item: dict[str, Any], files: list[dict[str, Any]], saver: _Saver) -> tuple[str, dict | None]:
    failures, blocked = saver.errors[item["key"]], saver.blocked[item["key"]]
    if failures:
        first = failures[0]
        return "failed", {"type": "generation_failed", "message": str(first.get("message") or first),
                          "hint": "Fix the request (see the message) and rerun with --retry-failed."}
    if blocked or not files:
        reasons = "; ".join(blocked) or "the batch returned no image"
        return "blocked", {"type": "blocked", "message": f"no image returned: {reasons}",
                           "hint": "Rephrase the prompt: describe the scene without the flagged element."}
    return "succeeded", None


def _close_remote_failure(record: BatchJob, state: batch_wire.BatchState, store: JobStore,
                          ledger: Ledger | None) -> BatchJob:
    local = REMOTE_FAILURES.get(state.state, "failed")
    message = (state.error or {}).get("message") or f"the batch ended in state {state.state}"
    error = {"type": "generation_failed" if local != "cancelled" else "cancelled", "message": message,
             "hint": "Batches that fail, expire (48 h) or are cancelled are not billed for unfinished requests; "
                     "rerun batch_gen.py with --retry-failed."}
    _fail_items(record, error)
    record = store.update(record.job_id, state="cancelled" if local == "cancelled" else "failed", error=error,
                          actual_usd=0.0, finished=now_iso(), remote_state=state.state)
    _ledger(ledger, record, record.state, actual_usd=0.0)
    return record


def _fail_items(record: BatchJob, error: dict[str, Any]) -> None:
    results = ResultsFile(Path(str(record.results_file)))
    for item in record.items:
        results.append({"key": item["key"], "index": item["index"], "line": item["line"], "kind": "image",
                        "state": "failed", "prompt": item["prompt"], "model": item["model"]["id"],
                        "time": now_iso(), "job_id": record.job_id, "via": "batch-api", "files": [],
                        "cost_usd": 0.0, "error": error, "retryable": True})


# -- outcome, cancel, jobs.py ---------------------------------------------------------------------

def outcome(record: BatchJob) -> dict[str, Any]:
    """The stdout fields of a batch job, or the error its state means."""
    items = [{"index": i["index"], "line": i["line"], "key": i["key"], "prompt": i["prompt"],
              "state": i.get("state", "pending"), "files": i.get("files") or [], "cost": i.get("cost_usd")}
             for i in record.items or []]
    tally = {s: sum(1 for i in items if i["state"] == s) for s in ("succeeded", "failed", "blocked")}
    doc = {"job_id": record.job_id, "kind": RECORD_KIND, "state": record.state,
           "batch": record.handle, "backend": record.backend, "model": record.model,
           "items": items, "counts": tally, "results_file": record.results_file,
           "cost": {**record.estimate, "actual_usd": record.actual_usd},
           "polls": record.polls}
    if record.state == "succeeded":
        return doc
    error = record.error or {}
    if record.state == "cancelled":
        exc: errors.MediagenError = errors.GenerationFailed(f"batch job {record.job_id} was cancelled",
                                                            "Rerun batch_gen.py with --retry-failed to send "
                                                            "its items again.")
    else:
        exc = errors.GenerationFailed(error.get("message", f"batch job {record.job_id} {record.state}"),
                                      error.get("hint", "See details."),
                                      details={"job_id": record.job_id, "error": error})
    exc.partial = doc
    raise exc


def cancel(record: BatchJob, store: JobStore, settings: Settings, transport: Transport) -> dict[str, Any]:
    """``POST batches/{id}:cancel`` (free); the items are marked failed so a rerun can resend them."""
    if record.state in TERMINAL_STATES:
        return {"job_id": record.job_id, "kind": RECORD_KIND, "state": record.state, "cancelled": False,
                "reason": f"job already {record.state}"}
    remote = False
    if record.handle:
        choice = lro.resume_choice(record, settings, "image")
        url = endpoints.gemini_url(settings["gemini_base_url"], settings["gemini_api_version"],
                                   batch_wire.cancel_path(record.handle))
        transport.send_json(HttpRequest("POST", url, json=batch_wire.cancel_body(), label="batches.cancel"),
                            choice.credential.auth)
        remote = True
    error = {"type": "cancelled", "message": f"batch job {record.job_id} was cancelled",
             "hint": "Rerun batch_gen.py with --retry-failed to send these items again."}
    _fail_items(record, error)
    record = store.update(record.job_id, state="cancelled", error=error, finished=now_iso())
    return {"job_id": record.job_id, "kind": RECORD_KIND, "state": "cancelled", "batch": record.handle,
            "cancelled": True, "cancelled_remotely": remote}


def job_command(action: str, record: BatchJob, store: JobStore, settings: Settings, transport: Transport,
                console: Console, *, wait_timeout: float | None, ledger: Ledger | None) -> dict[str, Any]:
    """``jobs.py status|wait|download|cancel`` for an image-batch job."""
    if action == "cancel":
        return cancel(record, store, settings, transport)
    if record.state in TERMINAL_STATES:
        return outcome(record)
    timeout = (wait_timeout if wait_timeout is not None else DEFAULT_WAIT_TIMEOUT_S) if action == "wait" else 0.0
    return wait(record.job_id, store, settings, transport, console, timeout_s=timeout, ledger=ledger,
                poll_now=action != "wait")
