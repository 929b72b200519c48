"""The Gemini Files API's resumable upload and file resource: requests built and replies read.

Upload protocol (google-media-apis.md §10): ``POST /upload/{v}/files`` with
``X-Goog-Upload-Protocol: resumable`` and ``X-Goog-Upload-Command: start``
answers the session URL in the ``X-Goog-Upload-URL`` header; the bytes then go
in chunks with a running ``X-Goog-Upload-Offset`` and ``X-Goog-Upload-Command:
upload`` (``upload, finalize`` for the last one). ``X-Goog-Upload-Command:
query`` asks how many bytes the server holds (``X-Goog-Upload-Size-Received``).
The finished upload answers ``{"file": FileResource}`` (or the bare resource)
with ``X-Goog-Upload-Status: final``.
"""
from __future__ import annotations

from typing import Any, Mapping

from mediagen.transport.http import HttpRequest
from mediagen.wire import endpoints

SESSION_URL_HEADER = "X-Goog-Upload-URL"
SIZE_RECEIVED_HEADER = "X-Goog-Upload-Size-Received"
STATUS_HEADER = "X-Goog-Upload-Status"


def start_request(base_url: str, version: str, *, size: int, mime_type: str, display_name: str) -> HttpRequest:
    """Open a resumable upload of ``size`` bytes; the answer names the session URL."""
    url = f"{endpoints.gemini_root(base_url)}/upload/{version}/files"
    headers = {"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
               "X-Goog-Upload-Header-Content-Length": str(size),
               "X-Goog-Upload-Header-Content-Type": mime_type, "Content-Type": "application/json"}
    return HttpRequest("POST", url, headers=headers, json={"file": {"displayName": display_name}},
                       label="files.upload (start)")


def session_url(headers: Mapping[str, str]) -> str | None:
    """The upload session URL from the start reply's headers (None when a proxy dropped it)."""
    return headers.get(SESSION_URL_HEADER) or None


def chunk_request(session: str, offset: int, chunk: bytes, last: bool) -> HttpRequest:
    """Send ``chunk`` at ``offset``; the last one also finalizes the upload."""
    command = "upload, finalize" if last else "upload"
    headers = {"X-Goog-Upload-Command": command, "X-Goog-Upload-Offset": str(offset),
               "Content-Type": "application/octet-stream"}
    return HttpRequest("POST", session, headers=headers, data=chunk, label=f"files.upload ({command})")


def query_request(session: str) -> HttpRequest:
    """Ask how many bytes of the upload the server holds (to resume after a failed chunk)."""
    return HttpRequest("POST", session, headers={"X-Goog-Upload-Command": "query"}, label="files.upload (query)")


def size_received(headers: Mapping[str, str]) -> int | None:
    """The byte count from a query reply, or None when the header is missing or not a number."""
    received = headers.get(SIZE_RECEIVED_HEADER)
    return int(received) if received is not None and received.isdigit() else None


def upload_status(headers: Mapping[str, str]) -> str:
    """The upload state from the last chunk's reply (``final`` when the header is absent)."""
    return (headers.get(STATUS_HEADER) or "final").lower()


def file_resource(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The file resource from the finished upload's body (``{"file": ...}`` or the bare resource)."""
    return dict(doc.get("file") or doc)


def get_request(base_url: str, version: str, name: str) -> HttpRequest:
    """``GET files/ID``: the file resource, with its processing ``state``."""
    return HttpRequest("GET", endpoints.gemini_url(base_url, version, name), label="files.get")


def file_state(resource: Mapping[str, Any]) -> str | None:
    """``PROCESSING``, ``ACTIVE`` or ``FAILED`` (None when the resource has no state)."""
    return resource.get("state")


def download_url(base_url: str, version: str, name: str) -> str:
    """``/download/{v}/files/{id}:download`` for a generated file (add ``alt=media``)."""
    file_id = name.removeprefix("files/")
    return f"{endpoints.gemini_root(base_url)}/download/{version}/files/{file_id}:download"
