"""The Gemini Developer API (generativelanguage.googleapis.com).

Every route is served under both ``/v1beta`` and ``/v1``
(sdk-observations.md §1). Covers models, generateContent (+stream,
countTokens), Imagen ``:predict`` and Veo ``:predictLongRunning`` behind
knobs, operations, the Files API (resumable upload, metadata, download with a
302 to ``/_blob/{id}``), the Batch API and the Interactions API.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

from . import batches, generate, imagen, interactions, media, veo
from .common import (ApiError, Request, Response, Router, api_key, b64, bad_request, google_error, json_response,
                     not_found, now_rfc3339, page, rand_id, serve_bytes)
from .models import (GEMINI_IMAGE_IDS, GEMINI_IMAGEN_IDS, GEMINI_OMNI_IDS, GEMINI_RETIRED_IDS, GEMINI_VEO_IDS,
                     IMAGE_MODELS, TEXT_MODELS)

V = r"(?P<v>v1beta|v1)"
GEMINI_REQUEST_LIMIT = 100 * 1024 * 1024    # a generateContent request, inline data included (use the Files API)
M = r"(?P<m>[^/:]+)"
FILE_ID = r"(?P<fid>[a-z0-9_-]+)"

# google.ai.generativelanguage.v1beta.File: output-only fields are accepted (and ignored) on create,
# which the SDK relies on (it sends sizeBytes/mimeType/displayName).
FILE_FIELDS = {"name", "displayName", "mimeType", "sizeBytes", "createTime", "updateTime", "expirationTime",
               "sha256Hash", "uri", "downloadUri", "state", "source", "error", "videoMetadata"}
IMAGE_METHODS = ["generateContent", "countTokens", "batchGenerateContent"]
TEXT_METHODS = ["generateContent", "streamGenerateContent", "countTokens", "batchGenerateContent",
                "createCachedContent"]


def new_generated_file(fake, data: bytes, mime: str, *, seconds: float | None = None,
                       display_name: str | None = None) -> str:
    """Register a GENERATED file (downloadable) and its bytes; return its id."""
    fid = rand_id(12)
    created = now_rfc3339()
    rec = {
        "name": f"files/{fid}", "mimeType": mime, "sizeBytes": str(len(data)), "createTime": created,
        "updateTime": created, "expirationTime": now_rfc3339(48 * 3600),
        "sha256Hash": b64(hashlib.sha256(data).hexdigest().encode()),
        "uri": f"{fake.urls['gemini']}/v1beta/files/{fid}", "state": "ACTIVE", "source": "GENERATED",
        "downloadUri": f"{fake.urls['gemini']}/v1beta/files/{fid}:download?alt=media",
        "seconds": seconds, "polls": 0,
    }
    if display_name:
        rec["displayName"] = display_name
    with fake._lock:
        fake.state.files[fid] = rec
        fake.state.blobs[fid] = {"data": data, "mime": mime}
    return fid


def live_file(fake, fid: str) -> dict | None:
    """The file record, or None when there is none or it has passed its expiration time (then it is deleted)."""
    with fake._lock:
        rec = fake.state.files.get(fid)
        if rec is not None and rec.get("expires_at") is not None and time.time() >= rec["expires_at"]:
            fake.state.files.pop(fid, None)
            fake.state.blobs.pop(fid, None)
            rec = None
    return rec


def file_resource(fake, rec: dict, count_poll: bool = False) -> dict:
    """Public view of a file record; PROCESSING for the first N polls (knob)."""
    cfg = fake.config
    with fake._lock:
        if count_poll:
            rec["polls"] += 1
        processing = rec["polls"] <= cfg.file_processing_polls if count_poll else \
            rec["polls"] < cfg.file_processing_polls
    out = {k: v for k, v in rec.items() if k not in ("seconds", "polls", "state", "expires_at")}
    if processing:
        out["state"] = "PROCESSING"
    elif cfg.file_failed:
        out["state"] = "FAILED"
        out["error"] = {"code": 3, "message": "File processing failed."}
    else:
        out["state"] = "ACTIVE"
    return out


def model_resource(model_id: str, methods: list[str], display: str, description: str, *,
                   in_limit: int = 131072, out_limit: int = 32768, thinking: bool = True) -> dict:
    return {
        "name": f"models/{model_id}", "version": "001" if not model_id.endswith("preview") else model_id,
        "displayName": display, "description": description, "inputTokenLimit": in_limit,
        "outputTokenLimit": out_limit, "supportedGenerationMethods": methods, "temperature": 1.0,
        "topP": 0.95, "topK": 64, "maxTemperature": 2.0, "thinking": thinking,
    }


class GeminiService:
    def __init__(self, fake):
        self.fake = fake
        r = self.router = Router()
        r.add("GET", rf"/{V}/models", self.list_models)
        r.add("GET", rf"/{V}/models/{M}", self.get_model)
        r.add("POST", rf"/{V}/models/{M}:(?P<method>generateContent|streamGenerateContent|predict|"
                      r"predictLongRunning|batchGenerateContent)", self.model_method, generation=True)
        r.add("POST", rf"/{V}/models/{M}:(?P<method>[A-Za-z]+)", self.model_method)
        r.add("GET", rf"/{V}/models/{M}/operations/(?P<op>[^/:]+)", self.get_operation)
        r.add("GET", rf"/{V}/files", self.list_files)
        r.add("GET", rf"/(?:download/)?{V}/files/{FILE_ID}:download", self.download)
        r.add("GET", rf"/{V}/files/{FILE_ID}", self.get_file)
        r.add("DELETE", rf"/{V}/files/{FILE_ID}", self.delete_file)
        r.add(("POST", "PUT"), rf"/upload/{V}/files", self.upload)
        r.add("GET", r"/_blob/(?P<fid>[^/]+)", self.blob)
        r.add("GET", rf"/{V}/batches", self.batch_list)
        r.add("GET", rf"/{V}/batches/(?P<bid>[^/:]+)", self.batch_get)
        r.add("POST", rf"/{V}/batches/(?P<bid>[^/:]+):cancel", self.batch_cancel)
        r.add("DELETE", rf"/{V}/batches/(?P<bid>[^/:]+)", self.batch_delete)
        r.add("POST", rf"/{V}/interactions", self.ix_create, generation=True)
        r.add("GET", rf"/{V}/interactions/(?P<iid>[^/:]+)", self.ix_get)
        r.add("POST", rf"/{V}/interactions/(?P<iid>[^/:]+)/cancel", self.ix_cancel)
        r.add("DELETE", rf"/{V}/interactions/(?P<iid>[^/:]+)", self.ix_delete)

    # -- auth / routing helpers ------------------------------------------------------------

    def no_route(self, req: Request) -> Response:
        return google_error(404, f"Method not found: {req.method} {req.path}")

    def auth(self, req: Request) -> None:
        key = api_key(req)
        if not key:
            raise ApiError(google_error(
                403, "Method doesn't allow unregistered callers (callers without established identity). "
                     "Please use API Key or other form of API consumer identity to call this API.",
                details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CREDENTIALS_MISSING",
                          "domain": "googleapis.com",
                          "metadata": {"service": "generativelanguage.googleapis.com"}}]))
        if key.startswith("AQ."):
            # Vertex / Agent-Platform keys are refused by generativelanguage (403).
            raise ApiError(google_error(
                403, "Requests to this API generativelanguage.googleapis.com are blocked for this API key.",
                details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_SERVICE_BLOCKED",
                          "domain": "googleapis.com",
                          "metadata": {"service": "generativelanguage.googleapis.com"}}]))
        if key not in self.fake.gemini_api_keys:
            raise ApiError(google_error(
                400, "API key not valid. Please pass a valid API key.",
                details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                          "domain": "googleapis.com",
                          "metadata": {"service": "generativelanguage.googleapis.com"}},
                         {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
                          "message": "API key not valid. Please pass a valid API key."}]))

    def served_models(self) -> dict[str, dict]:
        cfg = self.fake.config
        out: dict[str, dict] = {}
        for mid in GEMINI_IMAGE_IDS:
            m = IMAGE_MODELS[mid]
            out[mid] = model_resource(mid, IMAGE_METHODS, m.display, f"{m.display} image generation model.",
                                      in_limit=65536, out_limit=32768)
        for mid in GEMINI_OMNI_IDS:
            # Listed with generateContent, but only the Interactions API works ([TS] #871).
            out[mid] = model_resource(mid, ["generateContent", "countTokens"], f"Gemini Omni {mid[12:15]} Flash",
                                      "Video generation and editing (Interactions API).", out_limit=57920)
        for mid, display in TEXT_MODELS.items():
            out[mid] = model_resource(mid, TEXT_METHODS, display, f"{display} text model.",
                                      in_limit=1048576, out_limit=65536)
        if cfg.gemini_veo_served:
            for mid in GEMINI_VEO_IDS:
                out[mid] = model_resource(mid, ["predictLongRunning"], f"Veo ({mid})", "Video generation.",
                                          in_limit=480, out_limit=8192, thinking=False)
        if cfg.gemini_imagen_served:
            for mid in GEMINI_IMAGEN_IDS:
                out[mid] = model_resource(mid, ["predict"], f"Imagen ({mid})", "Image generation.",
                                          in_limit=480, out_limit=8192, thinking=False)
        for mid, methods in cfg.gemini_extra_models.items():
            out[mid] = model_resource(mid, list(methods), mid, "A model the tests add to the listing.")
        for mid in cfg.gemini_hidden_models:
            out.pop(mid, None)
        return out

    def retired(self, mid: str) -> bool:
        cfg = self.fake.config
        if mid in GEMINI_RETIRED_IDS:
            return True
        if mid in GEMINI_VEO_IDS and not cfg.gemini_veo_served:
            return True
        if mid in GEMINI_IMAGEN_IDS and not cfg.gemini_imagen_served:
            return True
        return False

    def resolve(self, v: str, mid: str, method: str) -> dict:
        if self.retired(mid):
            raise not_found(f"models/{mid} is no longer available. It has been shut down on the Gemini API; "
                            "please migrate to a newer model (see https://ai.google.dev/gemini-api/docs/deprecations).")
        model = self.served_models().get(mid)
        if model is None or (method and method not in model["supportedGenerationMethods"]
                             and not (method == "streamGenerateContent"
                                      and "generateContent" in model["supportedGenerationMethods"])):
            raise not_found(f"models/{mid} is not found for API version {v}, or is not supported for "
                            f"{method or 'get'}. Call ListModels to see the list of available models and their "
                            "supported methods.")
        return model

    # -- models ----------------------------------------------------------------------------

    def list_models(self, req: Request, v: str) -> Response:
        self.auth(req)
        items, nxt = page(list(self.served_models().values()), req)
        out: dict[str, Any] = {"models": items}
        if nxt:
            out["nextPageToken"] = nxt
        return json_response(out)

    def get_model(self, req: Request, v: str, m: str) -> Response:
        self.auth(req)
        return json_response(self.resolve(v, m, ""))

    def model_method(self, req: Request, v: str, m: str, method: str) -> Response:
        self.auth(req)
        known = {"generateContent", "streamGenerateContent", "countTokens", "predict", "predictLongRunning",
                 "batchGenerateContent"}
        if method not in known:
            return google_error(404, f"Method not found: {method}")
        if m in GEMINI_OMNI_IDS and method in ("generateContent", "streamGenerateContent"):
            raise ApiError(google_error(400, "This model only supports Interactions API."))
        self.resolve(v, m, method)
        body = req.json()
        if method in ("generateContent", "streamGenerateContent"):
            if len(req.body) > GEMINI_REQUEST_LIMIT:
                raise bad_request(f"Request payload size exceeds the limit: {GEMINI_REQUEST_LIMIT} bytes.")
            g = generate.validate(body, m, "gemini", file_lookup=self.file_lookup)
            resp = generate.build_response(self.fake, g, m, "gemini")
            if method == "generateContent":
                return json_response(resp)
            chunks = generate.stream_chunks(resp)
            if req.q("alt") == "sse" or req.q("$alt") == "sse":
                text = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks)
                return Response(200, text.encode(), [("Content-Type", "text/event-stream")])
            return json_response(chunks)
        if method == "countTokens":
            return json_response(generate.count_tokens(body))
        if method == "predict":
            return json_response(imagen.predict(self.fake, m, body, "gemini"))
        if method == "predictLongRunning":
            spec = veo.validate_create(self.fake, "gemini", m, body, v)
            return json_response(veo.create_operation(self.fake, "gemini", m, spec))
        return batches.create(self.fake, self, req, v, m, body)

    def file_lookup(self, uri: str) -> dict | None:
        """Check a fileData.fileUri that points at this Files API."""
        mt = re.search(r"(?:^|/)files/([a-z0-9_-]+)$", uri.split("?")[0])
        if not mt:
            return None
        rec = live_file(self.fake, mt.group(1))
        if rec is None:
            raise ApiError(google_error(403, f"You do not have permission to access the File {mt.group(1)} or it "
                                             "may not exist."))
        view = file_resource(self.fake, rec)
        if view["state"] != "ACTIVE":
            raise ApiError(google_error(400, f"The File {mt.group(1)} is not in an ACTIVE state and usage is not "
                                             "allowed.", status="FAILED_PRECONDITION"))
        with self.fake._lock:
            blob = self.fake.state.blobs.get(mt.group(1)) or {}
        return {**view, "data": blob.get("data")}   # the bytes, checked like inline data

    def get_operation(self, req: Request, v: str, m: str, op: str) -> Response:
        self.auth(req)
        return json_response(veo.poll(self.fake, f"models/{m}/operations/{op}", "gemini"))

    # -- files ------------------------------------------------------------------------------

    def _file(self, fid: str) -> dict:
        rec = live_file(self.fake, fid)
        if rec is None:
            raise ApiError(google_error(403, f"You do not have permission to access the File {fid} or it may "
                                             "not exist."))
        return rec

    def list_files(self, req: Request, v: str) -> Response:
        self.auth(req)
        with self.fake._lock:
            recs = list(self.fake.state.files.values())
        items, nxt = page([file_resource(self.fake, r) for r in recs], req, default_size=10, max_size=100)
        out: dict[str, Any] = {"files": items} if items else {}
        if nxt:
            out["nextPageToken"] = nxt
        return json_response(out)

    def get_file(self, req: Request, v: str, fid: str) -> Response:
        self.auth(req)
        return json_response(file_resource(self.fake, self._file(fid), count_poll=True))

    def delete_file(self, req: Request, v: str, fid: str) -> Response:
        self.auth(req)
        self._file(fid)
        with self.fake._lock:
            self.fake.state.files.pop(fid, None)
            self.fake.state.blobs.pop(fid, None)
        return json_response({})

    def download(self, req: Request, v: str, fid: str) -> Response:
        self.auth(req)
        if self.fake.config.file_expired:
            raise not_found(f"File files/{fid} not found or has expired.")
        rec = self._file(fid)
        if rec.get("source") != "GENERATED":
            raise bad_request("Only generated files can be downloaded; uploaded files cannot.")
        # Like the real service: a redirect to a signed storage URL (no key needed there).
        loc = f"{self.fake.urls['gemini']}/_blob/{fid}"
        return Response(302, b"", [("Location", loc), ("Content-Type", "text/html; charset=UTF-8")])

    def blob(self, req: Request, fid: str) -> Response:
        if self.fake.config.file_expired:
            raise not_found("The requested object has expired.")
        with self.fake._lock:
            blob = self.fake.state.blobs.get(fid)
        if blob is None:
            raise not_found("No such object.")
        return serve_blob(self.fake, req, blob["data"], blob["mime"])

    def upload(self, req: Request, v: str) -> Response:
        upload_id = req.q("upload_id")
        if upload_id:
            return self._upload_chunk(req, upload_id)
        self.auth(req)
        protocol = (req.header("x-goog-upload-protocol") or "").lower()
        command = (req.header("x-goog-upload-command") or "").lower()
        if protocol != "resumable" or "start" not in command:
            raise bad_request("Only the resumable upload protocol is supported by this fake "
                              "(X-Goog-Upload-Protocol: resumable, X-Goog-Upload-Command: start).")
        meta = req.json() or {}
        fmeta = meta.get("file") or {}
        if not isinstance(fmeta, dict):
            raise bad_request("file must be an object.")
        from .common import camelize
        fmeta = camelize(fmeta)
        for key in fmeta:
            if key not in FILE_FIELDS:
                raise bad_request(f'Invalid JSON payload received. Unknown name "{key}" at \'file\': Cannot find '
                                  'field.')
        total = req.header("x-goog-upload-header-content-length")
        mime = req.header("x-goog-upload-header-content-type") or fmeta.get("mimeType") or "application/octet-stream"
        fid = None
        if fmeta.get("name"):
            fid = str(fmeta["name"]).removeprefix("files/")
            if not re.fullmatch(r"[a-z0-9-]{1,40}", fid):
                raise bad_request("File name must be lowercase alphanumeric or dashes, at most 40 characters.")
        uid = rand_id(40, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        with self.fake._lock:
            self.fake.state.uploads[uid] = {"fid": fid, "display": fmeta.get("displayName"), "mime": mime,
                                            "total": int(total) if total and total.isdigit() else None,
                                            "data": bytearray(), "done": False}
        url = f"{self.fake.urls['gemini']}/upload/{v}/files?upload_id={uid}&upload_protocol=resumable"
        return Response(200, b"", [("X-Goog-Upload-Status", "active"), ("X-Goog-Upload-URL", url),
                                   ("X-Goog-Upload-Control-URL", url),
                                   ("X-Goog-Upload-Chunk-Granularity", "8388608"),
                                   ("Content-Type", "text/plain; charset=utf-8")])

    def _upload_chunk(self, req: Request, uid: str) -> Response:
        with self.fake._lock:
            sess = self.fake.state.uploads.get(uid)
        if sess is None or sess["done"]:
            return Response(404, b"Upload session not found.", [("Content-Type", "text/plain"),
                                                                 ("X-Goog-Upload-Status", "final")])
        command = (req.header("x-goog-upload-command") or "").lower()
        cmds = {c.strip() for c in command.split(",")}
        if "query" in cmds:
            return Response(200, b"", [("X-Goog-Upload-Status", "active"),
                                       ("X-Goog-Upload-Size-Received", str(len(sess["data"])))])
        if "cancel" in cmds:
            with self.fake._lock:
                self.fake.state.uploads.pop(uid, None)
            return Response(200, b"", [("X-Goog-Upload-Status", "cancelled")])
        if "upload" in cmds:
            offset = req.header("x-goog-upload-offset")
            if offset is None or not offset.isdigit() or int(offset) != len(sess["data"]):
                return Response(400, f"Invalid X-Goog-Upload-Offset: expected {len(sess['data'])}".encode(),
                                [("Content-Type", "text/plain"), ("X-Goog-Upload-Status", "active"),
                                 ("X-Goog-Upload-Size-Received", str(len(sess["data"])))])
            with self.fake._lock:
                sess["data"].extend(req.body)
        if "finalize" not in cmds:
            return Response(200, b"", [("X-Goog-Upload-Status", "active"),
                                       ("X-Goog-Upload-Size-Received", str(len(sess["data"])))])
        data = bytes(sess["data"])
        if sess["total"] is not None and sess["total"] != len(data):
            return Response(400, b"Upload size does not match X-Goog-Upload-Header-Content-Length.",
                            [("Content-Type", "text/plain"), ("X-Goog-Upload-Status", "active")])
        fid = sess["fid"] or rand_id(12)
        created = now_rfc3339()
        ttl = self.fake.config.file_ttl_s
        rec = {"name": f"files/{fid}", "mimeType": sess["mime"], "sizeBytes": str(len(data)),
               "createTime": created, "updateTime": created, "expirationTime": now_rfc3339(ttl),
               "expires_at": time.time() + ttl,
               "sha256Hash": b64(hashlib.sha256(data).hexdigest().encode()),
               "uri": f"{self.fake.urls['gemini']}/v1beta/files/{fid}", "state": "ACTIVE", "source": "UPLOADED",
               "polls": 0, "seconds": None}
        if sess["display"]:
            rec["displayName"] = sess["display"]
        with self.fake._lock:
            sess["done"] = True
            self.fake.state.files[fid] = rec
            self.fake.state.blobs[fid] = {"data": data, "mime": sess["mime"]}
        body = json.dumps({"file": file_resource(self.fake, rec)}, indent=2).encode()
        return Response(200, body, [("Content-Type", "application/json; charset=UTF-8"),
                                    ("X-Goog-Upload-Status", "final")])

    # -- batches / interactions ---------------------------------------------------------------

    def batch_list(self, req: Request, v: str) -> Response:
        self.auth(req)
        return batches.list_(self.fake, req)

    def batch_get(self, req: Request, v: str, bid: str) -> Response:
        self.auth(req)
        return batches.get(self.fake, bid)

    def batch_cancel(self, req: Request, v: str, bid: str) -> Response:
        self.auth(req)
        return batches.cancel(self.fake, bid)

    def batch_delete(self, req: Request, v: str, bid: str) -> Response:
        self.auth(req)
        return batches.delete(self.fake, bid)

    def ix_create(self, req: Request, v: str) -> Response:
        self.auth(req)
        return interactions.create(self.fake, req, "gemini", version=v)

    def ix_get(self, req: Request, v: str, iid: str) -> Response:
        self.auth(req)
        return interactions.get(self.fake, req, "gemini", iid)

    def ix_cancel(self, req: Request, v: str, iid: str) -> Response:
        self.auth(req)
        return interactions.cancel(self.fake, "gemini", iid)

    def ix_delete(self, req: Request, v: str, iid: str) -> Response:
        self.auth(req)
        return interactions.delete(self.fake, "gemini", iid)


def serve_blob(fake, req: Request, data: bytes, mime: str) -> Response:
    """Bytes with Range support; honours video_bytes_size and download_reset_after_bytes."""
    cfg = fake.config
    size_override = cfg.video_bytes_size if mime.startswith("video/") else None
    if size_override:
        size = int(size_override)
        resp = serve_bytes(req, size, lambda s, e: media.synthetic_iter(size, s, e), mime)
    else:
        resp = serve_bytes(req, len(data), lambda s, e: data[s:e + 1], mime)
    if resp.status in (200, 206) and req.method == "GET":
        with fake._lock:
            n = cfg.download_reset_after_bytes
            cfg.download_reset_after_bytes = None   # one-shot: the next download only
        if n is not None:
            resp.close_after = int(n)
    return resp
