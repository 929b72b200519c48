"""Imagen ``:predict`` (Vertex; the Gemini API retired Imagen in 2026).

Parameters are free-form JSON parsed by the model, so keys are sent in the
camelCase the SDK uses (``sampleCount``, ``aspectRatio``...). Filtered images
are omitted from ``predictions`` or appear as items carrying only
``raiFilteredReason``.
"""
from __future__ import annotations

from typing import Any

from mediagen.wire.common import GenerationOutcome, MediaPayload


def build_request(prompt: str, *, count: int, aspect_ratio: str | None = None, image_size: str | None = None,
                  negative_prompt: str | None = None, seed: int | None = None,
                  person_generation: str | None = None, storage_uri: str | None = None,
                  output_mime: str | None = None, enhance_prompt: bool | None = None) -> dict[str, Any]:
    """The JSON body of an Imagen ``:predict`` request (Vertex parameter set)."""
    parameters: dict[str, Any] = {"sampleCount": count, "includeRaiReason": True}
    optional = {"aspectRatio": aspect_ratio, "sampleImageSize": image_size, "negativePrompt": negative_prompt,
                "seed": seed, "personGeneration": person_generation, "storageUri": storage_uri,
                "enhancePrompt": enhance_prompt}
    parameters.update({k: v for k, v in optional.items() if v is not None})
    if seed is not None:
        parameters["addWatermark"] = False      # Vertex refuses a seed while the watermark is on
    if output_mime:
        parameters["outputOptions"] = {"mimeType": output_mime}
    return {"instances": [{"prompt": prompt}], "parameters": parameters}


def parse_response(doc: dict[str, Any]) -> GenerationOutcome:
    """Images (bytes or gcsUri) and the reasons for any filtered slots."""
    outcome = GenerationOutcome()
    for item in doc.get("predictions") or []:
        if item.get("raiFilteredReason"):
            outcome.filtered_reasons.append(str(item["raiFilteredReason"]))
        elif item.get("bytesBase64Encoded") is not None:
            outcome.media.append(MediaPayload(item.get("mimeType") or "image/png", item["bytesBase64Encoded"]))
        elif item.get("gcsUri"):
            outcome.media.append(MediaPayload(item.get("mimeType") or "image/png", uri=item["gcsUri"]))
    if not outcome.media and not outcome.filtered_reasons:
        outcome.filtered_reasons.append("all images were filtered (no predictions returned)")
    return outcome
