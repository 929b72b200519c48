"""Write a returned media payload (base64 string, spooled blob, or data: URI) to its file.

Decoding streams into a temp file next to the destination while hashing, then
the temp file is renamed over the reserved name: memory stays at one chunk and
a crash never leaves a partial file under the final name.
"""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import IO, Any

from mediagen.core import errors
from mediagen.core.files import atomic_output
from mediagen.ops.pixelsize import header_size
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
    """Decode ``payload`` into ``path``; return path, MIME type, size, sha256 and (images) pixel size."""
    if payload.data is None:
        raise errors.GenerationFailed(f"the result is stored remotely ({payload.uri}), not inline",
                                      "Download it from that location.")
    with atomic_output(path) as handle:
        writer = _HashingWriter(handle)
        data = payload.data
        if isinstance(data, str):
            writer.write(base64.b64decode(data))
        else:
            data.decode_to(writer)
    info: dict[str, Any] = {"path": str(path), "mime_type": payload.mime_type, "bytes": writer.size,
                            "sha256": writer.digest.hexdigest()}
    if payload.mime_type.startswith("image/"):
        info["width"], info["height"] = _pixel_size(path)
    return info


def _pixel_size(path: Path) -> tuple[int | None, int | None]:
    if (size := header_size(path)) is not None:      # the common formats, without importing Pillow
        return size
    from PIL import Image

    try:
        with Image.open(path) as image:     # reads only the header
            return image.size
    except Exception:  # noqa: BLE001 - an unreadable image still gets saved; the size is unknown
        return None, None
