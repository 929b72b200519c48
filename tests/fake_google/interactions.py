"""The Interactions API for Gemini Omni video (gemini-omni-and-veo-status.md §2, §5).

Shared by the Gemini API (``/v1beta/interactions``, ``/v1/interactions``)
and Vertex (``/v1beta1/projects/{p}/locations/global/interactions`` and the
express ``/v1beta1/interactions``). Bodies are snake_case; unknown fields
are ignored. Validation errors use the Interactions front end's shape
``{"error": {"code": "invalid_request", "message": ...}}`` (string code).
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import media
from .common import ApiError, Request, Response, b64, b64decode_lenient, json_response, now_rfc3339, rand_b64, \
    rand_id
from .models import GEMINI_OMNI_IDS, OMNI_MAX_CLIP_S, VERTEX_OMNI_IDS

TOKENS_PER_SECOND = 5792
BLOCK_TYPES = {"text", "image", "video", "audio", "document"}
TASKS = {"text_to_video", "image_to_video", "reference_to_video", "edit", "extend", "upscale"}
RESOLUTIONS = {"360p", "720p", "1080p", "4k"}
EXTEND_RE = re.compile(r"\b(extend|continue|longer)\b", re.I)
# How a finished interaction is laid out (config.interaction_reply): today's steps, a video in an earlier
# model_output step than the closing text, or the legacy ``outputs`` list (content blocks, no steps).
REPLY_SHAPES = {"steps", "video_then_text", "legacy_outputs"}


def ix_error(status: int, code: str, message: str) -> ApiError:
    return ApiError(json_response({"error": {"code": code, "message": message}}, status=status))


def invalid(message: str) -> ApiError:
    return ix_error(400, "invalid_request", message)


def _not_found(iid: str) -> ApiError:
    return ix_error(404, "not_found", f"Interaction {iid} not found")


def _blocks_from_input(inp: Any) -> list[dict]:
    """Normalise ``input`` (string | blocks | steps | single block) to content blocks."""
    if inp is None:
        return []
    if isinstance(inp, str):
        return [{"type": "text", "text": inp}]
    if isinstance(inp, dict):
        inp = [inp]
    if not isinstance(inp, list):
        raise invalid("input must be a string, a list of content blocks or a list of steps.")
    blocks: list[dict] = []
    for i, item in enumerate(inp):
        if isinstance(item, str):
            blocks.append({"type": "text", "text": item})
            continue
        if not isinstance(item, dict):
            raise invalid(f"input[{i}] must be an object.")
        t = item.get("type")
        if t == "user_input":
            content = item.get("content")
            if isinstance(content, str):
                content = [{"type": "text", "text": content}]
            if not isinstance(content, list):
                raise invalid(f"input[{i}].content must be a list of content blocks.")
            blocks.extend(content)
        elif t in ("model_output", "thought"):
            continue   # earlier turns replayed by the client: not new input
        elif t in BLOCK_TYPES:
            blocks.append(item)
        else:
            raise invalid(f"input[{i}].type '{t}' is not a valid content block or step type.")
    for i, block in enumerate(blocks):
        _check_block(block, i)
    return blocks


def _check_block(block: Any, i: int) -> None:
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        raise invalid(f"content[{i}] has an invalid type.")
    t = block["type"]
    if t == "text":
        if not isinstance(block.get("text"), str):
            raise invalid(f"content[{i}].text must be a string.")
        return
    if "data" in block:
        if b64decode_lenient(block["data"]) is None:
            raise invalid(f"content[{i}].data is not valid base64.")
        if not block.get("mime_type"):
            raise invalid(f"content[{i}].mime_type is required with data.")
    elif not block.get("uri"):
        raise invalid(f"content[{i}] needs data or uri.")
    mime = block.get("mime_type")
    if mime and t in ("image", "video", "audio") and not str(mime).startswith(t + "/"):
        raise invalid(f"content[{i}].mime_type {mime} does not match type {t}.")


def _response_format(rf: Any, model: str = "") -> dict:
    if rf is None:
        return {}
    if isinstance(rf, list):
        vids = [x for x in rf if isinstance(x, dict) and x.get("type", "video") == "video"]
        if len(rf) and not all(isinstance(x, dict) for x in rf):
            raise invalid("response_format entries must be objects.")
        rf = vids[0] if vids else {}
    if not isinstance(rf, dict):
        raise invalid("response_format must be an object or a list of objects.")
    if rf.get("type", "video") not in ("video", "text"):
        raise invalid(f"response_format.type '{rf.get('type')}' is not supported for this model.")
    ar = rf.get("aspect_ratio")
    if ar is not None and ar not in ("16:9", "9:16"):
        raise invalid(f"response_format.aspect_ratio must be 16:9 or 9:16, got {ar!r}.")
    res = rf.get("resolution")
    if res is not None and res not in RESOLUTIONS:
        raise invalid(f"response_format.resolution must be one of 360p, 720p, 1080p, 4k, got {res!r}.")
    dur = rf.get("duration")
    if dur is not None:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(dur))
        longest = OMNI_MAX_CLIP_S.get(model, 10)
        if not m or not 3 <= float(m.group(1)) <= longest:
            raise invalid(f"response_format.duration must be between \"3s\" and \"{longest}s\", got {dur!r}.")
    delivery = rf.get("delivery")
    if delivery is not None and delivery not in ("inline", "uri"):
        raise invalid(f"response_format.delivery must be inline or uri, got {delivery!r}.")
    gcs = rf.get("gcs_uri")
    if gcs is not None and not str(gcs).startswith("gs://"):
        raise invalid("response_format.gcs_uri must be a gs:// URI.")
    return rf


def _seconds(rf: dict) -> float | None:
    d = rf.get("duration")
    return float(str(d)[:-1]) if d else None


def create(fake, req: Request, backend: str, *, version: str = "v1beta", project: str | None = None,
           location: str | None = None) -> Response:
    body = req.json()
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object.")
    if "outputs" in body:
        raise invalid("The legacy Interactions API schema is no longer supported. Use `steps`.")
    model = str(body.get("model") or "").removeprefix("models/")
    if not model:
        raise invalid("model is required.")
    allowed = GEMINI_OMNI_IDS if backend == "gemini" else VERTEX_OMNI_IDS
    if model not in allowed:
        raise invalid(f"Model '{model}' is not supported for video generation with the Interactions API. "
                      f"Supported models: {', '.join(allowed)}.")
    if location not in (None, "global"):
        # Omni on Vertex is global-only (gemini-omni-and-veo-status.md §3).
        raise ix_error(404, "not_found", f"Model {model} is not available in location {location}; use global.")
    blocks = _blocks_from_input(body.get("input"))
    rf = _response_format(body.get("response_format"), model)
    gc = body.get("generation_config") or {}
    task = None
    if isinstance(gc, dict):
        vc = gc.get("video_config") or {}
        if isinstance(vc, dict) and vc.get("task") is not None:
            task = str(vc["task"]).lower()
            if task not in TASKS:
                raise invalid(f"generation_config.video_config.task '{vc['task']}' is not valid.")
        if "candidate_count" in gc:
            raise invalid("generation_config.candidate_count is not supported for this model.")
    store = body.get("store", True) is not False
    background = bool(body.get("background", False))
    if background and not store:
        raise invalid("background=true requires store=true.")
    prev_id = body.get("previous_interaction_id")
    prev = None
    if prev_id:
        with fake._lock:
            prev = fake.state.interactions.get((backend, str(prev_id)))
        if prev is None:
            raise _not_found(str(prev_id))
        if prev["status"] != "completed" or not prev.get("video_seconds"):
            raise invalid(f"Interaction {prev_id} has no completed video to continue from.")

    text = " ".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    requested = _seconds(rf)
    extend = task == "extend" or bool(EXTEND_RE.search(text))
    source = None
    if prev is not None:
        source = prev["video_seconds"]
    else:
        for b in blocks:
            if b.get("type") == "video" and "data" in b:
                source = media.probe_duration(b64decode_lenient(b["data"]) or b"") or None
                break
    if extend and source is not None:
        seconds = float(source) + float(requested or 8)
        cap = fake.config.interaction_max_total_s
        if seconds > cap:
            raise invalid(f"The extended video would be {seconds:g}s; the maximum total length is {cap:g}s.")
    elif source is not None and requested is None:
        seconds = float(source)          # an edit keeps the clip length
    else:
        seconds = float(requested or 8)
    if fake.config.video_seconds:
        seconds = float(fake.config.video_seconds)
    aspect = rf.get("aspect_ratio") or (prev["aspect"] if prev else "16:9")

    if fake.config.interaction_outcome not in ("ok", "failed", "no_video"):
        raise ValueError("config.interaction_outcome must be ok|failed|no_video, "
                         f"not {fake.config.interaction_outcome!r}")
    if fake.config.interaction_reply not in REPLY_SHAPES:
        raise ValueError(f"config.interaction_reply must be one of {sorted(REPLY_SHAPES)}, "
                         f"not {fake.config.interaction_reply!r}")
    iid = "v1_" + rand_b64(27)
    now = now_rfc3339()
    rec = {
        "id": iid, "backend": backend, "model": model, "status": "in_progress", "created": now, "updated": now,
        "input_blocks": blocks, "rf": rf, "seconds": seconds, "aspect": aspect, "background": background,
        "store": store, "outcome": fake.config.interaction_outcome, "polls": 0, "version": version,
        "reply": fake.config.interaction_reply, "final_status": fake.config.interaction_status or "completed",
        "previous_interaction_id": prev_id, "video_seconds": None, "text_tokens": max(1, len(text) // 4),
        "project": project, "host": fake.request_host(),
    }
    if background:
        with fake._lock:
            fake.state.interactions[(backend, iid)] = rec
        out = {"id": iid, "object": "interaction", "model": model, "status": "in_progress", "created": now}
        return json_response(out)
    _complete(fake, rec, deliver_uri=True)
    if store:
        with fake._lock:
            fake.state.interactions[(backend, iid)] = rec
    view = _view(fake, rec, include_input=False, for_create=True)
    if body.get("stream"):
        return _sse(view)
    return json_response(view)


def _complete(fake, rec: dict, deliver_uri: bool) -> None:
    """Produce the result of an interaction (status, steps and usage)."""
    outcome = rec["outcome"]
    rec["updated"] = now_rfc3339()
    if outcome == "failed":
        rec["status"] = "failed"
        rec["errors"] = [{"code": "SAFETY", "message": "blocked by safety filters"}]
        rec["result"] = None
        return
    rec["status"] = rec["final_status"]     # "completed" unless a test asks for another status
    if outcome == "no_video":
        rec["result"] = {"text": "I can't generate that video. Try describing the scene differently."}
        return
    data = media.mp4_bytes(rec["seconds"], rec["aspect"])
    rec["video_seconds"] = rec["seconds"]
    rec["result"] = {"data": data, "uri": None}
    rf = rec["rf"]
    if rf.get("delivery") == "uri" and deliver_uri:
        if rec["backend"] == "gemini":
            from .gemini import new_generated_file
            fid = new_generated_file(fake, data, "video/mp4", seconds=rec["seconds"])
            rec["result"]["uri"] = f"{fake.urls['gemini']}/v1beta/files/{fid}:download?alt=media"
        elif rf.get("gcs_uri"):
            from .gcs import put_gs_uri
            uri = f"{str(rf['gcs_uri']).rstrip('/')}/{rand_id(19, '0123456789')}.mp4"
            put_gs_uri(fake, uri, data, "video/mp4")
            rec["result"]["uri"] = uri
            rec["result"]["keep_uri"] = True   # Vertex GET keeps pointing at GCS
        # Vertex without gcs_uri: bytes come back inline (gemini-omni-and-veo-status.md §3).


def _usage(rec: dict) -> dict:
    inp = rec["text_tokens"]
    by_mod = [{"modality": "text", "tokens": rec["text_tokens"]}]
    images = sum(1 for b in rec["input_blocks"] if b.get("type") == "image")
    if images:
        inp += 258 * images
        by_mod.append({"modality": "image", "tokens": 258 * images})
    out = 0
    out_by: list[dict] = []
    result = _result(rec)
    if result is not None:
        if "data" in result:
            out = int(round(rec["seconds"] * TOKENS_PER_SECOND))
            out_by.append({"modality": "video", "tokens": out})
        else:
            out = len(result["text"]) // 4
            out_by.append({"modality": "text", "tokens": out})
    thought = 169 if result is not None else 0
    usage = {"total_input_tokens": inp, "total_output_tokens": out, "total_thought_tokens": thought,
             "total_tokens": inp + out + thought, "input_tokens_by_modality": by_mod}
    if out_by:
        usage["output_tokens_by_modality"] = out_by
    return usage


def _view(fake, rec: dict, *, include_input: bool, for_create: bool) -> dict:
    out: dict[str, Any] = {"id": rec["id"], "object": "interaction", "model": rec["model"], "status": rec["status"],
                           "created": rec["created"], "updated": rec["updated"]}
    if rec["backend"] == "vertex":
        out["role"] = "model"
    if rec.get("previous_interaction_id"):
        out["previous_interaction_id"] = rec["previous_interaction_id"]
    if rec["status"] in ("in_progress", "cancelled"):
        return out
    steps: list[dict] = []
    if include_input:
        steps.append({"type": "user_input", "content": rec["input_blocks"]})
    result = _result(rec)
    if result is not None:
        steps += _output_steps(rec, result, for_create)
    if rec["reply"] == "legacy_outputs":        # before May 2026: one model output's blocks, no steps
        out["outputs"] = [block for step in steps if step["type"] == "model_output" for block in step["content"]]
    else:
        out["steps"] = steps
    if rec.get("errors"):
        out["errors"] = rec["errors"]
    out["usage"] = _usage(rec)
    return out


def _result(rec: dict) -> dict | None:
    """What the interaction produced, once it finished with something to show."""
    if rec["status"] in ("in_progress", "cancelled", "failed"):
        return None
    return rec.get("result")


def _output_steps(rec: dict, result: dict, for_create: bool) -> list[dict]:
    """The model's turn: a thought, then the output in the layout ``rec["reply"]`` names."""
    thought = {"type": "thought", "signature": rand_b64(12),
               "summary": [{"type": "text", "text": "Planning the shot and camera movement."}]}
    if "data" not in result:
        return [thought, {"type": "model_output", "content": [{"type": "text", "text": result["text"]}]}]
    block: dict[str, Any] = {"type": "video", "mime_type": "video/mp4"}
    # GET returns inline data even for delivery "uri" on the Gemini API ([OMNI] caveat).
    if result.get("uri") and (for_create or result.get("keep_uri")):
        block["uri"] = result["uri"]
    else:
        block["data"] = b64(result["data"])
    text = {"type": "text", "text": "Here is your video."}
    if rec["reply"] == "video_then_text":
        return [{"type": "model_output", "content": [block]}, thought, {"type": "model_output", "content": [text]}]
    return [thought, {"type": "model_output", "content": [text, block]}]


def _sse(view: dict) -> Response:
    started = {k: view[k] for k in ("id", "object", "model", "created") if k in view}
    started["status"] = "in_progress"
    events = [{"event_type": "interaction.created", "interaction": started}]
    for i, step in enumerate(view.get("steps", [])):
        events.append({"event_type": "step.start", "index": i, "step": step})
        events.append({"event_type": "step.stop", "index": i})
    events.append({"event_type": "interaction.completed", "interaction": view})
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return Response(200, text.encode(), [("Content-Type", "text/event-stream")])


def _lookup(fake, backend: str, iid: str) -> dict:
    with fake._lock:
        rec = fake.state.interactions.get((backend, iid))
    if rec is None:
        raise _not_found(iid)
    fake.require_same_host(rec.get("host"), f"interaction {iid}")
    return rec


def get(fake, req: Request, backend: str, iid: str) -> Response:
    rec = _lookup(fake, backend, iid)
    if rec["status"] == "in_progress":
        with fake._lock:
            rec["polls"] += 1
            ready = rec["polls"] > fake.config.interaction_polls_until_done
        if ready:
            _complete(fake, rec, deliver_uri=rec["backend"] == "vertex")
    view = _view(fake, rec, include_input=True, for_create=False)
    if req.q("stream") == "true":
        return _sse(view)
    return json_response(view)


def cancel(fake, backend: str, iid: str) -> Response:
    rec = _lookup(fake, backend, iid)
    with fake._lock:
        if rec["status"] != "in_progress":
            raise invalid(f"Interaction {iid} is not in progress and cannot be cancelled.")
        rec["status"] = "cancelled"
        rec["updated"] = now_rfc3339()
    return json_response(_view(fake, rec, include_input=True, for_create=False))


def delete(fake, backend: str, iid: str) -> Response:
    _lookup(fake, backend, iid)
    with fake._lock:
        fake.state.interactions.pop((backend, iid), None)
    return json_response({})
