"""Write a returned media payload (base64 string, spooled blob, or data: URI) to its file.

Decoding streams into a temp file next to the destination while hashing; the
temp file must pass the media check (``mediagen.ops.mediacheck``) before it is
renamed over the reserved name: memory stays at one chunk, a crash never leaves
a partial file under the final name, and garbage never gets one.
"""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import IO, Any

from mediagen.core import errors
from mediagen.core.files import atomic_path
from mediagen.ops.mediacheck import check_media
from mediagen.wire.common import MediaPayload


class _HashingWriter:
    """A file wrapper that hashes and counts what is written."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def save_payload(payload: MediaPayload, path: Path) -> dict[str, Any]:
    """Decode ``payload`` into ``path`` once its bytes pass the media check (``BadReply`` otherwise).

    Returns path, MIME type, size, sha256 and (images) pixel size.
    """
    if payload.data is None:
        raise errors.GenerationFailed(f"the result is stored remotely ({payload.uri}), not inline",
                                      "Download it from that location.")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            writer = write_payload(payload, handle)
        facts = check_media(tmp, payload.mime_type)
    return {"path": str(path), "mime_type": payload.mime_type, "bytes": writer.size,
            "sha256": writer.digest.hexdigest(), **facts}


def write_payload(payload: MediaPayload, handle: IO[bytes]) -> _HashingWriter:
    """Decode an inline payload into ``handle``; the returned writer knows its size and sha256."""
    writer = _HashingWriter(handle)
    data = payload.data
    if isinstance(data, str):
        writer.write(base64.b64decode(data))
    elif data is not None:
        data.decode_to(writer)
    return writer
