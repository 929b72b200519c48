"""Cloud Storage through its JSON API, with the Vertex credential (no extra SDK).

Used to download Veo results written to ``storageUri``, to upload local
clips Vertex should read from ``gs://``, and for ``--upload-gcs``. The base
URL honours ``STORAGE_EMULATOR_HOST``, the variable Google's own storage
client uses for emulators.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mediagen.core import errors
from mediagen.transport.http import DownloadResult, HttpRequest, Transport
from mediagen.wire import endpoints


def download(uri: str, dest: Path, *, transport: Transport, auth: Any, base_url: str) -> DownloadResult:
    """Stream ``gs://bucket/object`` to ``dest`` (resumable, atomic)."""
    bucket, name = _split(uri)
    url = endpoints.gcs_object_url(endpoints.gcs_base(base_url), bucket, name)
    return transport.download(HttpRequest("GET", url, params={"alt": "media"}, label="gcs download"), dest, auth)


def upload(path: Path, uri_prefix: str, *, transport: Transport, auth: Any, base_url: str,
           content_type: str = "video/mp4", name: str | None = None) -> str:
    """Upload a local file under ``gs://bucket/prefix/`` and return its ``gs://`` URI."""
    bucket, prefix = _split(uri_prefix)
    object_name = name or (prefix.rstrip("/") + "/" + path.name if prefix else path.name).lstrip("/")
    url = endpoints.gcs_upload_url(endpoints.gcs_base(base_url), bucket)
    request = HttpRequest("POST", url, params={"uploadType": "media", "name": object_name},
                          headers={"Content-Type": content_type}, data=path.read_bytes(), label="gcs upload")
    doc = transport.send_json(request, auth)
    return f"gs://{doc.get('bucket', bucket)}/{doc.get('name', object_name)}"


def _split(uri: str) -> tuple[str, str]:
    try:
        return endpoints.split_gs_uri(uri)
    except ValueError as exc:
        raise errors.UsageError(str(exc), "Use a gs://bucket/path URI.") from exc
