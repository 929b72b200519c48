"""A finished job's results fetched into reserved names, surviving kills.

Before anything is fetched, each result's final path is chosen and stored in
the job record (``planned``), and the ``.part`` file beside it is created: that
file is the reservation, so no 0-byte file ever sits under a final name. A
name is free only when nothing exists there, it has no sidecar, no ``.part``,
and no other unfinished job planned it. A download grows its ``.part`` (a
later run continues it with an HTTP Range request) and is renamed into place
only when complete, so after success no partial file remains; a process killed
at any point leaves a job that ``jobs.py wait``/``download`` finishes into the
same name. A paid result whose destination fails (a full disk) raises
``Unsaved``; inline bytes are kept in the rescue folder on the spot.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

from mediagen.config.credentials import BackendChoice
from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.files import partial_path
from mediagen.ops import frames, gcs
from mediagen.ops.jobstore import JobStore, VideoJob
from mediagen.ops.mediacheck import check_media
from mediagen.ops.output import extension_for, sidecar_path
from mediagen.ops.payloads import write_payload
from mediagen.ops.providers import OmniProvider, provider_for
from mediagen.ops.rescue import rescue
from mediagen.transport.http import HttpRequest, Transport
from mediagen.wire import interactions as omni_wire
from mediagen.wire.common import MediaPayload

GEMINI_FILE_RETENTION = dt.timedelta(days=2)
FILE_ACTIVE_POLLS = 30
HASH_CHUNK = 1 << 20


class Unsaved(Exception):
    """A paid result whose destination failed (``error``); inline bytes are rescued on the spot."""

    def __init__(self, target: Path, error: OSError, payload: MediaPayload, env: Mapping[str, str]) -> None:
        super().__init__(str(error))
        self.target = target
        self.error = error
        self.remote = payload.uri
        self.rescued = None
        if payload.data is not None:
            self.rescued = rescue(lambda handle: write_payload(payload, handle), target.name, env)


def save_results(record: VideoJob, media: list[MediaPayload], store: JobStore, settings: Settings,
                 transport: Transport, choice: BackendChoice, console: Console) -> list[dict[str, Any]]:
    """Fetch every result into its planned name (planned now, or by an earlier, killed run)."""
    paths = planned_paths(record, media, store, settings)
    upload = record.output.get("upload_gcs")
    videos = []
    for payload, path in zip(media, paths):
        try:
            info = _saved_before(path, payload) or fetch(payload, path, record, settings, transport, choice)
        except OSError as exc:
            raise Unsaved(path, exc, payload, settings.env) from exc
        info["duration_s"] = frames.duration_or_none(path)
        if upload:
            _upload(info, path, upload, settings, transport, choice, console)
        console.info(f"saved {path} ({info['bytes']} bytes)")
        videos.append(info)
    return videos


def _upload(info: dict[str, Any], path: Path, target: str, settings: Settings, transport: Transport,
            choice: BackendChoice, console: Console) -> None:
    """``--upload-gcs``: a refusal now is a warning, not a failure: the video is paid for and saved."""
    try:
        info["gcs_uri"] = gcs.upload(path, target, transport=transport, auth=choice.credential.auth,
                                     base_url=settings["gcs_base_url"])
    except errors.MediagenError as exc:
        console.warn(f"the video is saved at {path} but uploading it to {target} failed ({exc.message}); copy it "
                     "there yourself (gcloud storage cp): generating it again would be billed again")
        return
    console.info(f"uploaded {path.name} to {info['gcs_uri']}")


def planned_paths(record: VideoJob, media: list[MediaPayload], store: JobStore, settings: Settings) -> list[Path]:
    """The final paths of the job's results: the ones recorded earlier, else fresh ones, recorded now."""
    if record.planned and len(record.planned) == len(media):
        return [Path(p) for p in record.planned]
    folder, stem = Path(record.output["folder"]), record.output["stem"]
    taken = store.planned_elsewhere(record.job_id)
    paths: list[Path] = []
    try:
        for index, payload in enumerate(media, start=1):
            name = stem if len(media) == 1 else f"{stem}-{index}"
            paths.append(reserve(folder, name, extension_for(payload.mime_type, ".mp4"), taken))
    except OSError as exc:
        raise Unsaved(folder / stem, exc, media[len(paths)], settings.env) from exc
    store.update(record.job_id, planned=[str(p) for p in paths])
    return paths


def reserve(folder: Path, stem: str, suffix: str, taken: set[Path]) -> Path:
    """The first free ``stem[-n]suffix`` in ``folder``, reserved by creating its ``.part`` exclusively."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        path = folder / f"{stem if n == 1 else f'{stem}-{n}'}{suffix}"
        if path.exists() or sidecar_path(path).exists() or path in taken:
            continue
        try:
            os.close(os.open(partial_path(path), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free name for {stem}{suffix} in {folder}")


def _saved_before(path: Path, payload: MediaPayload) -> dict[str, Any] | None:
    """A result an earlier run completed (renamed into place) before it was killed, else None."""
    if not path.is_file() or partial_path(path).exists():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
            digest.update(chunk)
    info: dict[str, Any] = {"path": str(path), "mime_type": payload.mime_type, "bytes": path.stat().st_size,
                            "sha256": digest.hexdigest()}
    if payload.uri:
        info["remote"] = _remote(payload.uri)
    return info


def fetch(payload: MediaPayload, path: Path, record: VideoJob, settings: Settings, transport: Transport,
          choice: BackendChoice) -> dict[str, Any]:
    """Write one result to ``path`` through its ``.part``: inline bytes, a gs:// object, or a Gemini file.

    A result Google no longer holds (404: Gemini files are kept 2 days) is ``ResultExpired``.
    """
    if payload.data is not None:
        return _save_inline(payload, path)
    try:
        return _fetch_remote(payload, path, record, settings, transport, choice)
    except errors.NotFoundError as exc:
        raise errors.ResultExpired(f"the result {payload.uri} is gone from Google's side ({exc.message})",
                                   details={"uri": payload.uri}) from exc


def _fetch_remote(payload: MediaPayload, path: Path, record: VideoJob, settings: Settings, transport: Transport,
                  choice: BackendChoice) -> dict[str, Any]:
    """A gs:// object or a Gemini file, downloaded and checked before it takes its final name."""
    uri = payload.uri or ""

    def check(part: Path, content_type: str | None) -> None:
        check_media(part, payload.mime_type)

    if uri.startswith("gs://"):
        done = gcs.download(uri, path, transport=transport, auth=choice.credential.auth,
                            base_url=settings["gcs_base_url"], check=check)
    else:
        auth = choice.credential.auth if _trusted(uri, settings) else None
        if isinstance(provider_for(record.model.get("family"), record.model["id"]), OmniProvider):
            _wait_file_active(uri, settings, transport, auth)
        done = transport.download(HttpRequest("GET", uri, label="video download"), path, auth, check=check)
    return {"path": str(path), "mime_type": payload.mime_type, "bytes": done.size, "sha256": done.sha256,
            "remote": _remote(uri)}


def forget_partials(record: VideoJob) -> None:
    """Remove the partial downloads of a job that will never complete (its results expired)."""
    for planned in record.planned or []:
        try:
            partial_path(Path(planned)).unlink(missing_ok=True)
        except OSError:
            pass


def _remote(uri: str) -> dict[str, Any]:
    if uri.startswith("gs://"):
        return {"gcs_uri": uri}
    expires = (dt.datetime.now(dt.timezone.utc) + GEMINI_FILE_RETENTION).isoformat(timespec="seconds")
    return {"uri": uri, "expires": expires}


def _save_inline(payload: MediaPayload, path: Path) -> dict[str, Any]:
    """Decode inline bytes into the reservation (``.part``), then rename it into place."""
    part = partial_path(path)
    with open(part, "wb") as handle:
        writer = write_payload(payload, handle)
    try:
        check_media(part, payload.mime_type)
    except errors.BadReply:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, path)
    return {"path": str(path), "mime_type": payload.mime_type, "bytes": writer.size,
            "sha256": writer.digest.hexdigest()}


def _trusted(uri: str, settings: Settings) -> bool:
    """Send the API key only to Google (or to the configured Gemini base URL's host)."""
    host = urlparse(uri).hostname or ""
    base = urlparse(settings["gemini_base_url"] or "").hostname or ""
    return host == base or host.endswith(".googleapis.com")


def _wait_file_active(uri: str, settings: Settings, transport: Transport, auth: Any) -> None:
    """Files-API results must be ACTIVE before download."""
    file_id = omni_wire.file_id_from_uri(uri)
    if not file_id or auth is None:
        return
    parsed = urlparse(uri)
    version = parsed.path.strip("/").split("/")[0] or settings["gemini_api_version"]
    url = f"{parsed.scheme}://{parsed.netloc}/{version}/files/{file_id}"
    for _ in range(FILE_ACTIVE_POLLS):
        state = transport.send_json(HttpRequest("GET", url, label="files.get"), auth).get("state")
        if state in (None, "ACTIVE"):
            return
        if state == "FAILED":
            raise errors.GenerationFailed("the generated file failed processing on Google's side",
                                          "Generate again; failed files are not billed.")
        time.sleep(1.0)
