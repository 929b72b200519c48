"""What the offline batch paths share: the job record of image items, and saving the answers once the job ends.

The Gemini Batch API (``ops.batch_api``) and Vertex batch prediction
(``ops.vertex_batch``) both take image items from a batch file, record one job
for them before anything is sent, and, when the job ends, save each answer's
images next to its item's target with a sidecar, append one results-file line
per item, write the ledger line and the record's final state, all under the
job's lock (``lro.finish_once``). Requests carry the key ``<item key>-<n>``, so
each answer maps back to its input line.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Protocol

from mediagen import __version__
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.resources import script_command
from mediagen.ops import lro
from mediagen.ops.batch.planning import BatchItem, ResultsFile
from mediagen.ops.images import PARAM_KEYS, ImagePlan
from mediagen.ops.jobstore import TERMINAL_STATES, BatchJob, JobStore, now_iso
from mediagen.ops.ledger import Ledger
from mediagen.ops.output import OutputPlan, Sidecar, release, write_sidecar
from mediagen.ops.payloads import save_payload, write_payload
from mediagen.ops.rescue import paid_not_saved, rescue
from mediagen.wire import gemini as gemini_wire
from mediagen.wire import replies
from mediagen.wire.batch import BatchResult
from mediagen.wire.common import GenerationOutcome

# How each job kind is named in results lines and sidecars, and the words for its discount.
VIA = {"image-batch": "batch-api", "vertex-batch": "vertex-batch"}
DISCOUNT_BASIS = {"image-batch": "catalog price per image with the Batch API discount",
                  "vertex-batch": "catalog price per image with the batch prediction discount"}
REMOTE_FAILURES = {"FAILED": "failed", "CANCELLED": "cancelled", "EXPIRED": "expired"}


class Ended(Protocol):
    """A job that ended without results: its remote state (``FAILED``...) and error."""

    state: str
    error: dict[str, Any] | None


def via_of(record: BatchJob) -> str:
    """``batch-api`` or ``vertex-batch``: how results lines and sidecars name the job's path."""
    return VIA.get(record.kind, record.kind)


# -- the record -------------------------------------------------------------------------------------------

def prices(item: BatchItem, catalog: Any) -> tuple[float | None, float | None]:
    """(standard, batch) estimates of one item in USD."""
    estimate = catalog.estimate({**item.plan.request, "batch": True})
    standard = item.plan.estimate.usd if item.plan.estimate.priced else None
    batch_usd = estimate.usd if estimate.priced else None
    return standard, batch_usd


def request_entries(item: BatchItem) -> list[tuple[str, dict[str, Any]]]:
    """``(key, generateContent body)`` for each image of the item (``<item key>-<n>``)."""
    assert isinstance(item.plan, ImagePlan)
    return [(f"{item.key}-{n}", request.json) for n, request in enumerate(item.plan.http_requests, start=1)]


def job_record(record_type: type[BatchJob], job_id: str, items: list[BatchItem], catalog: Any, *, provider: str,
               results_path: Path, source: str, **fields: Any) -> BatchJob:
    """The record of a new job (state ``submitting``), its items priced at the batch rate."""
    plan = items[0].plan
    assert isinstance(plan, ImagePlan)
    described = [item_record(item, catalog) for item in items]
    standard = _sum(d["standard_usd"] for d in described)
    batch_usd = _sum(d["estimate_usd"] for d in described)
    priced = all(d["estimate_usd"] is not None for d in described)
    return record_type.of(
        job_id=job_id, kind=record_type.kind, state="submitting", provider=provider,
        backend=plan.choice.describe(), express=False, model=plan.model_info(), mode="batch",
        prompt=f"{len(items)} image item(s) from {source or 'a batch file'}",
        results_file=str(results_path), items=described,
        estimate={"estimate_usd": batch_usd if priced else None, "standard_usd": standard if priced else None,
                  "batch_usd": batch_usd if priced else None,
                  "saving_usd": round(standard - batch_usd, 6) if priced else None, "priced": priced,
                  "as_of": plan.estimate.as_of, "source": plan.estimate.source},
        polls=0, **fields,
    )


def item_record(item: BatchItem, catalog: Any) -> dict[str, Any]:
    """One item as the record keeps it: prompt, target, request keys, parameters, inputs and prices."""
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


def create_failed(record: BatchJob, exc: errors.MediagenError, store: JobStore, ledger: Ledger | None) -> None:
    """After a timeout or a 5xx Google may have created the job: record "unknown" (never resent), else "failed"."""
    unknown = lro.may_have_started(exc)
    state, error = ("unknown" if unknown else "failed"), exc.to_dict()
    store.update(record.job_id, state=state, error=error)
    ledger_line(ledger, record, state, actual_usd=None if unknown else 0.0)
    results = ResultsFile(Path(str(record.results_file)))
    for item in record.items:
        results.append(results_line(record, item, state, error=error, retryable=not unknown))
    exc.for_job(record.job_id)


def results_line(record: BatchJob, item: dict[str, Any], state: str, **fields: Any) -> dict[str, Any]:
    """The results-file line of one recorded item."""
    return {"key": item["key"], "index": item["index"], "line": item["line"], "kind": "image", "state": state,
            "prompt": item["prompt"], "model": item["model"]["id"], "time": now_iso(), "job_id": record.job_id,
            "via": via_of(record), **fields}


# -- saving the answers ------------------------------------------------------------------------------------

class Saver:
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

    def take(self, result: BatchResult) -> None:
        """Save the images of one answer (or note why it has none) under its item."""
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
              "basis": DISCOUNT_BASIS.get(record.kind, DISCOUNT_BASIS["image-batch"])},
        safety={"finish_reason": parsed.finish_reason, "blocked": False,
                "thought_images_skipped": parsed.skipped_thoughts},
        batch={"job_id": record.job_id, "name": record.handle, "key": key, "item_key": item["key"],
               "line": item["line"], "index": item["index"], "via": via_of(record)},
    )


def close_success(record: BatchJob, saver: Saver, store: JobStore, ledger: Ledger | None) -> BatchJob:
    """Every item's state and files into the record, one results-file line each, the ledger line: succeeded."""
    results = ResultsFile(Path(str(record.results_file)))
    items, outputs, actual = [], [], 0.0
    for item in record.items:
        files = saver.files[item["key"]]
        state, error = _item_state(item, files, saver)
        cost = round((item["per_image_usd"] or 0.0) * len(files), 6) if item["per_image_usd"] is not None else None
        actual += cost or 0.0
        items.append({**item, "state": state, "files": [f["path"] for f in files], "cost_usd": cost, "error": error})
        outputs += files
        entry = results_line(record, item, state, files=[f["path"] for f in files], cost_usd=cost)
        if error:
            entry.update(error=error, retryable=True)
        results.append(entry)
    actual = round(actual, 6)
    record = store.update(record.job_id, state="succeeded", items=items, outputs=outputs, actual_usd=actual,
                          finished=now_iso())
    ledger_line(ledger, record, "succeeded", actual_usd=actual, files=[f["path"] for f in outputs])
    return record


@contextlib.contextmanager
def billed_if_unsaved(record: BatchJob, ledger: Ledger | None) -> Iterator[None]:
    """An ended batch is paid for: when its answers cannot be saved, the ledger says so with its cost (if the
    disk still lets it) before ``PaidNotSaved`` (exit 10) goes on; ``jobs.py download`` adds the final line."""
    try:
        yield
    except errors.PaidNotSaved as exc:
        with contextlib.suppress(OSError):
            ledger_line(ledger, record, "paid_not_saved", actual_usd=_sum(i["estimate_usd"] for i in record.items),
                        rescued=exc.rescued)
        raise


def cancel(record: BatchJob, store: JobStore, kind: str, send_cancel: Callable[[], Any]) -> dict[str, Any]:
    """Cancel a batch job: ``send_cancel`` (a free request) once Google has the job, then its items are marked
    failed so a rerun can resend them; a job that already ended is left as it is."""
    if record.state in TERMINAL_STATES:
        return {"job_id": record.job_id, "kind": kind, "state": record.state, "cancelled": False,
                "reason": f"job already {record.state}"}
    if record.handle:
        send_cancel()
    return close_cancelled(record, store, kind, bool(record.handle))


def job_command(action: str, record: BatchJob, *, cancel: Callable[[], dict[str, Any]],
                wait: Callable[[float, bool], dict[str, Any]], wait_timeout: float | None,
                default_wait_s: float) -> dict[str, Any]:
    """``jobs.py status|wait|download|cancel`` for a batch job: ``wait(timeout_s, poll_now)`` does the rest."""
    if action == "cancel":
        return cancel()
    if record.state in TERMINAL_STATES:
        return outcome(record)
    timeout = (wait_timeout if wait_timeout is not None else default_wait_s) if action == "wait" else 0.0
    return wait(timeout, action != "wait")


def close_cancelled(record: BatchJob, store: JobStore, kind: str, remote: bool) -> dict[str, Any]:
    """Mark a cancelled batch job's items failed (they may be sent again) and the job cancelled."""
    error = {"type": "cancelled", "message": f"batch job {record.job_id} was cancelled",
             "hint": "Rerun batch_gen.py with --retry-failed to send these items again."}
    fail_items(record, error)
    record = store.update(record.job_id, state="cancelled", error=error, finished=now_iso())
    return {"job_id": record.job_id, "kind": kind, "state": "cancelled", "batch": record.handle,
            "cancelled": True, "cancelled_remotely": remote}


def still_running(record: BatchJob, waited: float) -> errors.StillRunning:
    """The answer for a batch job still running when the wait ends: nothing is lost, and how to collect it."""
    job_id = record.job_id
    error = errors.StillRunning(f"batch job {job_id} is still running after waiting {waited:.0f}s",
                                f"Batch jobs take minutes to hours. Nothing is lost: "
                                f"{script_command('jobs.py', 'wait', job_id)}, or rerun the same batch_gen.py command.",
                                details={"job_id": job_id, "state": record.remote_state or "running",
                                         "next": script_command("jobs.py", "wait", job_id)})
    error.partial = {"job_id": job_id, "state": "running", "batch": record.handle}
    return error


def ledger_line(ledger: Ledger | None, record: BatchJob, status: str, **fields: Any) -> None:
    """The job's line in the cost ledger (none without a ledger)."""
    if ledger is not None:
        ledger.append({"run_id": record.job_id, "command": "batch_gen", "status": status,
                       "model": record.model["id"], "backend": record.backend.get("name"),
                       "estimate_usd": record.estimate.get("estimate_usd"), **fields})


def _item_state(item: dict[str, Any], files: list[dict[str, Any]], saver: Saver) -> tuple[str, dict | None]:
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


def close_remote_failure(record: BatchJob, state: Ended, store: JobStore, ledger: Ledger | None) -> BatchJob:
    """A job that failed, expired or was cancelled on Google's side: every item failed (resendable), nothing billed."""
    local = REMOTE_FAILURES.get(state.state, "failed")
    message = (state.error or {}).get("message") or f"the batch ended in state {state.state}"
    error = {"type": "generation_failed" if local != "cancelled" else "cancelled", "message": message,
             "hint": "Batches that fail, expire (48 h) or are cancelled are not billed for unfinished requests; "
                     "rerun batch_gen.py with --retry-failed."}
    fail_items(record, error)
    record = store.update(record.job_id, state="cancelled" if local == "cancelled" else "failed", error=error,
                          actual_usd=0.0, finished=now_iso(), remote_state=state.state)
    ledger_line(ledger, record, record.state, actual_usd=0.0)
    return record


def fail_items(record: BatchJob, error: dict[str, Any]) -> None:
    """A failed (resendable) results-file line for every item of the job."""
    results = ResultsFile(Path(str(record.results_file)))
    for item in record.items:
        results.append(results_line(record, item, "failed", files=[], cost_usd=0.0, error=error, retryable=True))


# -- outcome ---------------------------------------------------------------------------------------

def outcome(record: BatchJob) -> dict[str, Any]:
    """The stdout fields of a batch job, or the error its state means."""
    items = [{"index": i["index"], "line": i["line"], "key": i["key"], "prompt": i["prompt"],
              "state": i.get("state", "pending"), "files": i.get("files") or [], "cost": i.get("cost_usd")}
             for i in record.items or []]
    tally = {s: sum(1 for i in items if i["state"] == s) for s in ("succeeded", "failed", "blocked")}
    doc = {"job_id": record.job_id, "kind": record.kind, "state": record.state,
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
