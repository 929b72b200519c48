"""One exception hierarchy for mediagen, and the exit-code table it maps to.

Every failure a script can report is one of these classes. Each carries a
short machine-readable ``type``, a human ``message``, and a ``hint`` that names
the fix. Entry scripts turn them into the JSON error document and the exit
code; nothing inside the package prints or exits.
"""
from __future__ import annotations

import enum
from typing import Any


class ExitCode(enum.IntEnum):
    """The one exit-code table shared by every script (README's table is tested against it)."""

    OK = 0
    INTERNAL = 1          # a bug in mediagen
    USAGE = 2             # bad flags, or a request the catalog says cannot work
    CONFIG = 3            # configuration, credentials, catalog or preset files, missing local tools
    API_REJECTED = 4      # the API refused the request (4xx other than 429)
    API_FAILED = 5        # server errors, network failures, quota, unreadable replies; a local tool failing on a file
    TIMEOUT = 6           # an HTTP timeout
    BLOCKED = 7           # finished, but safety filters (or the model) gave no output
    STILL_RUNNING = 8     # a job is still running; resume it with jobs.py
    OVER_BUDGET = 9       # refused before sending: over the max cost, or not approved
    PAID_NOT_SAVED = 10   # Google answered (and billed) but the result could not be written where asked
    DRIFT = 11            # check_api.py --drift found the catalog out of step with what Google serves
    INTERRUPTED = 130     # Ctrl-C


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "ok",
    ExitCode.INTERNAL: "internal error (a bug: rerun with `--debug`)",
    ExitCode.USAGE: "usage, or a request the catalog says cannot work (the message names the fix)",
    ExitCode.CONFIG: "configuration, credentials, or a missing local tool (ffmpeg)",
    ExitCode.API_REJECTED: "the API rejected the request (4xx other than 429)",
    ExitCode.API_FAILED: "API/server failure after the allowed retries (5xx, 429, network, unreadable reply), or a "
                         "local tool (ffmpeg) failing on a file",
    ExitCode.TIMEOUT: "timeout",
    ExitCode.BLOCKED: "blocked by safety filters, or no output",
    ExitCode.STILL_RUNNING: "a job is still running (resume with `jobs.py wait JOB`)",
    ExitCode.OVER_BUDGET: "refused before sending: the estimate is over `--max-cost`, or approval is needed",
    ExitCode.PAID_NOT_SAVED: "paid but not saved: the result is in the rescue folder the error names",
    ExitCode.DRIFT: "`check_api.py --drift` found catalog drift",
    ExitCode.INTERRUPTED: "interrupted",
}


class MediagenError(Exception):
    """Base class: a failure with a type, a message and a hint naming the fix.

    Besides the message, an error may carry what the run achieved before it
    failed: ``partial`` (the result document so far: saved files, the budget),
    ``job_id`` (the recorded job that resumes the run) and ``rescued`` (paid
    bytes kept in the rescue folder because their destination failed).
    """

    type = "error"
    exit_code = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str = "", *, details: Any = None, status: int | None = None,
                 partial: dict[str, Any] | None = None, job_id: str | None = None,
                 rescued: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details
        self.status = status
        self.partial = partial
        self.job_id = job_id
        self.rescued = list(rescued or [])
        if job_id:
            self.for_job(job_id)

    def for_job(self, job_id: str) -> MediagenError:
        """Name the recorded job that resumes this run (also in ``details.job_id``); returns self."""
        self.job_id = job_id
        self.details = {**(self.details if isinstance(self.details, dict) else {}), "job_id": job_id}
        return self

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of the output contract."""
        doc: dict[str, Any] = {"type": self.type, "message": self.message, "hint": self.hint}
        if self.status is not None:
            doc["status"] = self.status
        if self.details is not None:
            doc["details"] = self.details
        if self.rescued:
            doc["rescued"] = list(self.rescued)
        return doc


class UsageError(MediagenError):
    """Bad command-line usage."""

    type = "usage"
    exit_code = ExitCode.USAGE


class ValidationError(UsageError):
    """The request cannot work for this model/backend; ``problems`` say what to change."""

    type = "invalid_request"

    def __init__(self, message: str, hint: str = "", *, problems: list | None = None,
                 details: Any = None) -> None:
        self.problems = list(problems or [])
        if details is None and self.problems:
            details = {"problems": [_problem_dict(p) for p in self.problems]}
        super().__init__(message, hint, details=details)


class ModelUnavailable(ValidationError):
    """The model is retired, or not served on the chosen backend."""

    type = "model_unavailable"


class BudgetExceeded(MediagenError):
    """The cost estimate is over the user's cap; nothing was sent."""

    type = "budget_exceeded"
    exit_code = ExitCode.OVER_BUDGET


class ApprovalRequired(BudgetExceeded):
    """A multi-item run (storyboard, batch) spends only with --approve or a covering --max-cost."""

    type = "approval_required"


class ConfigError(MediagenError):
    """A configuration file or setting is wrong or missing."""

    type = "config"
    exit_code = ExitCode.CONFIG


class CredentialsError(ConfigError):
    """No usable credential, or the credential was refused."""

    type = "credentials"


class CatalogError(ConfigError):
    """The model catalog file is invalid."""

    type = "catalog"


class PresetError(ConfigError):
    """A preset file is invalid, or a preset name is unknown."""

    type = "preset"


class ApiError(MediagenError):
    """An HTTP error from Google (or the proxy), parsed from its error envelope."""

    type = "api_error"
    exit_code = ExitCode.API_FAILED

    def __init__(self, message: str, hint: str = "", *, status: int | None = None,
                 code: str | None = None, details: Any = None, method: str | None = None,
                 url: str | None = None) -> None:
        super().__init__(message, hint, details=details, status=status)
        self.code = code
        self.method = method
        self.url = url

    def to_dict(self) -> dict[str, Any]:
        doc = super().to_dict()
        extra = {k: v for k, v in (("code", self.code), ("method", self.method), ("url", self.url)) if v}
        if extra:
            merged = dict(extra)
            if isinstance(self.details, dict):
                merged.update(self.details)
            elif self.details is not None:
                merged["server_details"] = self.details
            doc["details"] = merged
        return doc


class ClientError(ApiError):
    """The API rejected the request (4xx other than 429)."""

    type = "api_rejected"
    exit_code = ExitCode.API_REJECTED


class AuthError(ClientError):
    """401/403 (or a 400 "API key not valid"): the credential is invalid or lacks access.

    The cause is the credential, not the request: exit 3 from every script, as when none is found.
    """

    type = "credentials"
    exit_code = ExitCode.CONFIG


class NotFoundError(ClientError):
    """404: unknown model, operation or file (or one that expired)."""

    type = "not_found"


class RateLimited(ApiError):
    """429 that did not clear within the retry budget (or a per-day quota)."""

    type = "rate_limited"


class ServerError(ApiError):
    """5xx from the server, after the retries allowed for this request."""

    type = "server_error"


class NetworkError(ApiError):
    """The connection failed (refused, reset, DNS)."""

    type = "network"


class RequestTimeout(ApiError):
    """An HTTP timeout. Never retried for billable create calls."""

    type = "timeout"
    exit_code = ExitCode.TIMEOUT


class LocalToolFailed(MediagenError):
    """A local tool (ffmpeg, ffprobe) ran but failed on a file; a missing tool is a ``ConfigError``."""

    type = "local_tool_failed"
    exit_code = ExitCode.API_FAILED


class BadReply(ServerError):
    """A 2xx answer that is not what its API documents (an HTML page, broken JSON, a wrong shape).

    The request it answers may have been billed, so it is never resent.
    """

    type = "bad_reply"


class PaidNotSaved(MediagenError):
    """Google answered (and billed), but the result could not be written where it was asked to go.

    ``rescued`` names the copies kept in the rescue folder; when none could be
    written the message says the result is lost and names what identifies it.
    """

    type = "paid_not_saved"
    exit_code = ExitCode.PAID_NOT_SAVED

    def to_dict(self) -> dict[str, Any]:
        doc = super().to_dict()
        doc["rescued"] = list(self.rescued)         # present even when empty: nothing could be kept
        return doc


class GenerationBlocked(MediagenError):
    """The API answered, but returned no media (safety filters or no output)."""

    type = "blocked"
    exit_code = ExitCode.BLOCKED

    def __init__(self, message: str, hint: str = "", *, reason: str | None = None,
                 details: Any = None) -> None:
        super().__init__(message, hint, details=details)
        self.reason = reason

    def to_dict(self) -> dict[str, Any]:
        doc = super().to_dict()
        if self.reason:
            doc.setdefault("details", {})
            if isinstance(doc["details"], dict):
                doc["details"] = {"reason": self.reason, **doc["details"]}
        return doc


class GenerationFailed(MediagenError):
    """A long-running operation finished with an error."""

    type = "generation_failed"
    exit_code = ExitCode.API_FAILED


class ResultExpired(GenerationFailed):
    """A finished (and billed) job whose result Google deleted before it was downloaded."""

    type = "expired"


class StillRunning(MediagenError):
    """The wait ended before the job did; the job id resumes it."""

    type = "still_running"
    exit_code = ExitCode.STILL_RUNNING


class DriftFound(MediagenError):
    """``check_api.py --drift``: the catalog is out of step with what the credential can see."""

    type = "drift"
    exit_code = ExitCode.DRIFT


class Interrupted(MediagenError):
    """Ctrl-C."""

    type = "interrupted"
    exit_code = ExitCode.INTERRUPTED


class InternalError(MediagenError):
    """A bug in mediagen: an exception nothing else explains."""

    type = "internal"
    exit_code = ExitCode.INTERNAL

    @classmethod
    def wrapping(cls, exc: BaseException, hint: str) -> InternalError:
        """The internal error for an unexpected exception."""
        return cls(f"internal error: {exc!r}", hint)


def _problem_dict(problem: Any) -> Any:
    """A problem as JSON: dataclasses and objects with fields become dicts."""
    if isinstance(problem, dict):
        return problem
    fields = ("field", "message", "fix")
    if all(hasattr(problem, f) for f in fields):
        return {f: getattr(problem, f) for f in fields}
    return str(problem)


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code for any exception (unknown ones are internal errors)."""
    if isinstance(exc, MediagenError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.INTERNAL


def may_have_started(exc: MediagenError) -> bool:
    """Whether a failed create call may still have started (and will bill) the job.

    After a timeout, a dropped connection or a 5xx other than 503 Google may
    have acted on the request: the job is then recorded ``unknown`` and never resent.
    """
    if isinstance(exc, NetworkError) and isinstance(exc.details, dict) and exc.details.get("connected") is False:
        return False            # the connection was never established: the server saw nothing
    return isinstance(exc, (RequestTimeout, NetworkError)) or (isinstance(exc, ServerError) and exc.status != 503)
