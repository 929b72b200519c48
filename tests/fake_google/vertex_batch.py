"""Vertex batch prediction (``batchPredictionJobs``) for Gemini image models (google-media-apis.md §9.2).

``POST /v1/projects/P/locations/L/batchPredictionJobs`` takes a job whose input is one JSONL file in the
fake GCS (lines ``{"request": GenerateContentRequest}``) and whose output is a ``gs://`` prefix; ``GET`` on
the job walks ``JOB_STATE_PENDING`` -> ``RUNNING`` -> ``SUCCEEDED`` over
``config.vertex_batch_polls_until_done`` polls, and on success writes ``predictions*.jsonl`` (lines
``{"request", "response"}``, or ``{"request", "status": "<error>"}`` for a request that fails) into
``<prefix>/prediction-model-<time>/``, named in ``outputInfo.gcsOutputDirectory``. Listing filters by
``display_name="X"``; ``:cancel`` moves the job to CANCELLING, then CANCELLED.

Strict like the rest of the fake: unknown fields, a model without documented batch support, a ``global``
location (batch jobs are regional), a missing input object or a non-gs:// output are all refused. Knobs:
``vertex_batch_polls_until_done``, ``vertex_batch_outcome`` (``ok`` | ``failed`` | ``partial``: the last
request fails), ``vertex_batch_output_files`` (how many ``predictions_*.jsonl`` the lines are split into),
``vertex_batch_create_delay_s`` (the job is recorded, then the answer waits) and
``vertex_batch_drop_create_reply`` (that many creates are recorded, then the connection is dropped with no
answer: the client cannot know the job exists).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from . import gcs, generate
from .common import ApiError, Request, Response, bad_request, google_error, json_response, not_found, \
    now_rfc3339, page

# Gemini image models whose Vertex model cards document batch prediction.
BATCH_MODELS = ("gemini-2.5-flash-image", "gemini-3-pro-image", "gemini-3.1-flash-image")
JOB_FIELDS = {"displayName", "model", "inputConfig", "outputConfig", "labels", "modelParameters",
              "encryptionSpec", "serviceAccount"}
TERMINAL = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED",
            "JOB_STATE_PARTIALLY_SUCCEEDED"}
OUTCOMES = ("ok", "failed", "partial")


def _check_fields(obj: Any, allowed: set[str], at: str) -> dict:
    if not isinstance(obj, dict):
        raise bad_request(f"Invalid value at '{at}', expected an object", at)
    for key in obj:
        if key not in allowed:
            raise bad_request(f'Invalid JSON payload received. Unknown name "{key}" at \'{at}\': Cannot find field.',
                              at)
    return obj


def _validated(fake, body: Any, location: str) -> dict:
    """The create body's parts the fake needs, or a 400 like Vertex's."""
    job = _check_fields(body, JOB_FIELDS, "batch_prediction_job")
    if not isinstance(job.get("displayName"), str) or not job["displayName"]:
        raise bad_request("* BatchPredictionJob.display_name: display_name is required", "display_name")
    m = re.fullmatch(r"publishers/google/models/([^/:]+)", str(job.get("model") or ""))
    if not m:
        raise bad_request(f"Invalid model {job.get('model')!r}: use publishers/google/models/MODEL.", "model")
    if m.group(1) not in BATCH_MODELS:
        raise ApiError(google_error(400, f"Model publishers/google/models/{m.group(1)} does not support batch "
                                         "prediction.", status="FAILED_PRECONDITION"))
    if location == "global":
        raise bad_request("Batch prediction jobs are regional; location global is not supported.", "parent")
    inp = _check_fields(job.get("inputConfig"), {"instancesFormat", "gcsSource", "bigquerySource"}, "input_config")
    if inp.get("instancesFormat") != "jsonl":
        raise bad_request("input_config.instances_format must be jsonl for a Cloud Storage source.",
                          "input_config.instances_format")
    uris = _check_fields(inp.get("gcsSource"), {"uris"}, "input_config.gcs_source").get("uris")
    if not isinstance(uris, list) or len(uris) != 1 or not str(uris[0]).startswith("gs://"):
        raise bad_request("Gemini batch prediction takes exactly one gs:// JSONL file.", "input_config.gcs_source.uris")
    data = gcs.get_gs_uri(fake, uris[0])
    if data is None:
        raise bad_request(f"The input file {uris[0]} does not exist or cannot be read.", "input_config.gcs_source")
    out = _check_fields(job.get("outputConfig"), {"predictionsFormat", "gcsDestination", "bigqueryDestination"},
                        "output_config")
    prefix = _check_fields(out.get("gcsDestination"), {"outputUriPrefix"}, "output_config.gcs_destination")
    if out.get("predictionsFormat") != "jsonl" or not str(prefix.get("outputUriPrefix") or "").startswith("gs://"):
        raise bad_request("output_config needs predictions_format jsonl and a gs:// output_uri_prefix.",
                          "output_config")
    return {"display": job["displayName"], "model": m.group(1), "input": data,
            "prefix": str(prefix["outputUriPrefix"]).rstrip("/")}


def create(fake, req: Request, project: str, location: str) -> Response:
    spec = _validated(fake, req.json(), location)
    with fake._lock:
        fake.state.vertex_batch_seq += 1
        jid = str(4_000_000_000_000_000_000 + fake.state.vertex_batch_seq)
        rec = {"id": jid, "name": f"projects/{project}/locations/{location}/batchPredictionJobs/{jid}",
               "state": "JOB_STATE_PENDING", "polls": 0, "created": now_rfc3339(), "updated": now_rfc3339(),
               "output_dir": None, "stats": None, "error": None, **spec}
        fake.state.vertex_batches[jid] = rec
        drop = fake.config.vertex_batch_drop_create_reply > 0
        if drop:
            fake.config.vertex_batch_drop_create_reply -= 1
    if fake.config.vertex_batch_create_delay_s:
        time.sleep(fake.config.vertex_batch_create_delay_s)
    if drop:
        return Response(abort=True)       # recorded, but the client never hears of it
    return json_response(_resource(rec))


def _resource(rec: dict) -> dict:
    out: dict[str, Any] = {
        "name": rec["name"], "displayName": rec["display"], "model": f"publishers/google/models/{rec['model']}",
        "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": ["(input)"]}},
        "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": rec["prefix"]}},
        "state": rec["state"], "createTime": rec["created"], "updateTime": rec["updated"]}
    if rec["state"] != "JOB_STATE_PENDING":
        out["startTime"] = rec["created"]
    if rec["output_dir"]:
        out["outputInfo"] = {"gcsOutputDirectory": rec["output_dir"]}
    if rec["stats"]:
        out["completionStats"] = rec["stats"]
    if rec["error"]:
        out["error"] = rec["error"]
    if rec["state"] in TERMINAL:
        out["endTime"] = rec["updated"]
    return out


def _job(fake, jid: str) -> dict:
    with fake._lock:
        rec = fake.state.vertex_batches.get(jid)
    if rec is None:
        raise not_found(f"The BatchPredictionJob {jid} does not exist.")
    return rec


def get(fake, jid: str) -> Response:
    rec = _job(fake, jid)
    _advance(fake, rec)
    return json_response(_resource(rec))


def _advance(fake, rec: dict) -> None:
    with fake._lock:
        if rec["state"] in TERMINAL:
            return
        if rec["state"] == "JOB_STATE_CANCELLING":
            rec["state"], rec["updated"] = "JOB_STATE_CANCELLED", now_rfc3339()
            return
        rec["polls"] += 1
        finished = rec["polls"] > fake.config.vertex_batch_polls_until_done
        if not finished:
            rec["state"] = "JOB_STATE_RUNNING" if rec["polls"] >= 2 else rec["state"]
            return
    _run(fake, rec)


def _run(fake, rec: dict) -> None:
    """Answer every line and write the predictions files (or fail the whole job)."""
    outcome = fake.config.vertex_batch_outcome
    if outcome not in OUTCOMES:
        raise ValueError(f"config.vertex_batch_outcome must be one of {OUTCOMES}, not {outcome!r}")
    if outcome == "failed":
        with fake._lock:
            rec.update(state="JOB_STATE_FAILED", updated=now_rfc3339(),
                       error={"code": 13, "message": "Batch prediction job failed: an internal error occurred."})
        return
    lines = [_answer(fake, rec, n, line) for n, line in enumerate(rec["input"].decode("utf-8").splitlines())
             if line.strip()]
    if outcome == "partial" and lines:
        lines[-1] = {"request": lines[-1]["request"], "status": "Internal error while processing this request."}
    folder = f"{rec['prefix']}/prediction-model-{time.strftime('%Y-%m-%dT%H:%M:%S')}.{rec['id'][-6:]}Z"
    _write_predictions(fake, folder, lines)
    ok = sum(1 for line in lines if "response" in line)
    with fake._lock:
        rec.update(state="JOB_STATE_SUCCEEDED" if ok == len(lines) else "JOB_STATE_PARTIALLY_SUCCEEDED",
                   output_dir=folder, updated=now_rfc3339(),
                   stats={"successfulCount": str(ok), "failedCount": str(len(lines) - ok), "incompleteCount": "0"})


def _answer(fake, rec: dict, number: int, line: str) -> dict:
    try:
        doc = json.loads(line)
    except json.JSONDecodeError:
        return {"request": {}, "status": f"Line {number + 1} of the input file is not valid JSON."}
    request = doc.get("request") if isinstance(doc, dict) else None
    if not isinstance(request, dict) or set(doc) - {"request"}:
        return {"request": request or {}, "status": "Each line must be {\"request\": GenerateContentRequest}."}
    vertex = fake._services["vertex"]
    try:
        g = generate.validate(request, rec["model"], "vertex", file_lookup=vertex.gcs_lookup)
        return {"request": request, "response": generate.build_response(fake, g, rec["model"], "vertex")}
    except ApiError as exc:
        message = json.loads(exc.response.body).get("error", {}).get("message", "invalid request")
        return {"request": request, "status": message}


def _write_predictions(fake, folder: str, lines: list[dict]) -> None:
    files = max(1, min(fake.config.vertex_batch_output_files, len(lines) or 1))
    for number in range(files):
        chunk = lines[number::files]
        name = "predictions.jsonl" if files == 1 else f"predictions_{number + 1:05d}.jsonl"
        data = "".join(json.dumps(line) + "\n" for line in chunk).encode("utf-8")
        gcs.put_gs_uri(fake, f"{folder}/{name}", data, "application/jsonl")


def list_(fake, req: Request, project: str, location: str) -> Response:
    wanted = None
    text = req.q("filter")
    if text:
        m = re.fullmatch(r'\s*display_name\s*=\s*"([^"]*)"\s*', text)
        if not m:
            raise bad_request(f"Unsupported filter: {text}", "filter")
        wanted = m.group(1)
    with fake._lock:
        recs = [r for r in fake.state.vertex_batches.values()
                if r["name"].startswith(f"projects/{project}/locations/{location}/")
                and (wanted is None or r["display"] == wanted)]
    items, nxt = page([_resource(r) for r in recs], req, default_size=100)
    out: dict[str, Any] = {"batchPredictionJobs": items} if items else {}
    if nxt:
        out["nextPageToken"] = nxt
    return json_response(out)


def cancel(fake, jid: str) -> Response:
    rec = _job(fake, jid)
    with fake._lock:
        if rec["state"] not in TERMINAL:
            rec["state"], rec["updated"] = "JOB_STATE_CANCELLING", now_rfc3339()
    return json_response({})
