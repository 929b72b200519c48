"""Cloud Storage's JSON API: object download and media upload requests, and the object resource.

``GET /storage/v1/b/{bucket}/o/{object}?alt=media`` reads an object's bytes;
``POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name={object}`` with
the bytes as the body writes one and answers the object resource
(``{"bucket", "name", ...}``).
"""
from __future__ import annotations

from typing import Any, Mapping

from mediagen.transport.http import HttpRequest
from mediagen.wire import endpoints


def download_request(base_url: str, bucket: str, name: str) -> HttpRequest:
    """Read the bytes of ``gs://bucket/name``."""
    url = endpoints.gcs_object_url(endpoints.gcs_base(base_url), bucket, name)
    return HttpRequest("GET", url, params={"alt": "media"}, label="gcs download")


def object_name(prefix: str, filename: str, name: str | None = None) -> str:
    """The object name for a file uploaded under ``prefix`` (``name`` overrides it)."""
    return name or (prefix.rstrip("/") + "/" + filename if prefix else filename).lstrip("/")


def upload_request(base_url: str, bucket: str, name: str, data: bytes, content_type: str) -> HttpRequest:
    """Write ``data`` as ``gs://bucket/name`` in one request (a simple media upload)."""
    url = endpoints.gcs_upload_url(endpoints.gcs_base(base_url), bucket)
    return HttpRequest("POST", url, params={"uploadType": "media", "name": name},
                       headers={"Content-Type": content_type}, data=data, label="gcs upload")


def object_uri(resource: Mapping[str, Any], bucket: str, name: str) -> str:
    """The ``gs://`` URI of an uploaded object, from its resource (falling back to what was asked)."""
    return f"gs://{resource.get('bucket', bucket)}/{resource.get('name', name)}"
