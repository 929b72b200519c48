"""``generateContent`` for Gemini image models (Gemini API and Vertex share the shape).

Request: ``contents[0].parts`` = the prompt text, then each input image as
``inlineData`` (or ``fileData`` for ``gs://`` and for inputs uploaded to the
Files API or a bucket); ``generationConfig`` with ``responseModalities`` and
``imageConfig`` (``imageSize`` keeps its upper-case K; Vertex-only fields are
added only for Vertex). Response: every non-thought
part with ``inlineData`` is an image; an empty result is explained by
``finishReason`` or ``promptFeedback.blockReason``.
"""
from __future__ import annotations

from typing import Any, Iterable

from mediagen.wire.common import GenerationOutcome, MediaInput, MediaPayload

PERSON_GENERATION = {"allow_all": "ALLOW_ALL", "allow_adult": "ALLOW_ADULT", "dont_allow": "ALLOW_NONE",
                     "allow_none": "ALLOW_NONE"}


def build_request(prompt: str, images: Iterable[MediaInput], *, backend: str, aspect_ratio: str | None = None,
                  image_size: str | None = None, person_generation: str | None = None,
                  output_mime: str | None = None, thinking_level: str | None = None,
                  seed: int | None = None) -> dict[str, Any]:
    """The JSON body of a ``generateContent`` image request."""
    parts: list[dict[str, Any]] = [{"text": prompt}]
    parts += [image_part(image) for image in images]
    image_config: dict[str, Any] = {}
    if aspect_ratio:
        image_config["aspectRatio"] = aspect_ratio
    if image_size:
        image_config["imageSize"] = image_size.upper() if image_size.lower().endswith("k") else image_size
    if backend == "vertex":
        if person_generation:
            image_config["personGeneration"] = PERSON_GENERATION.get(person_generation.lower(),
                                                                     person_generation.upper())
        if output_mime:
            image_config["imageOutputOptions"] = {"mimeType": output_mime}
    config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    if image_config:
        config["imageConfig"] = image_config
    if thinking_level:
        config["thinkingConfig"] = {"thinkingLevel": thinking_level}
    if seed is not None:
        config["seed"] = seed
    return {"contents": [{"role": "user", "parts": parts}], "generationConfig": config}


def image_part(image: MediaInput) -> dict[str, Any]:
    """An input image as a part: ``fileData`` for a ``gs://`` or uploaded copy, else ``inlineData``.

    A large input's base64 is written only as the request body is (``MediaInput.inline_data``).
    """
    uri = image.gcs_uri or image.file_uri
    if uri:
        return {"fileData": {"mimeType": image.mime_type, "fileUri": uri}}
    return {"inlineData": {"mimeType": image.mime_type, "data": image.inline_data()}}


def parse_response(doc: dict[str, Any]) -> GenerationOutcome:
    """Images (thought images skipped), text, finish/block reasons and usage."""
    outcome = GenerationOutcome(usage=doc.get("usageMetadata") or {}, model_version=doc.get("modelVersion"),
                                response_id=doc.get("responseId"))
    feedback = doc.get("promptFeedback") or {}
    outcome.block_reason = feedback.get("blockReason")
    texts = []
    candidates = doc.get("candidates") or []
    if candidates and isinstance(candidates[0].get("content"), dict):
        outcome.content = candidates[0]["content"]
    for candidate in candidates:
        outcome.finish_reason = outcome.finish_reason or candidate.get("finishReason")
        for part in (candidate.get("content") or {}).get("parts") or []:
            if part.get("thought"):
                outcome.skipped_thoughts += 1      # interim "thinking" images are not results
                continue
            inline = part.get("inlineData") or part.get("inline_data")
            if inline and inline.get("data") is not None:
                mime = inline.get("mimeType") or inline.get("mime_type") or "image/png"
                outcome.media.append(MediaPayload(mime, inline["data"]))
            elif isinstance(part.get("text"), str):
                texts.append(part["text"])
    outcome.text = "\n".join(t for t in texts if t.strip())
    return outcome


def with_history(body: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """The body with earlier turns before its own user turn: each ``content`` exactly as given, in order.

    Multi-turn image editing keeps context only when the model's turns come back verbatim, every part
    and ``thoughtSignature`` included (thought parts too, as google-genai's chat history re-sends them).
    """
    if not history:
        return body
    return {**body, "contents": [*history, *body["contents"]]}


def prompt_token_count(usage: dict[str, Any] | None) -> int:
    """Input tokens billed for a request, from its ``usageMetadata`` (0 when not reported)."""
    return int((usage or {}).get("promptTokenCount") or 0)
