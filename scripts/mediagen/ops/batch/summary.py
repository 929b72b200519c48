"""A batch run's outcome: each item's state, the counts, the cost, and the error the run ends with."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediagen.core import errors
from mediagen.core.resources import script_command
from mediagen.ops.batch.planning import BatchItem, possibly_billed

# States counted only when they occur (they need the user's decision): possibly billed, paid but not saved.
EXTRA_STATES = ("unknown", "paid_not_saved")


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
    state = "unknown" if possibly_billed(entry) else str(entry.get("state"))
    return ItemOutcome(item, state, [str(f) for f in entry.get("files") or []],
                       entry.get("cost_usd"), job_id=entry.get("job_id"), error=entry.get("error"), previous=True)


def item_state(error: dict[str, Any]) -> str:
    """The results-file state of an item that failed with ``error``.

    ``unknown`` when Google may have billed a create whose result never arrived (a timeout, a dropped
    connection, a 5xx other than 503, a broken reply): it is never resent on its own.
    """
    kind = error.get("type")
    if kind == "paid_not_saved":
        return "paid_not_saved"
    if (error.get("details") or {}).get("connected") is False:
        return "failed"                     # never reached the server: nothing can have been billed
    if kind in ("timeout", "network", "bad_reply") or (kind == "server_error" and error.get("status") != 503):
        return "unknown"
    return "failed"


# -- the summary ---------------------------------------------------------------------------------

def counts(outcomes: list[ItemOutcome]) -> dict[str, int]:
    """How many items ended in each state this run (``skipped_done``: finished by an earlier run).

    ``unknown`` and ``paid_not_saved`` appear when items are in that state, from this run or an earlier one.
    """
    tally = {"succeeded": 0, "failed": 0, "blocked": 0, "skipped_done": 0, "running": 0, "not_sent": 0}
    for outcome in outcomes:
        if outcome.state in EXTRA_STATES:       # also counted when an earlier run left them so: they need a decision
            tally[outcome.state] = tally.get(outcome.state, 0) + 1
        if outcome.previous:
            tally["skipped_done"] += 1
        elif outcome.state not in EXTRA_STATES:
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
    failed = [o for o in outcomes if o.state in ("failed", "not_sent", *EXTRA_STATES)]
    running = [o for o in outcomes if o.state == "running"]
    blocked = [o for o in outcomes if o.state == "blocked"]
    tally = document["counts"]
    summary = (f"this run: {tally['succeeded']} succeeded, {tally['failed'] + tally['not_sent']} failed or not "
               f"sent, {tally['blocked']} blocked, {tally['running']} still running, {tally['skipped_done']} done "
               "before" + "".join(f", {tally[s]} {s.replace('_', ' ')}" for s in EXTRA_STATES if tally.get(s)))
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
    unknown = [o for o in failed if o.state == "unknown"]
    first = failed[0].error or {}
    classes = {"paid_not_saved": errors.PaidNotSaved, "bad_reply": errors.BadReply,
               "rate_limited": errors.RateLimited, "api_rejected": errors.ClientError, "auth": errors.AuthError,
               "not_found": errors.NotFoundError, "server_error": errors.ServerError, "network": errors.NetworkError,
               "timeout": errors.RequestTimeout, "invalid_request": errors.ValidationError,
               "usage": errors.UsageError, "credentials": errors.CredentialsError, "config": errors.ConfigError}
    cls = classes.get(str(first.get("type")), errors.GenerationFailed)
    message = f"{len(failed)} item(s) failed ({summary}); first, line {failed[0].item.line}: {first.get('message')}"
    hint = (f"Finished items are kept in {results}: rerun with --retry-failed to send only the failed ones "
            f"(items that may have been billed are not re-sent). {first.get('hint') or ''}").strip()
    if unknown:
        lines = ", ".join(str(o.item.line) for o in unknown[:10])
        hint = (f"{len(unknown)} item(s) (line(s) {lines}) may have been billed without a result (state unknown): "
                "they are never sent again on their own. Check your usage (AI Studio or the Cloud console); to send "
                "them again anyway, rerun with --retry-unknown --approve (each may then be billed twice). " + hint)
    if issubclass(cls, errors.ApiError):
        return cls(message, hint, status=first.get("status"))
    error = cls(message, hint)
    if isinstance(first.get("details"), dict):
        error.details = first["details"]            # e.g. the job that resumes it
    error.rescued = list(first.get("rescued") or [])
    return error
