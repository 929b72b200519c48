"""The Gemini Files API: resumable uploads (Batch API input files, inputs too large to send inline) and file state.

The protocol's requests and replies are in ``mediagen.wire.files``; this module
sends them. The bytes go in chunks (8 MiB, the SDK's size). A chunk that fails
is resumed from what the server says it received, never re-sent blindly.
Uploads are free, so the transport's ordinary retry policy applies.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, BinaryIO, Callable

from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.transport.http import Transport
from mediagen.wire import files as files_wire

CHUNK_BYTES = 8 * 1024 * 1024
MAX_RESUMES = 3
ACTIVE_POLLS = 30


def upload_file(path: Path, *, mime_type: str, display_name: str, settings: Settings, transport: Transport,
                auth: Any, chunk_bytes: int = CHUNK_BYTES) -> dict[str, Any]:
    """Upload ``path`` and return the file resource (``name`` is ``files/ID``)."""
    path = Path(path)
    with open(path, "rb") as handle:
        return upload_stream(handle, path.stat().st_size, mime_type=mime_type, display_name=display_name,
                             settings=settings, transport=transport, auth=auth, chunk_bytes=chunk_bytes)


def upload_stream(handle: BinaryIO, size: int, *, mime_type: str, display_name: str, settings: Settings,
                  transport: Transport, auth: Any, chunk_bytes: int = CHUNK_BYTES) -> dict[str, Any]:
    """Upload ``size`` bytes read from a seekable ``handle`` (chunk by chunk) and return the file resource."""
    session = _start(size, mime_type, display_name, settings, transport, auth)
    resource = _send_chunks(handle, size, session, transport, auth, max(1, int(chunk_bytes)))
    if not resource.get("name"):
        raise errors.ServerError("the Files API upload finished without a file name",
                                 "Retry the run; nothing was billed.")
    return resource


def _start(size: int, mime_type: str, display_name: str, settings: Settings, transport: Transport,
           auth: Any) -> str:
    request = files_wire.start_request(settings["gemini_base_url"], settings["gemini_api_version"], size=size,
                                       mime_type=mime_type, display_name=display_name)
    session = files_wire.session_url(transport.send(request, auth).headers)
    if not session:
        raise errors.ServerError("the Files API did not return an upload URL",
                                 "Check GOOGLE_GEMINI_BASE_URL (a proxy may drop X-Goog-Upload-* headers).")
    return session


def _send_chunks(handle: BinaryIO, size: int, session: str, transport: Transport, auth: Any,
                 chunk_bytes: int) -> dict[str, Any]:
    offset, resumes = 0, 0
    while True:
        handle.seek(offset)
        chunk = handle.read(chunk_bytes)
        last = offset + len(chunk) >= size
        try:
            response = transport.send(files_wire.chunk_request(session, offset, chunk, last), auth)
        except (errors.ServerError, errors.NetworkError, errors.RequestTimeout, errors.ClientError) as exc:
            if isinstance(exc, errors.AuthError) or resumes >= MAX_RESUMES:
                raise
            resumes += 1
            offset = _received(session, transport, auth, exc)
            continue
        offset += len(chunk)
        if last:
            return _final_resource(response)


def _received(session: str, transport: Transport, auth: Any, cause: errors.MediagenError) -> int:
    """How many bytes the server holds (to resume after a failed chunk)."""
    received = files_wire.size_received(transport.send(files_wire.query_request(session), auth).headers)
    if received is None:
        raise cause
    return received


def _final_resource(response: Any) -> dict[str, Any]:
    status = files_wire.upload_status(response.headers)
    if status != "final":
        raise errors.ServerError(f"the upload ended in state {status!r}, not final",
                                 "Retry the run; nothing was billed.")
    try:
        doc = response.json()
    except ValueError as exc:
        raise errors.ServerError("the finished upload returned no JSON file resource",
                                 "Retry the run; nothing was billed.") from exc
    return files_wire.file_resource(doc)


def wait_active(name: str, *, settings: Settings, transport: Transport, auth: Any,
                sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll ``files/ID`` until it is ACTIVE (JSONL files normally are at once)."""
    request = files_wire.get_request(settings["gemini_base_url"], settings["gemini_api_version"], name)
    resource: dict[str, Any] = {}
    for _ in range(ACTIVE_POLLS):
        resource = transport.send_json(request, auth)
        state = files_wire.file_state(resource)
        if state in (None, "ACTIVE"):
            return resource
        if state == "FAILED":
            raise errors.GenerationFailed(f"the uploaded file {name} failed processing",
                                          "Check the JSONL input, then run again (nothing was billed).")
        sleep(1.0)
    raise errors.RequestTimeout(f"the uploaded file {name} is still {resource.get('state')}",
                                "Try again in a minute; nothing was billed.")


def download_url(settings: Settings, name: str) -> str:
    """``/download/{v}/files/{id}:download`` for a generated file (add ``alt=media``)."""
    return files_wire.download_url(settings["gemini_base_url"], settings["gemini_api_version"], name)
