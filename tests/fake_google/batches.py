"""Gemini Batch API (google-media-apis.md §9.1).

``POST models/{m}:batchGenerateContent`` with inline requests or an uploaded
JSONL file; ``GET batches/{id}`` walks PENDING -> RUNNING -> SUCCEEDED over
``config.batch_polls_until_done`` polls. Every request is answered with the
same generateContent logic; a request that fails validation gets an
``error`` entry instead of a ``response``.
"""

from __future__ import annotations

import json
from typing import Any

from . import generate
from .common import ApiError, Request, Response, bad_request, camelize, google_error, json_response, not_found, \
    now_rfc3339, page, rand_id

BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
TERMINAL = {"BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"}


def _answer(fake, svc, model: str, request: Any) -> dict:
    try:
        g = generate.validate(request, model, "gemini", file_lookup=svc.file_lookup)
        return {"response": generate.build_response(fake, g, model, "gemini")}
    except ApiError as exc:
        try:
            err = json.loads(exc.response.body)["error"]
            return {"error": {"code": 3 if err.get("code") == 400 else 13, "message": err.get("message")}}
        except Exception:
            return {"error": {"code": 13, "message": "internal error"}}


def create(fake, svc, req: Request, v: str, model: str, body: Any) -> Response:
    if not isinstance(body, dict) or not isinstance(body.get("batch"), dict):
        raise bad_request("* BatchGenerateContentRequest.batch: batch is required\n", "batch")
    for key in body:
        if key != "batch":
            raise bad_request(f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.')
    # `request` payloads are typed messages too, but camelize() renames keys
    # inside them; only the envelope is normalised here, each request is
    # validated on its own below.
    batch = {k: v2 for k, v2 in body["batch"].items()}
    norm = camelize({k: v2 for k, v2 in batch.items() if k not in ("input_config", "inputConfig")})
    for key in norm:
        if key not in ("displayName", "model", "priority", "webhookConfig", "name"):
            raise bad_request(f'Invalid JSON payload received. Unknown name "{key}" at \'batch\': Cannot find field.')
    inp = batch.get("inputConfig", batch.get("input_config"))
    if not isinstance(inp, dict):
        raise bad_request("* GenerateContentBatch.input_config: input_config is required\n", "batch.input_config")
    requests_obj = inp.get("requests")
    file_name = inp.get("fileName", inp.get("file_name"))
    results: list[dict] = []
    if (requests_obj is None) == (file_name is None):
        raise bad_request("input_config needs exactly one of requests or file_name.", "batch.input_config")
    if requests_obj is not None:
        items = requests_obj.get("requests") if isinstance(requests_obj, dict) else None
        if not isinstance(items, list) or not items:
            raise bad_request("input_config.requests.requests must be a non-empty list.",
                              "batch.input_config.requests.requests")
        for item in items:
            if not isinstance(item, dict) or "request" not in item:
                raise bad_request("Each inlined request needs a `request`.", "batch.input_config.requests")
            out = _answer(fake, svc, model, item["request"])
            if "metadata" in item:
                out["metadata"] = item["metadata"]
            results.append(out)
        output_kind = "inline"
    else:
        fid = str(file_name).removeprefix("files/")
        with fake._lock:
            blob = fake.state.blobs.get(fid)
            frec = fake.state.files.get(fid)
        if blob is None or frec is None:
            raise ApiError(google_error(403, f"You do not have permission to access the File {fid} or it may not "
                                             "exist."))
        for n, line in enumerate(blob["data"].decode("utf-8", "replace").splitlines()):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                raise bad_request(f"Invalid JSON on line {n + 1} of the input file.")
            out = _answer(fake, svc, model, item.get("request"))
            results.append({"key": item.get("key"), **out})
        output_kind = "file"

    bid = rand_id(16)
    now = now_rfc3339()
    rec = {"id": bid, "model": model, "display": norm.get("displayName", ""), "created": now, "updated": now,
           "results": results, "kind": output_kind, "polls": 0, "state": "BATCH_STATE_PENDING",
           "version": v, "responses_file": None}
    with fake._lock:
        fake.state.batches[bid] = rec
    return json_response(_resource(fake, rec))


def _advance(fake, rec: dict) -> None:
    with fake._lock:
        if rec["state"] in TERMINAL:
            return
        rec["polls"] += 1
        n = fake.config.batch_polls_until_done
        if rec["polls"] > n:
            rec["state"] = "BATCH_STATE_SUCCEEDED"
            rec["updated"] = rec["ended"] = now_rfc3339()
        elif rec["polls"] >= 2:
            rec["state"] = "BATCH_STATE_RUNNING"
            rec["updated"] = now_rfc3339()
    if rec["state"] == "BATCH_STATE_SUCCEEDED" and rec["kind"] == "file" and rec["responses_file"] is None:
        from .gemini import new_generated_file
        data = "".join(json.dumps(r) + "\n" for r in rec["results"]).encode()
        fid = new_generated_file(fake, data, "application/jsonl", display_name=f"batch-{rec['id']}-responses")
        with fake._lock:
            rec["responses_file"] = f"files/{fid}"


def _output(rec: dict) -> dict | None:
    if rec["state"] != "BATCH_STATE_SUCCEEDED":
        return None
    if rec["kind"] == "inline":
        return {"inlinedResponses": {"inlinedResponses": rec["results"]}}
    return {"responsesFile": rec["responses_file"]}


def _resource(fake, rec: dict) -> dict:
    total = len(rec["results"])
    ok = sum(1 for r in rec["results"] if "response" in r)
    done = rec["state"] in TERMINAL
    stats = {"requestCount": str(total)}
    if rec["state"] == "BATCH_STATE_SUCCEEDED":
        stats.update(successfulRequestCount=str(ok), failedRequestCount=str(total - ok))
    else:
        stats["pendingRequestCount"] = str(total)
    meta: dict[str, Any] = {
        "@type": BATCH_TYPE, "model": f"models/{rec['model']}", "displayName": rec["display"],
        "createTime": rec["created"], "updateTime": rec["updated"], "batchStats": stats, "state": rec["state"],
        "name": f"batches/{rec['id']}",
    }
    if rec.get("ended"):
        meta["endTime"] = rec["ended"]
    out: dict[str, Any] = {"name": f"batches/{rec['id']}", "metadata": meta}
    output = _output(rec)
    if output is not None:
        meta["output"] = output
    if done:
        out["done"] = True
        if output is not None:
            out["response"] = {"@type": OUTPUT_TYPE, **output}
    return out


def _get(fake, bid: str) -> dict:
    with fake._lock:
        rec = fake.state.batches.get(bid)
    if rec is None:
        raise not_found(f"Batch batches/{bid} not found.")
    return rec


def get(fake, bid: str) -> Response:
    rec = _get(fake, bid)
    _advance(fake, rec)
    return json_response(_resource(fake, rec))


def cancel(fake, bid: str) -> Response:
    rec = _get(fake, bid)
    with fake._lock:
        if rec["state"] not in TERMINAL:
            rec["state"] = "BATCH_STATE_CANCELLED"
            rec["updated"] = rec["ended"] = now_rfc3339()
    return json_response({})


def delete(fake, bid: str) -> Response:
    _get(fake, bid)
    with fake._lock:
        fake.state.batches.pop(bid, None)
    return json_response({})


def list_(fake, req: Request) -> Response:
    with fake._lock:
        recs = list(fake.state.batches.values())
    items, nxt = page([_resource(fake, r) for r in recs], req)
    out: dict[str, Any] = {"operations": items}
    if nxt:
        out["nextPageToken"] = nxt
    return json_response(out)
