"""A batch run's outcome: each item's state, the counts, the cost, and the error the run ends with."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediagen.core import errors
from mediagen.core.resources import script_command
from mediagen.ops.batch.planning import BatchItem


@dataclass
class ItemOutcome:
    """What happened to one item in this run (or before it)."""

    item: BatchItem
    state: str
    files: list[str] = field(default_factory=list)
    cost_usd: float | None = None
    job_id: str | None = None
    error: dict[str, Any] | None = None
    seconds: float = 0.0
    previous: bool = False

    def describe(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"index": self.item.index, "line": self.item.line, "key": self.item.key,
                               "prompt": self.item.prompt, "kind": self.item.kind, "state": self.state,
                               "files": self.files, "cost": self.cost_usd, "model": self.item.plan.model_id}
        if self.job_id:
            doc["job_id"] = self.job_id
        if self.error:
            doc["error"] = self.error
        if self.previous:
            doc["previous"] = True
        return doc


def previous_outcome(item: BatchItem) -> ItemOutcome:
    """An item finished by an earlier run, as recorded in the results file."""
    entry = item.previous or {}
    return ItemOutcome(item, str(entry.get("state")), [str(f) for f in entry.get("files") or []],
                       entry.get("cost_usd"), job_id=entry.get("job_id"), error=entry.get("error"), previous=True)


# -- the summary ---------------------------------------------------------------------------------

def counts(outcomes: list[ItemOutcome]) -> dict[str, int]:
    """How many items ended in each state this run (``skipped_done``: finished by an earlier run)."""
    tally = {"succeeded": 0, "failed": 0, "blocked": 0, "skipped_done": 0, "running": 0, "not_sent": 0}
    for outcome in outcomes:
        if outcome.previous:
            tally["skipped_done"] += 1
        else:
            tally[outcome.state if outcome.state in tally else "failed"] += 1
    return tally


def actual_total(outcomes: list[ItemOutcome], *, previous: bool) -> float:
    """What the items of this run (or, with ``previous``, the earlier ones) actually cost."""
    return round(float(sum(o.cost_usd or 0.0 for o in outcomes if o.previous == previous)), 6)


def run_error(document: dict[str, Any], outcomes: list[ItemOutcome]) -> errors.MediagenError | None:
    """The error the batch ends with (its document attached), or None when every item went well.

    Items finished by an earlier run count too: a rerun that leaves a failed item
    unresolved still exits non-zero.
    """
    failed = [o for o in outcomes if o.state in ("failed", "not_sent")]
    running = [o for o in outcomes if o.state == "running"]
    blocked = [o for o in outcomes if o.state == "blocked"]
    tally = document["counts"]
    summary = (f"this run: {tally['succeeded']} succeeded, {tally['failed'] + tally['not_sent']} failed or not "
               f"sent, {tally['blocked']} blocked, {tally['running']} still running, {tally['skipped_done']} done "
               "before")
    results = document["results_file"]
    error: errors.MediagenError
    if running:
        jobs = sorted({o.job_id for o in running if o.job_id})
        example = jobs[0] if jobs else "JOB"
        error = errors.StillRunning(f"{len(running)} item(s) still running in job(s) {', '.join(jobs)} ({summary})",
                                    f"Nothing is lost: run the same command again (it resumes them from {results} "
                                    f"without new create requests), or {script_command('jobs.py', 'wait', example)}.",
                                    details={"job_ids": jobs})
    elif failed:
        error = _failure_error(failed, summary, results)
    elif blocked:
        error = errors.GenerationBlocked(f"{len(blocked)} item(s) returned no media ({summary})",
                                         "Rephrase the prompts of the blocked lines (see items); the others were "
                                         "saved.")
    else:
        return None
    error.partial = document
    return error


def _failure_error(failed: list[ItemOutcome], summary: str, results: str) -> errors.MediagenError:
    first = failed[0].error or {}
    classes = {"rate_limited": errors.RateLimited, "api_rejected": errors.ClientError, "auth": errors.AuthError,
               "not_found": errors.NotFoundError, "server_error": errors.ServerError, "network": errors.NetworkError,
               "timeout": errors.RequestTimeout, "invalid_request": errors.ValidationError,
               "usage": errors.UsageError, "credentials": errors.CredentialsError, "config": errors.ConfigError}
    cls = classes.get(str(first.get("type")), errors.GenerationFailed)
    message = f"{len(failed)} item(s) failed ({summary}); first, line {failed[0].item.line}: {first.get('message')}"
    hint = (f"Finished items are kept in {results}: rerun with --retry-failed to send only the failed ones "
            f"(items that may have been billed are not re-sent). {first.get('hint') or ''}").strip()
    if issubclass(cls, errors.ApiError):
        return cls(message, hint, status=first.get("status"))
    return cls(message, hint)
