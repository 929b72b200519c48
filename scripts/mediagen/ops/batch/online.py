"""The online runner: items sent in parallel under an adaptive limiter; one failure never stops the others.

Images go to one worker pool and videos to another; recorded video jobs are
resumed (polled), never created again. After a 429 the shared
``AdaptiveLimiter`` paces new requests to the rate the server accepted. In auto
mode (no ``--concurrency``) the image pool grows and shrinks with the
limiter's concurrency (``workers.ElasticPool``); every worker shares one
session whose connection pool holds as many connections as the limiter allows.
"""
from __future__ import annotations

import concurrent.futures
import functools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.ops.batch.planning import BatchItem, ItemConsole, ResultsFile
from mediagen.ops.batch.summary import ItemOutcome, item_state
from mediagen.ops.batch.workers import ElasticPool
from mediagen.ops.images import ImagePlan, run_images
from mediagen.ops.jobstore import TERMINAL_STATES, JobStore, new_job_id
from mediagen.ops.ledger import Ledger
from mediagen.ops.output import read_sidecar, write_sidecar
from mediagen.ops.videojobs import submit, wait
from mediagen.ops.videos import VideoPlan
from mediagen.transport.http import RetryPolicy, Transport, new_session
from mediagen.transport.limiter import AdaptiveLimiter, PacedTransport



@dataclass
class OnlineRun:
    """Everything the online workers share."""

    results: ResultsFile
    limiter: AdaptiveLimiter
    console: Console
    store: JobStore
    ledger: Ledger
    retry: RetryPolicy
    plain_transport: Callable[[], Transport]
    wait: bool = True
    wait_timeout: float | None = None
    total: int = 0
    finished: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    session: Any = None

    def paced(self) -> PacedTransport:
        """A paced transport on the run's shared session (kept-alive connections are reused by every worker)."""
        with self.lock:
            if self.session is None:
                self.session = new_session(pool_size=self.limiter.maximum)
        return PacedTransport(self.limiter, retry=self.retry, announce=self.console.info, session=self.session)


def run_online(pending: list[BatchItem], resumable: dict[str, list[BatchItem]], run: OnlineRun) -> list[ItemOutcome]:
    """Send every pending item and resume recorded video jobs; one failure never stops the others."""
    run.total = len(pending) + sum(len(v) for v in resumable.values())
    images = [i for i in pending if i.kind == "image"]
    videos = [i for i in pending if i.kind == "video"]
    video_work = [(item, job_id) for job_id, items in resumable.items() for item in items]
    video_work = [(item, None) for item in videos] + video_work
    # A video item holds its worker while the job runs (minutes), so videos get a pool of their own.
    workers = max(1, min(run.limiter.maximum, len(video_work)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vid") as video_pool:
        futures = [video_pool.submit(_guarded, _video_work, item, run, job_id) for item, job_id in video_work]
        pool: ElasticPool[ItemOutcome] = ElasticPool(run.limiter.wanted_workers, "img")
        outcomes = pool.run([functools.partial(_guarded, _image_item, item, run) for item in images])
        outcomes += [future.result() for future in futures]
    return sorted(outcomes, key=lambda o: o.item.index)


def _video_work(item: BatchItem, run: OnlineRun, job_id: str | None) -> ItemOutcome:
    """A new video item, or one recorded by an earlier run (resumed, never created again)."""
    return _resume_video(item, run, job_id) if job_id else _video_item(item, run)


def _guarded(work: Callable[..., ItemOutcome], item: BatchItem, run: OnlineRun, *args: Any) -> ItemOutcome:
    """Run one item; a bug or error in it becomes that item's failure, never the batch's."""
    started = time.monotonic()
    try:
        outcome = work(item, run, *args)
    except errors.MediagenError as exc:
        outcome = ItemOutcome(item, "failed", error=exc.to_dict())
    except Exception as exc:  # noqa: BLE001 - one item's bug must not lose the other items
        outcome = ItemOutcome(item, "failed", error={"type": "internal", "message": repr(exc),
                                                     "hint": "A bug in mediagen; rerun with --debug."})
    outcome.seconds = time.monotonic() - started
    _progress(run, outcome)
    return outcome


def _progress(run: OnlineRun, outcome: ItemOutcome) -> None:
    with run.lock:
        run.finished += 1
        done = run.finished
    files = f", {len(outcome.files)} file(s)" if outcome.files else ""
    why = f": {outcome.error.get('message')}" if outcome.error and outcome.state != "succeeded" else ""
    run.console.info(f"[{done}/{run.total}] line {outcome.item.line}: {outcome.state}{files} "
                     f"({outcome.seconds:.1f}s){why}")


def _image_item(item: BatchItem, run: OnlineRun) -> ItemOutcome:
    if run.limiter.halted:
        return ItemOutcome(item, "not_sent", error={"type": "not_sent", "message": run.limiter.halted,
                                                     "hint": "Run the same command again later to send it."})
    quiet = ItemConsole(run.console, f"line {item.line}")
    assert isinstance(item.plan, ImagePlan)
    try:
        doc = run_images(item.plan, run.paced, quiet, output_target=item.output_target)
        state, error = "succeeded", None
    except errors.GenerationBlocked as exc:
        doc, state, error = exc.partial or {}, "blocked", exc.to_dict()
    except errors.MediagenError as exc:
        doc, error = exc.partial or {}, exc.to_dict()
        state = item_state(error)
        if isinstance(exc, errors.RateLimited):
            run.limiter.halt(f"not sent: the API kept answering 429 ({exc.message})")
    files = [str(image["path"]) for image in doc.get("images") or []]
    _annotate_sidecars(files, item)
    cost = (doc.get("cost") or {}).get("actual_usd")
    entry = {"files": files, "cost_usd": cost}
    if error:
        entry.update(error=error, retryable=state == "failed")
    run.results.append(item.entry(state, **entry))
    return ItemOutcome(item, state, files, cost, error=error)


def _annotate_sidecars(files: list[str], item: BatchItem) -> None:
    """Add the batch provenance (input line and key) to each saved file's sidecar."""
    for name in files:
        path = Path(name)
        sidecar = read_sidecar(path)
        if sidecar is not None:
            sidecar.set(batch={"key": item.key, "line": item.line, "index": item.index, "via": "online"})
            write_sidecar(path, sidecar)


def _video_item(item: BatchItem, run: OnlineRun, job_id: str | None = None) -> ItemOutcome:
    assert isinstance(item.plan, VideoPlan)
    job_id = job_id or new_job_id()
    run.results.append(item.entry("submitting", job_id=job_id))
    quiet = ItemConsole(run.console, f"line {item.line}")
    try:
        submitted = submit(item.plan, run.store, run.ledger, run.paced(), quiet,
                           output_target=item.output_target, job_id=job_id)
    except errors.MediagenError as exc:
        error = exc.to_dict()
        state = item_state(error)
        run.results.append(item.entry(state, job_id=job_id, error=error, retryable=state == "failed"))
        return ItemOutcome(item, state, job_id=job_id, error=error)
    return _wait_video(item, run, job_id, submitted.initial)


def _resume_video(item: BatchItem, run: OnlineRun, job_id: str) -> ItemOutcome:
    """A video recorded by an earlier run: wait for it; never send its create request again."""
    if not (run.store.path(job_id)).is_file():
        return _video_item(item, run, job_id)     # killed before the record: nothing was sent
    record = run.store.get(job_id)
    if not record.handle and record.state not in TERMINAL_STATES:
        error = {"type": "unknown", "message": f"job {job_id} was interrupted during its create request",
                 "hint": "It may or may not have started; mediagen will not send it again on its own. Check AI "
                         "Studio / the Cloud console, then rerun with --retry-unknown --approve to resend it."}
        run.results.append(item.entry("unknown", job_id=job_id, error=error, retryable=False))
        return ItemOutcome(item, "unknown", job_id=job_id, error=error)
    return _wait_video(item, run, job_id, None)


def _wait_video(item: BatchItem, run: OnlineRun, job_id: str, initial: Any) -> ItemOutcome:
    if not run.wait and initial is None:
        run.results.append(item.entry("running", job_id=job_id))
        return ItemOutcome(item, "running", job_id=job_id)
    timeout = run.wait_timeout if run.wait_timeout is not None else float(item.plan.settings["wait_timeout"])
    quiet = ItemConsole(run.console, f"line {item.line}")
    try:
        doc = wait(job_id, run.store, item.plan.settings, run.plain_transport(), quiet, timeout_s=timeout,
                   initial=initial, ledger=run.ledger)
        state, error = "succeeded", None
    except errors.StillRunning:
        run.results.append(item.entry("running", job_id=job_id))
        return ItemOutcome(item, "running", job_id=job_id)
    except errors.GenerationBlocked as exc:
        doc, state, error = exc.partial or {}, "blocked", exc.to_dict()
    except errors.MediagenError as exc:
        doc, error = exc.partial or {}, exc.to_dict()
        state = "paid_not_saved" if isinstance(exc, errors.PaidNotSaved) else "failed"
    files = [str(v["path"]) for v in doc.get("videos") or []]
    _annotate_sidecars(files, item)
    cost = (doc.get("cost") or {}).get("actual_usd")
    entry: dict[str, Any] = {"job_id": job_id, "files": files, "cost_usd": cost}
    if error:
        entry.update(error=error, retryable=state == "failed")
    run.results.append(item.entry(state, **entry))
    return ItemOutcome(item, state, files, cost, job_id=job_id, error=error)
