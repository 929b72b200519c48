"""Turn an HTTP error response into one of mediagen's exceptions.

Google answers errors in several shapes, all handled here in one place:
the classic envelope ``{"error": {"code": 400, "status": ..., "message": ...}}``
(sometimes wrapped in a list), the Interactions API's string codes
``{"error": {"code": "invalid_request", ...}}``, CLIProxyAPI's bare string
``{"error": "Invalid API key"}``, the OAuth token endpoint's
``{"error": "invalid_grant", "error_description": ...}``, and non-JSON bodies
from gateways.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from mediagen.core import errors
from mediagen.core.redaction import redact, redact_text
from mediagen.core.resources import script_command

RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
QUOTA_FAILURE_TYPE = "type.googleapis.com/google.rpc.QuotaFailure"


@dataclass
class ErrorBody:
    """The parts of an error body mediagen acts on."""

    message: str
    code: str | None = None          # status string such as RESOURCE_EXHAUSTED, or a string code
    details: list[Any] = field(default_factory=list)
    retry_delay_s: float | None = None
    quota_ids: list[str] = field(default_factory=list)

    @property
    def per_day_quota(self) -> bool:
        """True when a quota that resets daily was exhausted: short retries cannot help."""
        return any("perday" in q.lower() for q in self.quota_ids)


def parse_error_body(raw: bytes, content_type: str = "") -> ErrorBody:
    """Parse any of the error shapes above; never raises."""
    text = raw.decode("utf-8", "replace") if raw else ""
    try:
        doc = json.loads(text) if text.strip() else None
    except ValueError:
        doc = None
    if isinstance(doc, list) and doc:
        doc = doc[0]
    if not isinstance(doc, dict) or "error" not in doc:
        return ErrorBody(message=_plain_text(text) or "empty error body")
    err = doc["error"]
    if isinstance(err, str):
        return ErrorBody(message=doc.get("error_description") or err, code=err)
    if not isinstance(err, dict):
        return ErrorBody(message=str(err))
    details = err.get("details") if isinstance(err.get("details"), list) else []
    code = err.get("status") or (err.get("code") if isinstance(err.get("code"), str) else None)
    return ErrorBody(message=str(err.get("message") or code or "error"), code=code, details=details,
                     retry_delay_s=_retry_delay(details), quota_ids=_quota_ids(details))


def parse_duration(value: Any) -> float | None:
    """Parse a protobuf Duration string such as ``"34s"`` or ``"0.5s"``."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)s?\s*", value)
        if match:
            return float(match.group(1))
    return None


def _retry_delay(details: list[Any]) -> float | None:
    for item in details:
        if isinstance(item, dict) and item.get("@type") == RETRY_INFO_TYPE:
            return parse_duration(item.get("retryDelay"))
    return None


def _quota_ids(details: list[Any]) -> list[str]:
    ids: list[str] = []
    for item in details:
        if isinstance(item, dict) and item.get("@type") == QUOTA_FAILURE_TYPE:
            for violation in item.get("violations") or []:
                if isinstance(violation, dict) and violation.get("quotaId"):
                    ids.append(str(violation["quotaId"]))
    return ids


def _plain_text(text: str) -> str:
    """A short, tag-free excerpt of a non-JSON body (e.g. a gateway's HTML page)."""
    stripped = re.sub(r"<[^>]+>", " ", text)
    return " ".join(stripped.split())[:300]


KEY_SOURCES = ("A Gemini API key (AIza...) comes from https://aistudio.google.com/apikey; a Vertex express key (AQ...) "
               "from the Google Cloud console (APIs & Services > Credentials), with the Vertex AI API enabled; "
               "CLIProxyAPI takes one of its own api-keys (CLIPROXY_API_KEY).")


def _hints() -> dict[int, str]:
    check = script_command("check_api.py")
    jobs = script_command("jobs.py", "list")
    return {
        400: "The API rejected a field or value; see details. Run the same command with --dry-run to inspect the "
             "request.",
        401: f"The credential was refused. {KEY_SOURCES} Then run {check} to see which credential is used and why.",
        403: ("The credential lacks access: the API may be disabled, billing may be off, or the key is restricted "
              f"(AQ. keys only work on Vertex; a service account needs roles/aiplatform.user). {KEY_SOURCES} Then run "
              f"{check}."),
        404: ("Not found: the model may be retired or not served to this credential, or the file expired. "
              f"Run {check} to list the models this credential can see."),
        429: ("Rate limit or quota exhausted. Wait and retry later, lower --count, or use a project with higher "
              "quota (https://ai.dev/rate-limit)."),
        500: ("Google's service failed. A create call is never retried after a 500/504 because it may still be "
              f"billed; check {jobs} before trying again."),
    }


_HINTS = _hints()


def error_for_status(status: int, body: ErrorBody, *, method: str | None = None,
                     url: str | None = None) -> errors.ApiError:
    """The exception for an HTTP status and parsed body, with a hint that names the fix."""
    cls = _class_for(status)
    hint = _HINTS.get(status) or _HINTS.get(500 if status >= 500 else 400, "")
    if status == 400 and _invalid_key(body):
        cls, hint = errors.AuthError, _HINTS[401]   # Google answers a bad API key with 400, not 401
    if body.per_day_quota:
        hint = ("A per-day quota is exhausted; it resets at midnight Pacific time. Retrying now will not help: "
                "use another project/key or wait.")
    message = f"{status} {body.code + ': ' if body.code else ''}{body.message}"
    details = redact({"server_details": body.details}) if body.details else None
    return cls(redact_text(message), hint, status=status, code=body.code, details=details,
               method=method, url=redact_text(url) if url else None)


def _invalid_key(body: ErrorBody) -> bool:
    reasons = {d.get("reason") for d in body.details if isinstance(d, dict)}
    return "API_KEY_INVALID" in reasons or "api key not valid" in body.message.lower()


def _class_for(status: int) -> type[errors.ApiError]:
    if status in (401, 403):
        return errors.AuthError
    if status == 404:
        return errors.NotFoundError
    if status == 429:
        return errors.RateLimited
    if status in (408, 504):
        return errors.RequestTimeout
    if status >= 500:
        return errors.ServerError
    return errors.ClientError
