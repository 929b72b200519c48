"""CLIProxyAPI's OpenAI-compatible ``/v1/chat/completions`` for Gemini image models.

The proxy only understands ``data:`` URIs for input images (it silently drops
http URLs), maps ``modalities`` and ``image_config`` onto Gemini's fields, and
returns images as ``data:`` URIs in ``choices[].message.images[]``. A blocked
prompt comes back as ``choices: []``; thought images are not filtered by the
proxy, so only the last image is kept.
"""
from __future__ import annotations

from typing import Any, Iterable

from mediagen.wire.blobs import Blob
from mediagen.wire.common import GenerationOutcome, MediaInput, MediaPayload


def build_request(model: str, prompt: str, images: Iterable[MediaInput], *, aspect_ratio: str | None = None,
                  image_size: str | None = None) -> dict[str, Any]:
    """The JSON body of a chat-completions image request."""
    images = list(images)
    if images:
        content: Any = [{"type": "text", "text": prompt}] + [
            {"type": "image_url", "image_url": {"url": f"data:{i.mime_type};base64,{i.b64}"}} for i in images]
    else:
        content = prompt
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": content}],
                            "modalities": ["image", "text"], "stream": False}
    image_config = {k: v for k, v in (("aspect_ratio", aspect_ratio), ("image_size", image_size)) if v}
    if image_config:
        body["image_config"] = image_config
    return body


def parse_response(doc: dict[str, Any]) -> GenerationOutcome:
    """The last image of the first choice, the text, and why nothing came back when blocked."""
    outcome = GenerationOutcome(usage=doc.get("usage") or {}, model_version=doc.get("model"),
                                response_id=doc.get("id"))
    choices = doc.get("choices") or []
    if not choices:
        outcome.block_reason = "the proxy returned no choices (prompt blocked upstream)"
        return outcome
    choice = choices[0]
    message = choice.get("message") or {}
    reason = choice.get("native_finish_reason") or choice.get("finish_reason")
    outcome.finish_reason = reason.upper() if isinstance(reason, str) else None
    outcome.text = message.get("content") or "" if isinstance(message.get("content"), str) else ""
    images = [img for img in message.get("images") or [] if isinstance(img, dict)]
    if images:
        outcome.skipped_thoughts = len(images) - 1
        url = (images[-1].get("image_url") or {}).get("url")
        payload = _from_data_uri(url)
        if payload:
            outcome.media.append(payload)
    return outcome


def _from_data_uri(url: Any) -> MediaPayload | None:
    """``data:image/png;base64,...`` (possibly a ``Blob``) -> payload with the header stripped."""
    if isinstance(url, Blob):
        header = url.prefix.split(",", 1)[0]
        return MediaPayload(_mime(header), DataUriBlob(url, len(header) + 1))
    if isinstance(url, str) and url.startswith("data:") and "," in url:
        header, data = url.split(",", 1)
        return MediaPayload(_mime(header), data)
    return None


def _mime(header: str) -> str:
    return header[5:].split(";")[0] or "image/png"


class DataUriBlob:
    """A blob whose first ``skip`` characters are a ``data:...,`` header."""

    def __init__(self, blob: Blob, skip: int) -> None:
        self.blob = blob
        self.skip = skip

    def decode_to(self, out: Any) -> int:
        return self.blob.decode_to(out, skip=self.skip)
