"""Cloud Storage JSON API (storage.googleapis.com), in memory.

Point clients at it with ``STORAGE_EMULATOR_HOST``. Bearer auth is required
(``config.gcs_require_auth``). Supports object metadata/media GET (with
Range), list, delete, and uploads via ``uploadType=media``, ``multipart``
and ``resumable`` (session URL in ``Location``, then PUT; partial chunks get
308 + ``Range``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import urllib.parse
from typing import Any

from .common import ApiError, Request, Response, Router, bad_request, bearer, google_error, json_response, \
    now_rfc3339, page, rand_id

B = r"(?P<bucket>[^/]+)"


def _gcs_error(code: int, message: str, reason: str) -> ApiError:
    # GCS adds the legacy `errors` list next to the google.rpc fields.
    resp = json_response({"error": {"code": code, "message": message, "status": {
        401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 400: "INVALID_ARGUMENT",
        412: "FAILED_PRECONDITION", 416: "OUT_OF_RANGE"}.get(code, "UNKNOWN"),
        "errors": [{"message": message, "domain": "global", "reason": reason}]}}, status=code)
    return ApiError(resp)


def put_object(fake, bucket: str, name: str, data: bytes, content_type: str | None,
               metadata: dict | None = None) -> dict:
    now = now_rfc3339()
    gen = str(time.time_ns() // 1000)
    obj = {"data": bytes(data), "contentType": content_type or "application/octet-stream", "generation": gen,
           "timeCreated": now, "updated": now, "metadata": metadata or None,
           "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode()}
    with fake._lock:
        fake.state.gcs[(bucket, name)] = obj
    return obj


def split_gs_uri(uri: str) -> tuple[str, str]:
    m = re.fullmatch(r"gs://([^/]+)/(.+)", uri)
    if not m:
        raise ValueError(f"not a gs://bucket/object URI: {uri!r}")
    return m.group(1), m.group(2)


def put_gs_uri(fake, uri: str, data: bytes, content_type: str) -> None:
    bucket, name = split_gs_uri(uri)
    put_object(fake, bucket, name, data, content_type)


def get_gs_uri(fake, uri: str) -> bytes | None:
    try:
        bucket, name = split_gs_uri(uri)
    except ValueError:
        return None
    return fake.gcs_get(bucket, name)


def resource(fake, bucket: str, name: str, obj: dict) -> dict:
    base = fake.urls.get("gcs", "")
    enc = urllib.parse.quote(name, safe="")
    out = {
        "kind": "storage#object", "id": f"{bucket}/{name}/{obj['generation']}",
        "selfLink": f"{base}/storage/v1/b/{bucket}/o/{enc}",
        "mediaLink": f"{base}/download/storage/v1/b/{bucket}/o/{enc}?generation={obj['generation']}&alt=media",
        "name": name, "bucket": bucket, "generation": obj["generation"], "metageneration": "1",
        "contentType": obj["contentType"], "storageClass": "STANDARD", "size": str(len(obj["data"])),
        "md5Hash": obj["md5Hash"], "timeCreated": obj["timeCreated"], "updated": obj["updated"],
        "etag": obj["md5Hash"][:12],
    }
    if obj.get("metadata"):
        out["metadata"] = obj["metadata"]
    return out


class GcsService:
    def __init__(self, fake):
        self.fake = fake
        r = self.router = Router()
        r.add("GET", rf"/storage/v1/b/{B}/o", self.list_objects)
        r.add("GET", rf"/(?:download/)?storage/v1/b/{B}/o/(?P<obj>.+)", self.get_object)
        r.add("DELETE", rf"/storage/v1/b/{B}/o/(?P<obj>.+)", self.delete_object)
        r.add("POST", rf"/upload/storage/v1/b/{B}/o", self.upload)
        r.add("PUT", rf"/upload/storage/v1/b/{B}/o", self.resumable_put)
        r.add("GET", rf"/storage/v1/b/{B}", self.get_bucket)

    def no_route(self, req: Request) -> Response:
        return google_error(404, "Not Found")

    def auth(self, req: Request) -> None:
        if not self.fake.config.gcs_require_auth:
            return
        token = bearer(req)
        if not self.fake.token_valid(token):
            resp = json_response({"error": {
                "code": 401, "message": "Invalid Credentials" if token else
                "Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object.",
                "status": "UNAUTHENTICATED",
                "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                            "locationType": "header", "location": "Authorization"}]}}, status=401,
                headers=[("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')])
            raise ApiError(resp)

    def _obj(self, bucket: str, name: str) -> dict:
        with self.fake._lock:
            obj = self.fake.state.gcs.get((bucket, name))
        if obj is None:
            raise _gcs_error(404, f"No such object: {bucket}/{name}", "notFound")
        return obj

    def get_bucket(self, req: Request, bucket: str) -> Response:
        self.auth(req)
        return json_response({"kind": "storage#bucket", "id": bucket, "name": bucket, "location": "US",
                              "storageClass": "STANDARD"})

    def list_objects(self, req: Request, bucket: str) -> Response:
        self.auth(req)
        prefix = req.q("prefix") or ""
        with self.fake._lock:
            objs = sorted((n, o) for (b, n), o in self.fake.state.gcs.items() if b == bucket and n.startswith(prefix))
        items, nxt = page([resource(self.fake, bucket, n, o) for n, o in objs], req, default_size=1000)
        out: dict[str, Any] = {"kind": "storage#objects"}
        if items:
            out["items"] = items
        if nxt:
            out["nextPageToken"] = nxt
        return json_response(out)

    def get_object(self, req: Request, bucket: str, obj: str) -> Response:
        self.auth(req)
        o = self._obj(bucket, obj)
        if req.q("alt") == "media" or req.path.startswith("/download/"):
            from .gemini import serve_blob
            return serve_blob(self.fake, req, o["data"], o["contentType"])
        return json_response(resource(self.fake, bucket, obj, o))

    def delete_object(self, req: Request, bucket: str, obj: str) -> Response:
        self.auth(req)
        self._obj(bucket, obj)
        with self.fake._lock:
            self.fake.state.gcs.pop((bucket, obj), None)
        return Response(204, b"")

    def upload(self, req: Request, bucket: str) -> Response:
        self.auth(req)
        kind = req.q("uploadType")
        if kind == "media":
            name = req.q("name")
            if not name:
                raise _gcs_error(400, "Required parameter: name", "required")
            o = put_object(self.fake, bucket, name, req.body, req.header("content-type"))
            return json_response(resource(self.fake, bucket, name, o))
        if kind == "multipart":
            meta, data, ctype = self._multipart(req)
            name = meta.get("name") or req.q("name")
            if not name:
                raise _gcs_error(400, "Required parameter: name", "required")
            o = put_object(self.fake, bucket, name, data, meta.get("contentType") or ctype, meta.get("metadata"))
            return json_response(resource(self.fake, bucket, name, o))
        if kind == "resumable":
            if req.q("upload_id"):
                return self.resumable_put(req, bucket)
            meta = req.json() or {}
            name = meta.get("name") or req.q("name")
            if not name:
                raise _gcs_error(400, "Required parameter: name", "required")
            uid = rand_id(32)
            ctype = meta.get("contentType") or req.header("x-upload-content-type") or "application/octet-stream"
            with self.fake._lock:
                self.fake.state.gcs_uploads[uid] = {"bucket": bucket, "name": name, "ctype": ctype,
                                                    "data": bytearray(), "metadata": meta.get("metadata")}
            loc = (f"{self.fake.urls['gcs']}/upload/storage/v1/b/{bucket}/o?uploadType=resumable"
                   f"&name={urllib.parse.quote(name, safe='')}&upload_id={uid}")
            return Response(200, b"", [("Location", loc), ("X-GUploader-UploadID", uid),
                                       ("Content-Type", "text/plain; charset=utf-8")])
        raise _gcs_error(400, f"Invalid upload type: {kind}", "invalid")

    def resumable_put(self, req: Request, bucket: str) -> Response:
        self.auth(req)
        uid = req.q("upload_id")
        with self.fake._lock:
            sess = self.fake.state.gcs_uploads.get(uid or "")
        if sess is None:
            raise _gcs_error(404, "No such upload session.", "notFound")
        cr = req.header("content-range")
        total = None
        if cr:
            m = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", cr.strip())
            if not m:
                raise _gcs_error(400, f"Invalid Content-Range: {cr}", "invalid")
            if m.group(1) is not None and int(m.group(1)) != len(sess["data"]):
                raise _gcs_error(400, f"Content-Range start {m.group(1)} does not match {len(sess['data'])}",
                                 "invalid")
            total = None if m.group(3) == "*" else int(m.group(3))
        else:
            total = len(sess["data"]) + len(req.body)
        with self.fake._lock:
            sess["data"].extend(req.body)
            have = len(sess["data"])
        if total is None or have < total:
            headers = [("Range", f"bytes=0-{have - 1}")] if have else []
            return Response(308, b"", headers + [("Content-Type", "text/plain")])
        with self.fake._lock:
            self.fake.state.gcs_uploads.pop(uid, None)
        o = put_object(self.fake, sess["bucket"], sess["name"], bytes(sess["data"]), sess["ctype"], sess["metadata"])
        return json_response(resource(self.fake, sess["bucket"], sess["name"], o))

    @staticmethod
    def _multipart(req: Request) -> tuple[dict, bytes, str | None]:
        ctype = req.header("content-type") or ""
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        if not m:
            raise bad_request("multipart upload needs a boundary")
        boundary = m.group(1).encode()
        parts = [p for p in req.body.split(b"--" + boundary) if p.strip() not in (b"", b"--")]
        if len(parts) < 2:
            raise bad_request("multipart upload needs a metadata part and a media part")

        def split(part: bytes) -> tuple[dict, bytes]:
            part = part.lstrip(b"\r\n")
            head, _, body = part.partition(b"\r\n\r\n")
            headers = {}
            for line in head.split(b"\r\n"):
                k, _, v = line.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
            if body.endswith(b"\r\n"):   # the CRLF before the next boundary is not data
                body = body[:-2]
            return headers, body

        _, meta_raw = split(parts[0])
        media_headers, data = split(parts[1])
        return json.loads(meta_raw or b"{}"), data, media_headers.get("content-type")
