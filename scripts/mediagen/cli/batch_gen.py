"""batch_gen.py: many images (or videos) from one input file, online or through the Gemini Batch API."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Mapping, TextIO

from mediagen.app.runtime import load_catalog, make_transport
from mediagen.cli.common import (
    Context,
    Parser,
    add_settings_options,
    add_spend_options,
    describe_requests,
    make_parser,
    run_command,
)
from mediagen.config.credentials import placeholder_headers
from mediagen.config.settings import Settings, resolve_settings
from mediagen.core import errors
from mediagen.ops import batch, batch_api
from mediagen.ops.jobstore import store_for
from mediagen.ops.ledger import ledger_for
from mediagen.ops.targets import model_method_url
from mediagen.transport.http import HttpRequest, RetryPolicy
from mediagen.wire import batch as batch_wire

DESCRIPTION = """Generate many images (or videos) from one input file, resumably.

Input: a text file (one prompt per line, # comments, optional "|| key=value; ..."),
a CSV with a 'prompt' column plus parameter columns, JSONL, or YAML/JSON (a list,
or {defaults: {...}, items: [...]}). Item values win over these flags, which win
over the file's defaults. Every item is validated and priced before anything is
sent; above the config's approve_above (default $0.50) the run needs --approve
(or a --max-cost that covers the estimate; --max-cost is always a hard cap).

Each finished item appends a line to OUTPUT/batch-results.jsonl; running the same
command again skips finished items and resumes recorded jobs (never re-creating them).
--via batch-api sends Gemini image items as one Gemini Batch API job (50% cheaper,
minutes to hours); jobs.py list/status/wait/cancel handle it too. Examples:
  batch_gen.py prompts.txt --aspect-ratio 16:9 --approve
  batch_gen.py shots.yaml --estimate-cost
  batch_gen.py catalog.csv --via batch-api --approve --max-cost 5"""

SETTING_KEYS = ("model", "aspect_ratio", "image_size", "count", "negative_prompt", "seed", "person_generation",
                "thinking_level", "output_mime", "duration", "resolution", "backend", "location", "max_cost",
                "approve_above")


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("batch_gen.py", DESCRIPTION, stdout)
    parser.add_argument("input", help="Input file: .txt, .csv, .jsonl, .yaml/.yml or .json.")
    gen = parser.add_argument_group("defaults for every item (an item's own values win)")
    gen.add_argument("--kind", choices=list(batch.KINDS), help="image (default) or video.")
    gen.add_argument("-m", "--model", help="Model id or alias.")
    gen.add_argument("--aspect-ratio", help="e.g. 1:1, 16:9.")
    gen.add_argument("--image-size", help="512, 1K, 2K or 4K where the model offers it.")
    gen.add_argument("-n", "--count", type=int, help="Images per item.")
    gen.add_argument("--negative-prompt", help="What to avoid.")
    gen.add_argument("--seed", type=int, help="Seed, where the backend accepts one.")
    gen.add_argument("--person-generation", help="allow_all | allow_adult | dont_allow.")
    gen.add_argument("--thinking-level", help="minimal | high (Gemini 3.1 image models).")
    gen.add_argument("--output-mime", help="image/png or image/jpeg (Vertex only).")
    gen.add_argument("--duration", type=int, help="Video seconds.")
    gen.add_argument("--resolution", help="Video resolution (720p, 1080p, 4k).")
    run = parser.add_argument_group("running")
    run.add_argument("-o", "--output", metavar="DIR", help="Output folder (default ./generated_batch/<input name>/).")
    run.add_argument("--via", choices=["online", "batch-api"], default="online",
                     help="online (default): parallel requests now; batch-api: one Gemini Batch API job (50%% off).")
    run.add_argument("--concurrency", type=int, default=batch.DEFAULT_CONCURRENCY,
                     help=f"Parallel requests online (default {batch.DEFAULT_CONCURRENCY}); 429s lower the pace.")
    run.add_argument("--rate", type=float, metavar="RPS", help="Start paced at this many requests per second.")
    run.add_argument("--retry-failed", action="store_true",
                     help="Also resend items whose earlier attempt failed (never ones that may have been billed).")
    run.add_argument("--approve", action="store_true", help="Approve the estimate above the approve_above threshold.")
    run.add_argument("--wait", dest="wait", action="store_true", default=True, help="Wait for jobs (default).")
    run.add_argument("--no-wait", dest="wait", action="store_false", help="Return once jobs are submitted.")
    run.add_argument("--wait-timeout", type=float, metavar="S", help="Stop waiting for jobs after S seconds.")
    api = parser.add_argument_group("Batch API")
    api.add_argument("--batch-input", choices=["auto", "inline", "file"], default="auto",
                     help="Inline requests, or a JSONL file through the Files API (auto: file above the limit).")
    api.add_argument("--inline-limit-mb", type=float, default=batch_api.INLINE_LIMIT_BYTES / 1024 / 1024,
                     help="Largest inline request body before switching to a file (default 20).")
    api.add_argument("--upload-chunk-bytes", type=int, default=None, help=argparse.SUPPRESS)
    add_spend_options(parser)
    add_settings_options(parser)
    return parser


def cli_defaults(args: argparse.Namespace) -> dict[str, Any]:
    """Generation flags, as item defaults (None = not given)."""
    return {"kind": args.kind, "model": args.model, "aspect_ratio": args.aspect_ratio,
            "image_size": args.image_size, "count": args.count, "negative_prompt": args.negative_prompt,
            "seed": args.seed, "person_generation": args.person_generation, "thinking_level": args.thinking_level,
            "output_mime": args.output_mime, "duration": args.duration, "resolution": args.resolution}


def _check_args(args: argparse.Namespace) -> None:
    if args.concurrency < 1:
        raise errors.UsageError("--concurrency must be at least 1", "Use --concurrency 1 or more.")
    if args.count is not None and args.count < 1:
        raise errors.UsageError("--count must be at least 1", "Use --count 1 or more.")
    if args.rate is not None and args.rate <= 0:
        raise errors.UsageError("--rate must be above 0", "Give requests per second, e.g. --rate 2 or --rate 0.2.")
    if args.via == "batch-api" and args.kind == "video":
        raise errors.UsageError("--via batch-api takes images only", "Drop --kind video, or use --via online.")


def handle(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    _check_args(args)
    source = batch.read_input(Path(args.input))
    core = {"backend": args.backend, "location": args.location, "max_cost": args.max_cost}
    bases = {kind: resolve_settings(core, ctx.env, config_path=args.config, project=args.project, kind=kind)
             for kind in batch.KINDS}
    for warning in bases["image"].warnings:
        ctx.console.warn(warning)
    catalog = load_catalog(ctx.env)
    settings = bases["image"]
    output_dir = _output_dir(args, source, settings)
    quick = args.estimate_cost or args.show_defaults
    plan = batch.plan_batch(source, bases, cli_defaults(args), catalog, ctx.console, output_dir,
                            estimate_only=quick, transport=make_transport(settings, ctx.console))
    if args.show_defaults:
        return {"items": len(plan.items), "settings": plan.items[0].plan.settings.show(SETTING_KEYS),
                "output_dir": str(output_dir)}
    results = batch.ResultsFile(plan.results_path)
    selection = batch.select(plan.items, results.load(), retry_failed=args.retry_failed)
    store = store_for(settings)
    batch_jobs, video_jobs = _split_jobs(selection, store)
    if args.via == "batch-api":
        batch_api.check_eligible(selection.pending, catalog, ctx.console)
    cost = _price(selection.pending, catalog, args.via == "batch-api")
    if args.estimate_cost:
        return _estimate_doc(plan, selection, catalog, cost)
    to_pay = cost["batch_usd"] if args.via == "batch-api" else cost["standard_usd"]
    batch.gate(to_pay, cost["priced"], settings, approved=args.approve, items=len(selection.pending))
    if args.dry_run:
        return _dry_run_doc(plan, selection, args, cost)
    return _run(args, ctx, plan, selection, batch_jobs, video_jobs, results, store, catalog, cost)


def _output_dir(args: argparse.Namespace, source: batch.BatchInput, settings: Settings) -> Path:
    if args.output:
        return Path(args.output).expanduser().resolve()
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
        kind = store.get(job_id).get("kind")
        (batch_jobs if kind == batch_api.RECORD_KIND else video_jobs)[job_id] = items
    selection.pending.sort(key=lambda i: i.index)
    return batch_jobs, video_jobs


def _price(items: list[batch.BatchItem], catalog: Any, via_batch: bool) -> dict[str, Any]:
    standard, priced = batch.total_estimate(items)
    doc: dict[str, Any] = {"standard_usd": standard, "priced": priced, "batch_usd": None, "saving_usd": None}
    first = items[0].plan.estimate if items else None
    doc.update(as_of=getattr(first, "as_of", None), source=getattr(first, "source", None))
    if via_batch:
        pairs = [batch_api.prices(i, catalog) for i in items]
        if priced and all(b is not None for _, b in pairs):
            doc["batch_usd"] = round(sum(b for _, b in pairs if b is not None), 6)
            doc["saving_usd"] = round(standard - doc["batch_usd"], 6)
        else:
            doc["priced"] = False
    return doc


def _cost_doc(cost: dict[str, Any], via_batch: bool, actual: float | None, previous: float) -> dict[str, Any]:
    doc = {"estimate_usd": cost["batch_usd"] if via_batch else cost["standard_usd"], "actual_usd": actual,
           "previous_usd": previous, "priced": cost["priced"], "as_of": cost["as_of"], "source": cost["source"]}
    if via_batch:
        doc.update(standard_usd=cost["standard_usd"], batch_usd=cost["batch_usd"], saving_usd=cost["saving_usd"])
    return doc


def _estimate_doc(plan: batch.BatchPlan, selection: batch.Selection, catalog: Any,
                  cost: dict[str, Any]) -> dict[str, Any]:
    items = []
    for item in plan.items:
        standard, batch_usd = batch_api.prices(item, catalog) if item.kind == "image" else (item.estimate_usd(), None)
        items.append({"index": item.index, "line": item.line, "key": item.key, "kind": item.kind,
                      "prompt": item.prompt, "model": item.plan.model_id, "count": item.count,
                      "estimate_usd": standard, "batch_usd": batch_usd,
                      "done": item in selection.done})
    batch_total = [i["batch_usd"] for i in items if i["kind"] == "image" and not i["done"]]
    return {"items": items, "pending": len(selection.pending), "skipped_done": len(selection.done),
            "cost": {"estimate_usd": cost["standard_usd"], "actual_usd": None, "priced": cost["priced"],
                     "as_of": cost["as_of"], "source": cost["source"],
                     "batch_usd": round(sum(batch_total), 6) if batch_total and None not in batch_total else None},
            "results_file": str(plan.results_path)}


def _dry_run_doc(plan: batch.BatchPlan, selection: batch.Selection, args: argparse.Namespace,
                 cost: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"dry_run": True, "via": args.via, "pending": len(selection.pending),
                           "skipped_done": len(selection.done), "results_file": str(plan.results_path),
                           "cost": _cost_doc(cost, args.via == "batch-api", None, 0.0)}
    if args.via == "batch-api":
        doc["requests"] = [describe_requests([_preview_create(items)],
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


def _preview_create(items: list[batch.BatchItem]) -> HttpRequest:
    plan = items[0].plan
    entries = [e for item in items for e in batch_api.request_entries(item)]
    url = model_method_url(plan.choice, plan.settings, plan.wire_id, "batchGenerateContent", None)
    return HttpRequest("POST", url, json=batch_wire.inline_body("<job id>", entries), billable=True)


def _groups(items: list[batch.BatchItem]) -> list[list[batch.BatchItem]]:
    """One Batch API job per model."""
    groups: dict[str, list[batch.BatchItem]] = {}
    for item in items:
        groups.setdefault(item.plan.wire_id, []).append(item)
    return list(groups.values())


# -- running ---------------------------------------------------------------------------------------

def _run(args: argparse.Namespace, ctx: Context, plan: batch.BatchPlan, selection: batch.Selection,
         batch_jobs: dict[str, list[batch.BatchItem]], video_jobs: dict[str, list[batch.BatchItem]],
         results: batch.ResultsFile, store: Any, catalog: Any, cost: dict[str, Any]) -> dict[str, Any]:
    settings = plan.items[0].plan.settings
    ledger = ledger_for(settings)
    transport = make_transport(settings, ctx.console)
    outcomes = [batch.previous_outcome(item) for item in selection.done]
    job_ids = list(batch_jobs) + list(video_jobs)
    for job_id, items in batch_jobs.items():
        outcomes += _batch_outcomes(job_id, items, args, ctx, store, settings, transport, ledger)
    online = selection.pending if args.via == "online" else []
    if online or video_jobs:
        run = batch.OnlineRun(results, _limiter(args, ctx), ctx.console, store, ledger,
                              RetryPolicy(max_attempts=int(settings.get("retries") or 4)),
                              lambda: make_transport(settings, ctx.console), wait=args.wait,
                              wait_timeout=args.wait_timeout)
        fresh = batch.run_online(online, video_jobs, run)
        if run.limiter.throttles:
            ctx.console.warn(f"the API answered 429 {run.limiter.throttles} time(s); requests were paced to "
                             f"{run.limiter.limit} per {run.limiter.window:g}s (pass --rate to start there)")
        job_ids += [o.job_id for o in fresh if o.job_id and o.job_id not in job_ids]
        outcomes += fresh
    if args.via == "batch-api" and selection.pending:
        for items in _groups(selection.pending):
            try:
                record = batch_api.submit(items, catalog, store=store, ledger=ledger, results=results,
                                          transport=transport, console=ctx.console, options=_submit_options(args))
            except errors.MediagenError as exc:       # recorded (never resent); the other groups still go
                job_id = (exc.details or {}).get("job_id") if isinstance(exc.details, dict) else None
                job_ids += [job_id] if job_id else []
                outcomes += [batch.ItemOutcome(i, "failed", job_id=job_id, error=exc.to_dict()) for i in items]
                continue
            job_ids.append(record["job_id"])
            outcomes += _batch_outcomes(record["job_id"], items, args, ctx, store, settings, transport, ledger)
    return _finish(plan, args, outcomes, job_ids, cost)


def _limiter(args: argparse.Namespace, ctx: Context) -> batch.AdaptiveLimiter:
    return batch.AdaptiveLimiter(args.concurrency, args.rate, notify=ctx.console.info)


def _submit_options(args: argparse.Namespace) -> batch_api.SubmitOptions:
    chunk = args.upload_chunk_bytes or batch_api.files_api.CHUNK_BYTES
    return batch_api.SubmitOptions(input_mode=args.batch_input, inline_limit=int(args.inline_limit_mb * 1024 * 1024),
                                   chunk_bytes=chunk, source=str(Path(args.input).name))


def _batch_outcomes(job_id: str, items: list[batch.BatchItem], args: argparse.Namespace, ctx: Context, store: Any,
                    settings: Settings, transport: Any, ledger: Any) -> list[batch.ItemOutcome]:
    """Wait for a Batch API job and read each item's state back from its record."""
    if not args.wait:
        return [batch.ItemOutcome(i, "running", job_id=job_id) for i in items]
    timeout = args.wait_timeout if args.wait_timeout is not None else batch_api.DEFAULT_WAIT_TIMEOUT_S
    error: dict[str, Any] | None = None
    try:
        batch_api.wait(job_id, store, settings, transport, ctx.console, timeout_s=timeout, ledger=ledger)
    except errors.StillRunning:
        return [batch.ItemOutcome(i, "running", job_id=job_id) for i in items]
    except errors.MediagenError as exc:
        error = exc.to_dict()
    recorded = {i["key"]: i for i in store.get(job_id).get("items") or []}
    outcomes = []
    for item in items:
        entry = recorded.get(item.key) or {}
        state = entry.get("state") if entry.get("state") in batch.DONE_STATES else "failed"
        outcomes.append(batch.ItemOutcome(item, state, list(entry.get("files") or []), entry.get("cost_usd"),
                                          job_id=job_id, error=entry.get("error") or (error if state == "failed"
                                                                                      else None)))
    return outcomes


def _finish(plan: batch.BatchPlan, args: argparse.Namespace, outcomes: list[batch.ItemOutcome],
            job_ids: list[str], cost: dict[str, Any]) -> dict[str, Any]:
    outcomes.sort(key=lambda o: o.item.index)
    actual = batch.actual_total(outcomes, previous=False)
    previous = batch.actual_total(outcomes, previous=True)
    first = plan.items[0].plan
    document = {"via": args.via, "input": str(plan.source.path), "output_dir": str(plan.output_dir),
                "results_file": str(plan.results_path), "items": [o.describe() for o in outcomes],
                "counts": batch.counts(outcomes), "cost": _cost_doc(cost, args.via == "batch-api", actual, previous),
                "job_ids": job_ids, "backend": first.choice.describe(),
                "models": sorted({o.item.plan.model_id for o in outcomes})}
    error = batch.run_error(document, outcomes)
    if error is not None:
        raise error
    return document


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("batch_gen", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
