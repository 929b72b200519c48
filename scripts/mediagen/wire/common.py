"""Types the wire builders take and the wire parsers return."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from mediagen.core.redaction import redact_text

from mediagen.wire.blobs import Blob

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

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else None

    @property
    def b64(self) -> str:
        return base64.b64encode(self.data or b"").decode("ascii")

    def describe(self) -> dict[str, Any]:
        """Sidecar/stdout view: no bytes, just what identifies the input."""
        doc: dict[str, Any] = {"source": redact_text(self.source), "mime_type": self.mime_type}
        if self.data is not None:
            doc.update({"bytes": len(self.data), "sha256": self.sha256})
        if self.gcs_uri:
            doc["gcs_uri"] = self.gcs_uri
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
