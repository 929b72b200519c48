"""Vertex batch prediction (``batchPredictionJobs``) for Gemini image models: bodies, JSONL lines and answers.

Create (google-media-apis.md §9.2): ``POST .../projects/P/locations/L/batchPredictionJobs`` with
``{"displayName", "model": "publishers/google/models/M", "inputConfig": {"instancesFormat": "jsonl",
"gcsSource": {"uris": [gs://...jsonl]}}, "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination":
{"outputUriPrefix": gs://...}}}``. The answer (and every ``GET`` of the job) is the job resource: ``name``,
``state`` (``JOB_STATE_*``), ``error``, ``completionStats``, and once it writes results
``outputInfo.gcsOutputDirectory``, a folder under the prefix holding ``predictions*.jsonl`` files.

Input lines are ``{"request": GenerateContentRequest}``, the shape Google documents for Gemini batch
prediction. Each request carries its key in ``labels`` (``mediagen_key``: a documented field of Vertex's
GenerateContentRequest, echoed with the request on its output line): output lines come in no promised order
and are ``{"request", "response"}`` or, for a failed request, ``{"request", "status": "<error>"}``
(decision 0007). Cancel: ``POST .../batchPredictionJobs/ID:cancel``. Jobs are found again after a lost
answer by their display name (the mediagen job id), ``GET ...?filter=display_name="ID"``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any, Mapping

from mediagen.transport import bodies
from mediagen.transport.http import HttpRequest
from mediagen.wire import endpoints, replies
from mediagen.wire.batch import BatchResult, normalize_state

KEY_LABEL = "mediagen_key"
# Terminal states (without the JOB_STATE_ prefix); PARTIALLY_SUCCEEDED wrote results for some requests.
DONE = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED", "PARTIALLY_SUCCEEDED"})
WITH_RESULTS = frozenset({"SUCCEEDED", "PARTIALLY_SUCCEEDED"})
JOB = replies.Shape("batchPredictionJob", {
    "name": str, "displayName": str, "state": str, "error": {"message": str},
    "outputInfo": {"gcsOutputDirectory": str}, "completionStats": dict}, needs=("name", "state"))


@dataclass
class JobState:
    """A polled job, normalized: ``state`` without its prefix (``RUNNING``, ``SUCCEEDED``...)."""

    name: str | None
    state: str
    output_dir: str | None = None
    error: dict[str, Any] | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Whether the job has ended (successfully or not)."""
        return self.state in DONE

    @property
    def requests_done(self) -> int:
        """Requests finished so far, successful or failed."""
        return int(self.stats.get("successfulCount") or 0) + int(self.stats.get("failedCount") or 0)


def jobs_resource(project: str, location: str) -> str:
    """``projects/P/locations/L/batchPredictionJobs``."""
    return f"projects/{project}/locations/{location}/batchPredictionJobs"


def jobs_url(project: str, location: str, override: str | None = None) -> str:
    """The collection URL, on the host of ``location`` (create and list)."""
    return endpoints.vertex_resource_url(jobs_resource(project, location), express=False, override=override)


def job_url(name: str, method: str | None = None, override: str | None = None) -> str:
    """The URL of one job (``GET``), or of one of its methods (``cancel``), on its location's host."""
    return endpoints.vertex_resource_url(name, method, express=False, override=override)


def create_body(display_name: str, model: str, input_uri: str, output_prefix: str) -> dict[str, Any]:
    """The body of the one (billable) create call."""
    return {"displayName": display_name, "model": f"publishers/google/models/{model}",
            "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": [input_uri]}},
            "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": output_prefix}}}


def write_line(out: IO[bytes], key: str, request: dict[str, Any]) -> None:
    """One input line: the request with its key in ``labels`` (large inputs' base64 written in chunks)."""
    labels = {**(request.get("labels") or {}), KEY_LABEL: key}
    bodies.write_json({"request": {**request, "labels": labels}}, out)
    out.write(b"\n")


def label_key(index: int) -> str:
    """A label value for the request at ``index`` (label values allow only lower-case letters, digits, - and _)."""
    return f"r{index}"


def parse_job(doc: Mapping[str, Any]) -> JobState:
    """Read a create or poll answer."""
    output = doc.get("outputInfo") if isinstance(doc.get("outputInfo"), dict) else {}
    error = doc.get("error") if isinstance(doc.get("error"), dict) and doc.get("error") else None
    return JobState(name=doc.get("name"), state=normalize_state(doc.get("state")),
                    output_dir=output.get("gcsOutputDirectory"), error=error,
                    stats=doc.get("completionStats") if isinstance(doc.get("completionStats"), dict) else {})


def result_of(line: Mapping[str, Any]) -> BatchResult:
    """One output line as a ``BatchResult`` whose key is the label value (``r<index>``)."""
    request = line.get("request") if isinstance(line.get("request"), dict) else {}
    labels = request.get("labels") if isinstance(request.get("labels"), dict) else {}
    key = labels.get(KEY_LABEL)
    response = line.get("response") if isinstance(line.get("response"), dict) else None
    status = line.get("status")
    error = None
    if status or response is None:
        error = {"message": str(status or "the batch returned no response for this request")}
        response = None if status else response
    return BatchResult(str(key) if key is not None else None, response, error)


def is_predictions_file(uri: str) -> bool:
    """Whether an object of the output folder holds results (``predictions.jsonl``, ``predictions_00001.jsonl``)."""
    name = uri.rsplit("/", 1)[-1]
    return name.startswith("predictions") and name.endswith(".jsonl")


def list_params(display_name: str, page_token: str | None = None) -> dict[str, str]:
    """Query parameters of ``GET batchPredictionJobs`` that find the job named ``display_name``."""
    params = {"filter": f'display_name="{display_name}"', "pageSize": "100"}
    if page_token:
        params["pageToken"] = page_token
    return params


def named_job(listing: Mapping[str, Any], display_name: str) -> str | None:
    """The name of the listed job whose display name is ``display_name``."""
    for job in listing.get("batchPredictionJobs") or []:
        if isinstance(job, dict) and job.get("displayName") == display_name and job.get("name"):
            return str(job["name"])
    return None


def create_request(url: str, body: dict[str, Any], model: str) -> HttpRequest:
    """The one billable create call (never resent)."""
    return HttpRequest("POST", url, headers={"Content-Type": "application/json"}, json=body, billable=True,
                       label=f"{model}:batchPredictionJobs.create")
