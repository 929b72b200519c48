"""Where inputs were uploaded, so each is uploaded once: one small JSON file per (sha256, backend, destination).

The files live in ``<per-user cache folder>/uploads`` (decision 0006): losing
them costs only a new upload, never money. Each entry is written atomically
under its own file lock, so runs at the same time (batch items, storyboard
shots, several scripts) upload an input once and share the copy. An entry
names the uploaded copy (a Files API file or a ``gs://`` object) and, for the
Files API, when Google deletes it (48 h after the upload).
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from mediagen.config.settings import Settings
from mediagen.core.files import atomic_write_text, file_lock
from mediagen.core.paths import user_cache_dir

LOCK_TIMEOUT_S = 600.0       # a large upload on a slow link holds the lock this long at most


@dataclass(frozen=True)
class UploadKey:
    """One input's copy on one backend: its sha256, the backend, and a digest of where the copy lives."""

    sha256: str
    backend: str
    scope: str

    def name(self) -> str:
        """The entry's file name (without suffix)."""
        return f"{self.backend}-{self.sha256[:40]}-{self.scope}"


@dataclass(frozen=True)
class Upload:
    """An uploaded copy: the URI to send, the resource name (Files API), and when it expires (epoch, or None)."""

    uri: str
    name: str | None = None
    expires_epoch: float | None = None

    def usable(self, margin_s: float, now: float | None = None) -> bool:
        """Whether the copy still exists ``margin_s`` from now (copies without an expiry always do)."""
        if self.expires_epoch is None:
            return True
        return (time.time() if now is None else now) + margin_s < self.expires_epoch

    def to_json(self, key: UploadKey) -> dict[str, Any]:
        """The entry as written to disk."""
        return {"schema": 1, "sha256": key.sha256, "backend": key.backend, "uri": self.uri, "name": self.name,
                "expires_epoch": self.expires_epoch, "uploaded_epoch": time.time()}


class UploadCache:
    """Upload entries as ``<folder>/<key>.json`` with ``<key>.lock`` beside each."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @contextmanager
    def locked(self, key: UploadKey) -> Iterator[None]:
        """Hold the entry's lock: one process uploads a given input at a time; the others then reuse its copy."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with file_lock(self.folder / f"{key.name()}.lock", timeout=LOCK_TIMEOUT_S):
            yield

    def get(self, key: UploadKey) -> Upload | None:
        """The recorded copy, or None (an unreadable entry counts as none: the input is uploaded again)."""
        try:
            doc = json.loads((self.folder / f"{key.name()}.json").read_text(encoding="utf-8"))
            expires = doc.get("expires_epoch")
            return Upload(str(doc["uri"]), doc.get("name"), float(expires) if expires is not None else None)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(self, key: UploadKey, upload: Upload) -> None:
        """Record a copy (atomically; readable by the owner only)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.folder / f"{key.name()}.json", json.dumps(upload.to_json(key), indent=2) + "\n",
                          private=True)


def cache_for(settings: Settings) -> UploadCache:
    """The cache in the per-user cache folder (``$XDG_CACHE_HOME/mediagen/uploads``)."""
    return UploadCache(user_cache_dir(settings.env) / "uploads")
