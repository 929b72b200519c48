"""Inputs too large to send inline: uploaded once (Files API or the ``gcs_bucket``) and sent by reference.

Inline limits (google-media-apis.md §1.3): a Gemini API request may hold at
most 100 MB, a Vertex request an inline image of at most 7 MB (30 MB by
``gs://`` reference); the ``inline_max_mb`` setting can lower both.
``plan_uploads`` (free, while planning) marks the inputs that go by reference
and refuses a Vertex input over the limit when no bucket is configured (exit
3, before anything is sent). ``stage`` (when a run starts) uploads each marked
input once: the upload cache (``ops.uploadcache``), keyed by the input's
sha256, the backend and where the copy lives (the API key's project, or the
bucket), finds earlier copies across ``--count``, batch items, storyboard
shots and runs. A Files API copy is uploaded again when its 48 hours are
nearly over, and a cached copy is checked to exist (once per process, or per
ten minutes in a long-lived one) before it is reused. Uploads are free, so the transport's ordinary retries apply.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
import time
from typing import TYPE_CHECKING, Any

from mediagen.config.credentials import BackendChoice
from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.files import describe_os_error
from mediagen.transport.http import Transport
from mediagen.wire import endpoints
from mediagen.wire.common import MediaInput

if TYPE_CHECKING:
    from mediagen.ops.uploadcache import Upload, UploadKey

# The upload machinery (Files API, Cloud Storage, the upload cache) is imported by the functions that upload:
# most runs have no input over the limit, and every run pays for what it imports.

MB = 1024 * 1024
GEMINI_REQUEST_LIMIT = 100 * MB      # the whole generateContent request, base64 included
REQUEST_MARGIN = 1 * MB              # the prompt and the JSON around the images
VERTEX_INLINE_LIMIT = 7 * MB         # one inline image
FILES_API_TTL_S = 48 * 3600          # Google deletes uploaded files after 48 hours
EXPIRY_MARGIN_S = 3600.0             # a copy this close to its end is uploaded again, so no run sees it vanish
PENDING = "<uploaded when the run starts>"
INPUT_FOLDER = "mediagen-inputs"
VIA = {"gemini-api": "files-api", "vertex": "gcs"}

CHECK_AGAIN_S = 600.0                # a copy seen to exist is asked about again after this long (long-lived servers)
_checked: dict[tuple[str, str], float] = {}   # (entry, uri) -> when this process last saw the copy exist
_checked_lock = threading.Lock()


def plan_uploads(inputs: list[MediaInput], backend: str, settings: Settings) -> list[MediaInput]:
    """Mark the inputs that go by reference (``upload``); refuse Vertex ones without a bucket (exit 3).

    Free: nothing is sent. Returns the marked inputs.
    """
    if backend not in VIA:
        return []
    chosen = _over_limit([i for i in inputs if i.local and not i.gcs_uri], backend, settings)
    if chosen and backend == "vertex":
        bucket_prefix(settings, needed_for=chosen[0])
    for item in chosen:
        item.upload, item.file_uri = VIA[backend], PENDING
    return chosen


def _over_limit(inputs: list[MediaInput], backend: str, settings: Settings) -> list[MediaInput]:
    """Inputs over the per-input limit; on the Gemini API also the largest ones until the request fits."""
    each = VERTEX_INLINE_LIMIT if backend == "vertex" else GEMINI_REQUEST_LIMIT - REQUEST_MARGIN
    wanted = settings.get("inline_max_mb")
    if wanted is not None:
        each = min(each, int(float(wanted) * MB))
    chosen = [i for i in inputs if i.size > each]
    if backend == "gemini-api":
        rest = sorted((i for i in inputs if i not in chosen), key=lambda i: i.size, reverse=True)
        while rest and sum(_encoded(i) for i in rest) > GEMINI_REQUEST_LIMIT - REQUEST_MARGIN:
            chosen.append(rest.pop(0))
    return chosen


def _encoded(item: MediaInput) -> int:
    return 4 * ((item.size + 2) // 3)


def bucket_prefix(settings: Settings, *, needed_for: MediaInput | None = None, purpose: str = "") -> str:
    """The ``gcs_bucket`` setting (``gs://bucket[/prefix]``), or a ``ConfigError`` (exit 3) saying why it is needed."""
    value = str(settings.get("gcs_bucket") or "").strip()
    if value.startswith("gs://") and len(value) > 5:
        return value.rstrip("/")
    if value:
        raise errors.ConfigError(f"gcs_bucket ({settings.source('gcs_bucket')}) is not a gs:// URI",
                                 "Set it to gs://BUCKET or gs://BUCKET/PREFIX.")
    if needed_for is not None:
        size = needed_for.size / MB
        why = (f"input {needed_for.source} is {size:.1f} MB, over Vertex's {VERTEX_INLINE_LIMIT // MB} MB inline "
               "limit, and no bucket is configured to upload it to; nothing was sent")
    else:
        why = f"{purpose} needs a Cloud Storage bucket and none is configured; nothing was sent"
    raise errors.ConfigError(why, "Set gcs_bucket (MEDIAGEN_GCS_BUCKET=gs://BUCKET/PREFIX, or gcs_bucket: in the "
                                  "config file) to a bucket the Vertex credential can write"
                             + (", or shrink the image below 7 MB." if needed_for is not None else "."),
                             details={"setting": "gcs_bucket"})


# -- staging -------------------------------------------------------------------------------------------------

def stage(inputs: list[MediaInput], choice: BackendChoice, settings: Settings, transport: Transport,
          console: Console) -> bool:
    """Upload (or find an earlier copy of) every input marked for upload; True when any input was changed."""
    pending = [i for i in inputs if i.upload and i.file_uri in (None, PENDING)]
    for item in pending:
        item.file_uri = _staged(item, choice, settings, transport, console)
    return bool(pending)


def _staged(item: MediaInput, choice: BackendChoice, settings: Settings, transport: Transport,
            console: Console) -> str:
    """The URI of the input's uploaded copy: a cached one that still exists, else a new upload."""
    from mediagen.ops.uploadcache import UploadKey, cache_for

    key = UploadKey(item.sha256 or "", choice.backend, _scope(choice, settings))
    cache = cache_for(settings)
    with cache.locked(key):
        known = cache.get(key)
        if known is not None and known.usable(EXPIRY_MARGIN_S) and _exists(known, key, choice, settings, transport):
            console.info(f"input {item.source}: reusing the copy uploaded earlier ({known.uri})")
            return known.uri
        upload = _upload(item, choice, settings, transport, console)
        try:
            cache.put(key, upload)
        except OSError as exc:        # the copy works for this run; a later one uploads again
            console.warn(f"could not record the upload of {item.source} in {cache.folder}: {describe_os_error(exc)}")
        _remember(key, upload)
        return upload.uri


def _scope(choice: BackendChoice, settings: Settings) -> str:
    """Where a copy lives, as a short digest: the bucket (Vertex), or the API key and base URL (Gemini API)."""
    if choice.backend == "vertex":
        where = bucket_prefix(settings)
    else:
        where = f"{getattr(choice.credential.auth, 'key', '')}@{settings['gemini_base_url']}"
    return hashlib.sha256(where.encode("utf-8")).hexdigest()[:16]


def _exists(known: Upload, key: UploadKey, choice: BackendChoice, settings: Settings,
            transport: Transport) -> bool:
    """Whether a cached copy still exists (asked once per process; a deleted or expired copy is uploaded again)."""
    from mediagen.wire import files as files_wire
    from mediagen.wire import gcs as gcs_wire

    with _checked_lock:
        if time.monotonic() - _checked.get((key.name(), known.uri), -CHECK_AGAIN_S) < CHECK_AGAIN_S:
            return True
    try:
        if choice.backend == "vertex":
            bucket, name = endpoints.split_gs_uri(known.uri)
            transport.send_json(gcs_wire.object_request(settings["gcs_base_url"], bucket, name),
                                choice.credential.auth)
        else:
            resource = transport.send_json(files_wire.get_request(settings["gemini_base_url"],
                                                                  settings["gemini_api_version"], known.name or ""),
                                           choice.credential.auth)
            if files_wire.file_state(resource) not in (None, "ACTIVE"):
                return False
    except (errors.ClientError, ValueError):
        return False
    _remember(key, known)
    return True


def _remember(key: UploadKey, upload: Upload) -> None:
    with _checked_lock:
        _checked[(key.name(), upload.uri)] = time.monotonic()


def _upload(item: MediaInput, choice: BackendChoice, settings: Settings, transport: Transport,
            console: Console) -> Upload:
    size = item.size
    where = "the Files API" if choice.backend == "gemini-api" else bucket_prefix(settings)
    console.info(f"input {item.source}: uploading {size / MB:.1f} MB to {where} (once; later runs reuse it)")
    if choice.backend == "vertex":
        return _upload_gcs(item, choice, settings, transport)
    return _upload_files_api(item, choice, settings, transport)


def _upload_gcs(item: MediaInput, choice: BackendChoice, settings: Settings, transport: Transport) -> Upload:
    """Upload to ``<gcs_bucket>/mediagen-inputs/<sha256><ext>``: one object per content."""
    from mediagen.ops import gcs
    from mediagen.ops.uploadcache import Upload
    from mediagen.transport.bodies import FileBody

    suffix = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}.get(item.mime_type, "")
    uri = f"{bucket_prefix(settings)}/{INPUT_FOLDER}/{item.sha256}{suffix}"
    data = FileBody(item.path, item.mime_type) if item.data is None and item.path else item.content()
    return Upload(gcs.upload_data(data, uri, transport=transport, auth=choice.credential.auth,
                                  base_url=settings["gcs_base_url"], content_type=item.mime_type))


def _upload_files_api(item: MediaInput, choice: BackendChoice, settings: Settings, transport: Transport) -> Upload:
    """Upload through the Files API; the copy expires 48 h later (or when the resource says)."""
    from mediagen.ops import files_api
    from mediagen.ops.uploadcache import Upload
    from mediagen.wire import files as files_wire

    auth = choice.credential.auth
    name = f"mediagen-{(item.sha256 or '')[:16]}"
    if item.data is None and item.path is not None:      # a large local file: read in chunks, never whole
        resource = files_api.upload_file(item.path, mime_type=item.mime_type, display_name=name, settings=settings,
                                         transport=transport, auth=auth)
    else:
        resource = files_api.upload_stream(io.BytesIO(item.content()), item.size, mime_type=item.mime_type,
                                           display_name=name, settings=settings, transport=transport, auth=auth)
    if files_wire.file_state(resource) not in (None, "ACTIVE"):
        resource = files_api.wait_active(resource["name"], settings=settings, transport=transport, auth=auth)
    name = str(resource["name"])
    uri = resource.get("uri") or endpoints.gemini_url(settings["gemini_base_url"], settings["gemini_api_version"],
                                                      name)
    return Upload(str(uri), name, _expiry(resource))


def _expiry(resource: dict[str, Any]) -> float:
    """When Google deletes the file: its ``expirationTime``, else 48 h from now."""
    text = resource.get("expirationTime")
    if isinstance(text, str):
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return time.time() + FILES_API_TTL_S

