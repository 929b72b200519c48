"""Use case: many images (or videos) from one input file: online, or as one Gemini Batch API or Vertex batch job.

Every item is validated and priced before anything is sent; the gate needs
approval above the ``approve_above`` threshold. Each finished item appends a
line to the results file, so running the same request again skips finished
items and resumes recorded jobs (never re-creating them).
"""
from __future__ import annotations

import math
import mimetypes
from pathlib import Path
from typing import Any

from mediagen.app.context import Context
from mediagen.app.gate import Budget, Repeat, gate
from mediagen.app.generation import cap_of, describe_requests, resolve, warn_if_over_cap
from mediagen.app.outcome import Outcome, Prepared, SavedFile, completed, require_positive
from mediagen.app.requests import BatchRequest, item_defaults
from mediagen.app.runtime import load_catalog, make_transport
from mediagen.catalog import worst_usd
from mediagen.config.credentials import placeholder_headers
from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.ops import batch, batch_api, uploads, vertex_batch
from mediagen.ops.batch_jobs import prices as offline_prices
from mediagen.ops.batch_jobs import request_entries
from mediagen.ops.jobstore import BatchJob, store_for
from mediagen.ops.ledger import ledger_for
from mediagen.core.errors import may_have_started
from mediagen.ops.preflight import check_before_paying
from mediagen.ops.targets import model_method_url
from mediagen.transport.http import HttpRequest, RetryPolicy
from mediagen.transport.limiter import AdaptiveLimiter
from mediagen.wire import batch as batch_wire

SHOWN_SETTINGS = ("model", "aspect_ratio", "image_size", "count", "negative_prompt", "seed", "person_generation",
                  "thinking_level", "output_mime", "duration", "resolution", "backend", "location", "max_cost",
                  "approve_above")
DEFAULT_APPROVE_ABOVE = 0.50
# The offline paths (one job for many items, at the batch price) by --via, and their job kinds.
OFFLINE = {"batch-api": batch_api, "vertex-batch": vertex_batch}
OFFLINE_KINDS = frozenset({batch_api.RECORD_KIND, vertex_batch.RECORD_KIND})


def run_batch(request: BatchRequest, ctx: Context) -> Outcome:
    """Plan and price every item, gate the total, then run what is still to do (or stop at a free outcome)."""
    return completed(prepare_batch(request, ctx))


def prepare_batch(request: BatchRequest, ctx: Context) -> Outcome | Prepared:
    """Everything before the first paid request: read, plan, select, price, gate (or a free outcome)."""
    _check_request(request)
    source = batch.read_input(Path(request.input))
    bases = {kind: resolve(request, ctx, kind) for kind in batch.KINDS}
    catalog = load_catalog(ctx.env)
    settings = bases["image"]
    output_dir = _output_dir(request, source, settings)
    quick = request.estimate_cost or request.show_defaults
    plan = batch.plan_batch(source, bases, item_defaults(request), catalog, ctx.console, output_dir,
                            estimate_only=quick, transport=make_transport(settings, ctx.console))
    if request.show_defaults:
        return Outcome({"items": len(plan.items), "settings": plan.items[0].plan.settings.show(SHOWN_SETTINGS),
                        "output_dir": str(output_dir)})
    results = batch.ResultsFile(plan.results_path)
    selection = batch.select(plan.items, results.load(), retry_failed=request.retry_failed,
                             retry_unknown=request.retry_unknown)
    store = store_for(settings)
    batch_jobs, video_jobs = _split_jobs(selection, store)
    offline = _check_offline(request, selection.pending, catalog, ctx)
    cost = _price(selection.pending, catalog, offline)
    if request.estimate_cost:
        return Outcome(_estimate_doc(plan, selection, catalog, cost, request.via))
    repeat = _repeat(selection, catalog, offline)
    _gate(request, settings, cost, len(selection.pending), repeat)
    if request.dry_run:
        return Outcome(_dry_run_doc(plan, selection, request, cost, repeat))

    def start() -> Outcome:
        _warn_repeat(ctx, repeat)
        document = _run(request, ctx, plan, selection, batch_jobs, video_jobs, results, store, catalog, cost)
        warn_if_over_cap(document.get("cost") or {}, cap_of(settings), ctx.console, "this batch")
        if repeat.items:
            document["retry_unknown"] = {"items": repeat.items, "max_usd": repeat.usd}
        return Outcome(document, _files(document))

    return Prepared({"input": str(plan.source.path), "output_dir": str(plan.output_dir), "via": request.via,
                     "pending": len(selection.pending), "results_file": str(plan.results_path),
                     "cost": _cost_doc(cost, request.via != "online", None, 0.0)}, start)


def _check_request(request: BatchRequest) -> None:
    require_positive(request.concurrency, "concurrency", "--concurrency")
    require_positive(request.count, "count", "--count")
    if request.rate is not None and not 0 < request.rate < math.inf:
        raise errors.UsageError("--rate must be above 0", "Give requests per second, e.g. --rate 2 or --rate 0.2.")
    if not 0 <= request.inline_limit_mb < math.inf:
        raise errors.UsageError("--inline-limit-mb must be a size in MB, 0 or more",
                                "Give megabytes, e.g. --inline-limit-mb 20 (0 always sends a file).")
    if request.via != "online" and request.kind == "video":
        raise errors.UsageError(f"--via {request.via} takes images only", "Drop --kind video, or use --via online.")


def _check_offline(request: BatchRequest, items: list[batch.BatchItem], catalog: Any, ctx: Context) -> bool:
    """Refuse what the chosen batch job cannot take, and --via vertex-batch without a bucket (unless only
    estimating); True when the items go as one batch job."""
    offline = OFFLINE.get(request.via)
    if offline is None:
        return False
    offline.check_eligible(items, catalog, ctx.console)
    if request.via == "vertex-batch" and items and not request.estimate_cost:    # its JSONL goes to the bucket
        uploads.bucket_prefix(items[0].plan.settings, purpose="--via vertex-batch (its JSONL input and output)")
    return True


def _repeat(selection: batch.Selection, catalog: Any, via_batch: bool) -> Repeat:
    """The items ``--retry-unknown`` sends again, and the most a second bill for them could cost."""
    if not selection.repeating:
        return Repeat()
    price = _price(selection.repeating, catalog, via_batch)
    usd = price["batch_usd"] if via_batch else price["standard_usd"]
    return Repeat(len(selection.repeating), usd if price["priced"] else None)


def _warn_repeat(ctx: Context, repeat: Repeat) -> None:
    if repeat.items:
        ctx.console.warn(f"sending {repeat.items} item(s) again that may already have been billed: "
                         f"{_usd(repeat.usd)} may be billed twice")


def _usd(value: float | None) -> str:
    return f"at most ${value:.2f}" if value is not None else "an unpriced amount"


def _gate(request: BatchRequest, settings: Settings, cost: dict[str, Any], items: int, repeat: Repeat) -> None:
    """The cap always; approval above the approve_above threshold (or when the batch cannot be priced), and
    always for items that may be billed twice."""
    likely = cost["batch_usd"] if request.via != "online" else cost["standard_usd"]
    to_pay = _worst(cost, likely)
    configured = settings.get("approve_above")
    threshold = float(DEFAULT_APPROVE_ABOVE if configured is None else configured)
    budget = Budget(to_pay, bool(cost["priced"]), f"the batch ({items} item(s))",
                    note=f", over the approval threshold ${threshold:.2f} (approve_above in the config file)",
                    details={"approve_above": threshold, "items": items}, likely_usd=likely)
    needed = not (budget.priced and to_pay is not None and to_pay <= threshold + 1e-9)
    gate(budget, cap_of(settings), approval_needed=needed, approved=request.approve, spending=not request.dry_run,
         repeat=repeat)


def _worst(cost: dict[str, Any], likely: float | None) -> float | None:
    """The worst case of what the batch pays: the likely figure plus what uncertain billing may add at list price."""
    if likely is None:
        return None
    return round(likely + max(0.0, cost["max_usd"] - cost["standard_usd"]), 6)


def _files(document: dict[str, Any]) -> tuple[SavedFile, ...]:
    files = [Path(f) for item in document.get("items") or [] for f in item.get("files") or []]
    found = []
    for path in files:
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        found.append(SavedFile(path, mime, mime.split("/")[0]))
    return tuple(found)


def _output_dir(request: BatchRequest, source: batch.BatchInput, settings: Settings) -> Path:
    if request.output:
        return Path(request.output).expanduser().resolve()
    root = settings.get("output_dir")
    folder = Path(root).expanduser() / source.path.stem if root else batch.default_output_dir(source.path)
    return folder.resolve()


def _split_jobs(selection: batch.Selection, store: Any) -> tuple[dict[str, list[batch.BatchItem]],
                                                                  dict[str, list[batch.BatchItem]]]:
    """Recorded jobs by kind; items whose job record never got written (nothing sent) become pending."""
    batch_jobs: dict[str, list[batch.BatchItem]] = {}
    video_jobs: dict[str, list[batch.BatchItem]] = {}
    for job_id, items in selection.resumable.items():
        if not store.path(job_id).is_file():
            if any(i.kind == "video" for i in items):
                video_jobs[job_id] = items            # the video path reuses the recorded job id
            else:
                selection.pending.extend(items)
            continue
        kind = store.get(job_id).kind
        (batch_jobs if kind in OFFLINE_KINDS else video_jobs)[job_id] = items
    selection.pending.sort(key=lambda i: i.index)
    return batch_jobs, video_jobs


def _price(items: list[batch.BatchItem], catalog: Any, via_batch: bool) -> dict[str, Any]:
    standard, priced = batch.total_estimate(items)
    doc: dict[str, Any] = {"standard_usd": standard, "priced": priced, "batch_usd": None, "saving_usd": None,
                           "max_usd": round(sum(worst_usd(i.plan.estimate) for i in items), 6)}
    first = items[0].plan.estimate if items else None
    doc.update(as_of=getattr(first, "as_of", None), source=getattr(first, "source", None))
    if via_batch:
        pairs = [offline_prices(i, catalog) for i in items]
        if priced and all(b is not None for _, b in pairs):
            doc["batch_usd"] = round(sum(b for _, b in pairs if b is not None), 6)
            doc["saving_usd"] = round(standard - doc["batch_usd"], 6)
        else:
            doc["priced"] = False
    return doc


def _cost_doc(cost: dict[str, Any], via_batch: bool, actual: float | None, previous: float) -> dict[str, Any]:
    likely = cost["batch_usd"] if via_batch else cost["standard_usd"]
    doc = {"estimate_usd": likely, "actual_usd": actual,
           "previous_usd": previous, "priced": cost["priced"], "as_of": cost["as_of"], "source": cost["source"]}
    if cost["priced"] and likely is not None:
        doc["max_usd"] = _worst(cost, likely)
    if via_batch:
        doc.update(standard_usd=cost["standard_usd"], batch_usd=cost["batch_usd"], saving_usd=cost["saving_usd"])
    return doc


def _estimate_doc(plan: batch.BatchPlan, selection: batch.Selection, catalog: Any,
                  cost: dict[str, Any], via: str) -> dict[str, Any]:
    """Each item's prices and the total: through the Batch API, its discounted price is the estimate (the online
    one beside it as ``standard_usd``)."""
    items = []
    for item in plan.items:
        standard, batch_usd = offline_prices(item, catalog) if item.kind == "image" else (item.estimate_usd(), None)
        items.append({"index": item.index, "line": item.line, "key": item.key, "kind": item.kind,
                      "prompt": item.prompt, "model": item.plan.model_id, "count": item.count,
                      "estimate_usd": standard, "batch_usd": batch_usd,
                      "done": item in selection.done})
    batch_total = [i["batch_usd"] for i in items if i["kind"] == "image" and not i["done"]]
    batch_usd = round(sum(batch_total), 6) if batch_total and None not in batch_total else None
    headline = batch_usd if via != "online" else cost["standard_usd"]
    return {"items": items, "pending": len(selection.pending), "skipped_done": len(selection.done),
            "via": via,
            "cost": {"estimate_usd": headline, "max_usd": cost["max_usd"], "actual_usd": None,
                     "priced": cost["priced"] and headline is not None, "as_of": cost["as_of"],
                     "source": cost["source"], "standard_usd": cost["standard_usd"], "batch_usd": batch_usd},
            "results_file": str(plan.results_path)}


def _dry_run_doc(plan: batch.BatchPlan, selection: batch.Selection, request: BatchRequest,
                 cost: dict[str, Any], repeat: Repeat) -> dict[str, Any]:
    doc: dict[str, Any] = {"dry_run": True, "via": request.via, "pending": len(selection.pending),
                           "skipped_done": len(selection.done), "results_file": str(plan.results_path),
                           "cost": _cost_doc(cost, request.via != "online", None, 0.0)}
    if repeat.items:
        doc["retry_unknown"] = {"items": repeat.items, "max_usd": repeat.usd}
    if request.via != "online":
        doc["requests"] = [describe_requests([_preview_create(items, request.via)],
                                             placeholder_headers(items[0].plan.choice.credential))[0]
                           for items in _groups(selection.pending)]
        return doc
    doc["items"] = [{"line": item.line, "key": item.key, "requests": describe_requests(
        _requests_of(item), placeholder_headers(item.plan.choice.credential))} for item in selection.pending]
    return doc


def _requests_of(item: batch.BatchItem) -> list[HttpRequest]:
    plan = item.plan
    if item.kind == "image":
        return list(plan.http_requests)           # type: ignore[union-attr]
    return [plan.create] if plan.create is not None else []          # type: ignore[union-attr]


def _preview_create(items: list[batch.BatchItem], via: str) -> HttpRequest:
    if via == "vertex-batch":
        return vertex_batch.preview_create(items)
    plan = items[0].plan
    entries = [e for item in items for e in request_entries(item)]
    url = model_method_url(plan.choice, plan.settings, plan.wire_id, "batchGenerateContent", None)
    return HttpRequest("POST", url, json=batch_wire.inline_body("<job id>", entries), billable=True)


def _groups(items: list[batch.BatchItem]) -> list[list[batch.BatchItem]]:
    """One Batch API job per model."""
    groups: dict[str, list[batch.BatchItem]] = {}
    for item in items:
        groups.setdefault(item.plan.wire_id, []).append(item)
    return list(groups.values())


# -- running ---------------------------------------------------------------------------------------

def _run(request: BatchRequest, ctx: Context, plan: batch.BatchPlan, selection: batch.Selection,
         batch_jobs: dict[str, list[batch.BatchItem]], video_jobs: dict[str, list[batch.BatchItem]],
         results: batch.ResultsFile, store: Any, catalog: Any, cost: dict[str, Any]) -> dict[str, Any]:
    settings = plan.items[0].plan.settings
    ledger = ledger_for(settings)
    check_before_paying(output=plan.output_dir, store=store.folder, ledger=ledger.path)
    transport = make_transport(settings, ctx.console)
    outcomes = [batch.previous_outcome(item) for item in selection.done]
    job_ids = list(batch_jobs) + list(video_jobs)
    for job_id, items in batch_jobs.items():
        outcomes += _batch_outcomes(job_id, items, request, ctx, store, settings, transport, ledger)
    online = selection.pending if request.via == "online" else []
    if online or video_jobs:
        run = batch.OnlineRun(results, _limiter(request, ctx), ctx.console, store, ledger,
                              RetryPolicy(max_attempts=int(settings.get("retries") or 4)),
                              lambda: make_transport(settings, ctx.console), wait=request.wait,
                              wait_timeout=request.wait_timeout)
        fresh = batch.run_online(online, video_jobs, run)
        _report_pace(run.limiter, ctx, bool(online))
        job_ids += [o.job_id for o in fresh if o.job_id and o.job_id not in job_ids]
        outcomes += fresh
    if request.via != "online" and selection.pending:
        for items in _groups(selection.pending):
            try:
                record = _submit(request, items, catalog, store, ledger, results, transport, ctx)
            except errors.MediagenError as exc:       # recorded (never resent); the other groups still go
                job_id = (exc.details or {}).get("job_id") if isinstance(exc.details, dict) else None
                job_ids += [job_id] if job_id else []
                state = "unknown" if may_have_started(exc) else "failed"
                outcomes += [batch.ItemOutcome(i, state, job_id=job_id, error=exc.to_dict()) for i in items]
                continue
            job_ids.append(record.job_id)
            outcomes += _batch_outcomes(record.job_id, items, request, ctx, store, settings, transport, ledger)
    return _finish(plan, request, outcomes, job_ids, cost)


def _report_pace(limiter: AdaptiveLimiter, ctx: Context, sent: bool) -> None:
    """How far the auto concurrency went, and the pace the 429s set."""
    if limiter.auto and sent:
        ctx.console.info(f"concurrency followed the pace: up to {limiter.peak_concurrency} request(s) in flight "
                         f"(auto, at most {limiter.maximum})")
    if limiter.throttles:
        ctx.console.warn(f"the API answered 429 {limiter.throttles} time(s); requests were paced to "
                         f"{limiter.limit} per {limiter.window:g}s (pass --rate to start there)")


def _limiter(request: BatchRequest, ctx: Context) -> AdaptiveLimiter:
    return AdaptiveLimiter(request.concurrency, request.rate, notify=ctx.console.info)


def _submit(request: BatchRequest, items: list[batch.BatchItem], catalog: Any, store: Any, ledger: Any,
            results: batch.ResultsFile, transport: Any, ctx: Context) -> BatchJob:
    """Record and create one offline job (Gemini Batch API or Vertex batch prediction) for ``items``."""
    if request.via == "vertex-batch":
        return vertex_batch.submit(items, catalog, store=store, ledger=ledger, results=results, transport=transport,
                                   console=ctx.console, source=Path(request.input).name)
    return batch_api.submit(items, catalog, store=store, ledger=ledger, results=results, transport=transport,
                            console=ctx.console, options=_submit_options(request))


def _submit_options(request: BatchRequest) -> batch_api.SubmitOptions:
    chunk = request.upload_chunk_bytes or batch_api.files_api.CHUNK_BYTES
    limit = int(request.inline_limit_mb * 1024 * 1024)
    return batch_api.SubmitOptions(input_mode=request.batch_input, inline_limit=limit, chunk_bytes=chunk,
                                   source=str(Path(request.input).name))


def _batch_outcomes(job_id: str, items: list[batch.BatchItem], request: BatchRequest, ctx: Context, store: Any,
                    settings: Settings, transport: Any, ledger: Any) -> list[batch.ItemOutcome]:
    """Wait for an offline job (resuming its create if it was never sent) and read each item's state back."""
    if not request.wait:
        return [batch.ItemOutcome(i, "running", job_id=job_id) for i in items]
    timeout = request.wait_timeout if request.wait_timeout is not None else batch_api.DEFAULT_WAIT_TIMEOUT_S
    error: dict[str, Any] | None = None
    try:
        if store.get(job_id).kind == vertex_batch.RECORD_KIND:
            vertex_batch.wait(job_id, store, settings, transport, ctx.console, timeout_s=timeout, ledger=ledger,
                              items=items)
        else:
            batch_api.wait(job_id, store, settings, transport, ctx.console, timeout_s=timeout, ledger=ledger)
    except errors.StillRunning:
        return [batch.ItemOutcome(i, "running", job_id=job_id) for i in items]
    except errors.MediagenError as exc:
        error = exc.to_dict()
    recorded = {i["key"]: i for i in store.get(job_id, BatchJob).items or []}
    outcomes = []
    unfinished = "paid_not_saved" if (error or {}).get("type") == "paid_not_saved" else "failed"
    for item in items:
        entry = recorded.get(item.key) or {}
        done = entry.get("state") in batch.DONE_STATES
        state = entry.get("state") if done else unfinished
        outcomes.append(batch.ItemOutcome(item, state, list(entry.get("files") or []), entry.get("cost_usd"),
                                          job_id=job_id, error=entry.get("error") or (None if done else error)))
    return outcomes


def _finish(plan: batch.BatchPlan, request: BatchRequest, outcomes: list[batch.ItemOutcome],
            job_ids: list[str], cost: dict[str, Any]) -> dict[str, Any]:
    outcomes.sort(key=lambda o: o.item.index)
    actual = batch.actual_total(outcomes, previous=False)
    previous = batch.actual_total(outcomes, previous=True)
    first = plan.items[0].plan
    document = {"via": request.via, "input": str(plan.source.path), "output_dir": str(plan.output_dir),
                "results_file": str(plan.results_path), "items": [o.describe() for o in outcomes],
                "counts": batch.counts(outcomes), "cost": _cost_doc(cost, request.via != "online", actual, previous),
                "job_ids": job_ids, "backend": first.choice.describe(),
                "models": sorted({o.item.plan.model_id for o in outcomes})}
    error = batch.run_error(document, outcomes)
    if error is not None:
        raise error
    return document


