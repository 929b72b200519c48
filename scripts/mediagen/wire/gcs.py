"""Cloud Storage's JSON API: object download and media upload requests, and the object resource.

``GET /storage/v1/b/{bucket}/o/{object}?alt=media`` reads an object's bytes
(without ``alt=media``, its resource); ``GET /storage/v1/b/{bucket}/o?prefix=``
lists objects;
``POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name={object}`` with
the bytes as the body writes one and answers the object resource
(``{"bucket", "name", ...}``).
"""
from __future__ import annotations

from typing import Any, Mapping

from mediagen.transport.bodies import FileBody
from mediagen.transport.http import HttpRequest
from mediagen.wire import endpoints


def download_request(base_url: str, bucket: str, name: str) -> HttpRequest:
    """Read the bytes of ``gs://bucket/name``."""
    url = endpoints.gcs_object_url(endpoints.gcs_base(base_url), bucket, name)
    return HttpRequest("GET", url, params={"alt": "media"}, label="gcs download")


def object_name(prefix: str, filename: str, name: str | None = None) -> str:
    """The object name for a file uploaded under ``prefix`` (``name`` overrides it)."""
    return name or (prefix.rstrip("/") + "/" + filename if prefix else filename).lstrip("/")


def object_request(base_url: str, bucket: str, name: str) -> HttpRequest:
    """Read the resource (metadata) of ``gs://bucket/name``; a 404 means it does not exist."""
    return HttpRequest("GET", endpoints.gcs_object_url(endpoints.gcs_base(base_url), bucket, name),
                       label="gcs object")


def list_request(base_url: str, bucket: str, prefix: str, page_token: str | None = None) -> HttpRequest:
    """List the objects of ``bucket`` whose names start with ``prefix`` (one page)."""
    params = {"prefix": prefix, **({"pageToken": page_token} if page_token else {})}
    return HttpRequest("GET", endpoints.gcs_list_url(endpoints.gcs_base(base_url), bucket), params=params,
                       label="gcs list")


def listed_names(page: Mapping[str, Any]) -> list[str]:
    """The object names of one listing page."""
    return [str(item["name"]) for item in page.get("items") or [] if isinstance(item, dict) and item.get("name")]


def next_page(page: Mapping[str, Any]) -> str | None:
    """The token of the next listing page, or None on the last one."""
    token = page.get("nextPageToken")
    return str(token) if token else None


def upload_request(base_url: str, bucket: str, name: str, data: bytes | FileBody, content_type: str) -> HttpRequest:
    """Write ``data`` (bytes, or a file streamed from disk) as ``gs://bucket/name`` in one request (a media upload)."""
    url = endpoints.gcs_upload_url(endpoints.gcs_base(base_url), bucket)
    return HttpRequest("POST", url, params={"uploadType": "media", "name": name},
                       headers={"Content-Type": content_type}, data=data, label="gcs upload")


def object_uri(resource: Mapping[str, Any], bucket: str, name: str) -> str:
    """The ``gs://`` URI of an uploaded object, from its resource (falling back to what was asked)."""
    return f"gs://{resource.get('bucket', bucket)}/{resource.get('name', name)}"
