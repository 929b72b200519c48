"""The Gemini Batch API (``models/{m}:batchGenerateContent`` and ``batches/{id}``): bodies and answers.

Create: ``{"batch": {"displayName", "inputConfig": {"requests": {"requests": [
{"request": GenerateContentRequest, "metadata": {"key": K}}]}}}}`` for inline
requests, or ``"inputConfig": {"fileName": "files/ID"}`` for a JSONL file whose
lines are ``{"key": K, "request": GenerateContentRequest}``.

Poll: ``GET batches/{id}`` answers an Operation-like object whose
``metadata.state`` is ``BATCH_STATE_*`` (SDK samples show ``JOB_STATE_*``;
both are read). When done, ``metadata.output`` (or ``response``) holds either
``inlinedResponses.inlinedResponses[]`` (``{"response"|"error", "metadata"}``)
or ``responsesFile`` (``files/ID``, JSONL lines ``{"key", "response"|"error"}``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any, Iterator

from mediagen.transport import bodies

STATE_PREFIXES = ("BATCH_STATE_", "JOB_STATE_")
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED", "PARTIALLY_SUCCEEDED"})


@dataclass
class BatchResult:
    """One answer of a batch: the request key, and a response or an error."""

    key: str | None
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass
class BatchState:
    """A polled batch, normalized: ``state`` without its prefix (``RUNNING``, ``SUCCEEDED``...)."""

    name: str | None
    state: str
    done: bool
    stats: dict[str, Any] = field(default_factory=dict)
    inline: list[dict[str, Any]] | None = None
    responses_file: str | None = None
    error: dict[str, Any] | None = None

    @property
    def requests_total(self) -> int | None:
        """How many requests the batch holds (``batchStats.requestCount``), when reported."""
        total = self.stats.get("requestCount")
        return int(total) if total else None

    @property
    def requests_done(self) -> int:
        """Requests finished so far, successful or failed."""
        stats = self.stats
        return int(stats.get("successfulRequestCount") or 0) + int(stats.get("failedRequestCount") or 0)


def normalize_state(value: Any) -> str:
    """``BATCH_STATE_RUNNING`` / ``JOB_STATE_RUNNING`` -> ``RUNNING`` (unknown values pass through)."""
    text = str(value or "STATE_UNSPECIFIED").upper()
    for prefix in STATE_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def inline_body(display_name: str, entries: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The create body with every request inline, each tagged with its key in ``metadata``."""
    requests = [{"request": request, "metadata": {"key": key}} for key, request in entries]
    return {"batch": {"displayName": display_name, "inputConfig": {"requests": {"requests": requests}}}}


def file_body(display_name: str, file_name: str) -> dict[str, Any]:
    """The create body for a JSONL file uploaded through the Files API (``files/ID``)."""
    return {"batch": {"displayName": display_name, "inputConfig": {"fileName": file_name}}}


def write_jsonl_line(out: IO[bytes], key: str, request: dict[str, Any]) -> None:
    """Write one line of the JSONL input file (large inputs' base64 written in chunks, see ``transport.bodies``)."""
    bodies.write_json({"key": key, "request": request}, out)
    out.write(b"\n")


def inline_size(entries: list[tuple[str, dict[str, Any]]]) -> int:
    """Bytes of the inline create body, to decide between inline requests and a file."""
    return bodies.json_size(inline_body("x" * 40, entries))


def parse_batch(doc: dict[str, Any]) -> BatchState:
    """Read a create or poll answer (the Operation form, or a bare batch resource)."""
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    state = normalize_state(meta.get("state") or doc.get("state"))
    done = bool(doc.get("done")) or state in TERMINAL
    output = _output(doc, meta)
    inline = None
    wrapper = output.get("inlinedResponses") or output.get("inlined_responses")
    if isinstance(wrapper, dict):
        inline = wrapper.get("inlinedResponses") or wrapper.get("inlined_responses") or []
    elif isinstance(wrapper, list):
        inline = wrapper
    responses_file = output.get("responsesFile") or output.get("responses_file")
    return BatchState(name=doc.get("name") or meta.get("name"), state=state, done=done,
                      stats=meta.get("batchStats") or doc.get("batchStats") or {}, inline=inline,
                      responses_file=responses_file, error=doc.get("error") or meta.get("error"))


def _output(doc: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    for candidate in (meta.get("output"), doc.get("response"), doc.get("output"), doc.get("dest")):
        if isinstance(candidate, dict) and candidate:
            return candidate
    return {}


def inline_results(entries: list[dict[str, Any]]) -> Iterator[BatchResult]:
    """Each inlined response with its key (``None`` when the service dropped the metadata)."""
    for entry in entries:
        yield result_of(entry)


def result_of(entry: dict[str, Any]) -> BatchResult:
    """One inlined response or one responses-file line as a ``BatchResult``."""
    key = entry.get("key")
    metadata = entry.get("metadata")
    if key is None and isinstance(metadata, dict):
        key = metadata.get("key")
    response = entry.get("response")
    error = entry.get("error") if isinstance(entry.get("error"), dict) else None
    if error is None and not isinstance(response, dict):
        error = {"message": "the batch returned no response for this request"}
    return BatchResult(str(key) if key is not None else None, response if isinstance(response, dict) else None,
                       error)


def list_params(page_size: int = 100, page_token: str | None = None) -> dict[str, str]:
    """Query parameters of ``GET batches`` (one page; ``page_token`` continues a listing)."""
    params = {"pageSize": str(page_size)}
    if page_token:
        params["pageToken"] = page_token
    return params


def named_batch(listing: dict[str, Any], display_name: str) -> str | None:
    """The name (``batches/ID``) of the listed batch whose display name is ``display_name``."""
    for operation in listing.get("operations") or listing.get("batches") or []:
        meta = operation.get("metadata") or operation
        if meta.get("displayName") == display_name and operation.get("name"):
            return str(operation["name"])
    return None


def cancel_path(name: str) -> str:
    """``batches/ID`` -> ``batches/ID:cancel`` (POSTed with ``cancel_body()``)."""
    return f"{name}:cancel"


def cancel_body() -> dict[str, Any]:
    """The (empty) body of a batch cancel request."""
    return {}


def batch_id(name: str) -> str:
    """``batches/abc`` -> ``abc``."""
    return name.rsplit("/", 1)[-1]
