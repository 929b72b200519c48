"""Types the wire builders take and the wire parsers return."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediagen.core.redaction import redact_text
from mediagen.transport.bodies import Base64Of

from mediagen.wire.blobs import Blob

# Inputs above this size are base64-encoded only as the request body is written (transport.bodies).
STREAM_INLINE_ABOVE = 1 << 20

# finishReason values that mean "no image because of safety or policy" (HTTP 200, not an error).
BLOCKING_FINISH_REASONS = frozenset({
    "SAFETY", "PROHIBITED_CONTENT", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_OTHER", "NO_IMAGE",
    "IMAGE_RECITATION", "RECITATION", "BLOCKLIST", "SPII", "OTHER", "LANGUAGE"})


@dataclass
class MediaInput:
    """One input, ready to embed: bytes (or a ``gs://`` URI), its real MIME type, and provenance."""

    source: str
    mime_type: str
    data: bytes | None = None
    gcs_uri: str | None = None
    notes: list[str] = field(default_factory=list)
    original_sha256: str | None = None
    # An input too large to send inline goes by reference: ``upload`` says where it is uploaded before the run
    # ("files-api" or "gcs"), ``file_uri`` is the uploaded copy (a Files API URI or a gs:// URI).
    upload: str | None = None
    file_uri: str | None = None
    # A large local file is read again when it is sent (``data`` stays None): memory stays flat.
    path: Path | None = None

    @property
    def sha256(self) -> str | None:
        if self.data is None:
            return self.original_sha256 if self.path is not None else None
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        """The number of bytes (0 for a ``gs://`` reference)."""
        if self.data is not None:
            return len(self.data)
        return self.path.stat().st_size if self.path is not None else 0

    @property
    def local(self) -> bool:
        """Whether mediagen holds the bytes (in memory or in a local file), rather than a ``gs://`` reference."""
        return self.data is not None or self.path is not None

    def content(self) -> bytes:
        """The bytes, read from the file for a large local input."""
        if self.data is None and self.path is not None:
            return self.path.read_bytes()
        return self.data or b""

    @property
    def b64(self) -> str:
        return base64.b64encode(self.content()).decode("ascii")

    def inline_data(self) -> str | Base64Of:
        """The base64 of the bytes for a JSON body: a string, or for a large input a ``Base64Of`` written later."""
        if self.local and self.size > STREAM_INLINE_ABOVE:
            return Base64Of(self.data if self.data is not None else self.path)      # type: ignore[arg-type]
        return self.b64

    def describe(self) -> dict[str, Any]:
        """Sidecar/stdout view: no bytes, just what identifies the input."""
        doc: dict[str, Any] = {"source": redact_text(self.source), "mime_type": self.mime_type}
        if self.local:
            doc.update({"bytes": self.size, "sha256": self.sha256})
        if self.gcs_uri:
            doc["gcs_uri"] = self.gcs_uri
        if self.upload:
            doc["uploaded"] = {"via": self.upload, "uri": self.file_uri}
        if self.original_sha256 and self.original_sha256 != self.sha256:
            doc["original_sha256"] = self.original_sha256
        if self.notes:
            doc["notes"] = list(self.notes)
        return doc


@dataclass
class MediaPayload:
    """One returned image or video: its MIME type and base64 payload (``Blob`` or str) or a URI."""

    mime_type: str
    data: Blob | str | None = None
    uri: str | None = None


@dataclass
class GenerationOutcome:
    """What a generation call returned, ready to save or to explain."""

    media: list[MediaPayload] = field(default_factory=list)
    text: str = ""
    finish_reason: str | None = None
    block_reason: str | None = None
    filtered_reasons: list[str] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    model_version: str | None = None
    response_id: str | None = None
    skipped_thoughts: int = 0
    content: dict[str, Any] | None = None     # the model turn as returned (generateContent), for multi-turn

    @property
    def blocked(self) -> bool:
        return not self.media

    def reason(self) -> str:
        """The most specific reason for an empty result."""
        if self.block_reason:
            return f"prompt blocked: {self.block_reason}"
        if self.filtered_reasons:
            return "; ".join(self.filtered_reasons)
        if self.finish_reason and self.finish_reason != "STOP":
            return f"finish reason {self.finish_reason}"
        return "the model returned no media"
