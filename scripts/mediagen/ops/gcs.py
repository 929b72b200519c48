"""Cloud Storage through its JSON API, with the Vertex credential (no extra SDK).

Used to download Veo results written to ``storageUri``, to upload local
clips Vertex should read from ``gs://``, for ``--upload-gcs``, for inputs
over Vertex's inline limit, and for batch prediction's JSONL files. The base
URL honours ``STORAGE_EMULATOR_HOST``, the variable Google's own storage
client uses for emulators.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from mediagen.core import errors
from mediagen.transport.bodies import FileBody
from mediagen.transport.http import DownloadResult, Transport
from mediagen.wire import endpoints
from mediagen.wire import gcs as gcs_wire


def download(uri: str, dest: Path, *, transport: Transport, auth: Any, base_url: str,
             check: Callable[[Path, str | None], None] | None = None) -> DownloadResult:
    """Stream ``gs://bucket/object`` to ``dest`` (resumable, atomic; ``check`` vets it before the rename)."""
    bucket, name = _split(uri)
    return transport.download(gcs_wire.download_request(base_url, bucket, name), dest, auth, check=check)


def upload(path: Path, uri_prefix: str, *, transport: Transport, auth: Any, base_url: str,
           content_type: str = "video/mp4", name: str | None = None) -> str:
    """Upload a local file under ``gs://bucket/prefix/`` and return its ``gs://`` URI."""
    bucket, prefix = _split(uri_prefix)
    object_name = gcs_wire.object_name(prefix, path.name, name)
    request = gcs_wire.upload_request(base_url, bucket, object_name, FileBody(Path(path), content_type), content_type)
    return gcs_wire.object_uri(transport.send_json(request, auth), bucket, object_name)


def upload_data(data: bytes | FileBody, uri: str, *, transport: Transport, auth: Any, base_url: str,
                content_type: str) -> str:
    """Write ``data`` (bytes, or a file sent from disk) as the object ``gs://bucket/name``; return its URI."""
    bucket, name = _split(uri)
    request = gcs_wire.upload_request(base_url, bucket, name, data, content_type)
    return gcs_wire.object_uri(transport.send_json(request, auth), bucket, name)


def list_objects(uri_prefix: str, *, transport: Transport, auth: Any, base_url: str) -> list[str]:
    """The ``gs://`` URIs of every object whose name starts with the prefix of ``gs://bucket/prefix``."""
    bucket, prefix = _split(uri_prefix)
    found: list[str] = []
    token: str | None = None
    while True:
        page = transport.send_json(gcs_wire.list_request(base_url, bucket, prefix, token), auth)
        found += [f"gs://{bucket}/{name}" for name in gcs_wire.listed_names(page)]
        token = gcs_wire.next_page(page)
        if not token:
            return found


def _split(uri: str) -> tuple[str, str]:
    try:
        return endpoints.split_gs_uri(uri)
    except ValueError as exc:
        raise errors.UsageError(str(exc), "Use a gs://bucket/path URI.") from exc
