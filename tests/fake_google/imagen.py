"""Imagen ``:predict`` (google-media-apis.md §2.2-2.3), for Vertex and for the
Gemini API when ``config.gemini_imagen_served`` is on.

``instances``/``parameters`` are free-form ``google.protobuf.Value``s parsed by
the model's own schema, so only the camelCase keys the SDK sends are known
here (snake_case there is UNCERTAIN in the reference; the fake rejects it).
"""

from __future__ import annotations

from typing import Any

from . import media
from .common import as_int, b64, bad_request, rand_id
from .models import IMAGEN_MODELS, IMAGEN_PIXELS

PARAMS_VERTEX = {"sampleCount", "aspectRatio", "negativePrompt", "personGeneration", "safetySetting",
                 "sampleImageSize", "outputOptions", "addWatermark", "seed", "enhancePrompt", "includeRaiReason",
                 "includeSafetyAttributes", "language", "guidanceScale", "storageUri"}
GEMINI_REJECTED = {"negativePrompt", "seed", "addWatermark", "enhancePrompt", "storageUri"}
PERSON = {"dont_allow", "allow_adult", "allow_all"}
SAFETY = {"block_low_and_above", "block_medium_and_above", "block_only_high", "block_none"}
LANGS = {"auto", "en", "ja", "ko", "hi", "zh", "pt", "es"}


def predict(fake, model_id: str, body: Any, backend: str) -> dict:
    vertex = backend == "vertex"
    model = IMAGEN_MODELS[model_id]
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.")
    for key in body:
        if key not in ("instances", "parameters") and not (vertex and key == "labels"):
            raise bad_request(f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.')
    instances = body.get("instances")
    if not isinstance(instances, list) or not instances:
        raise bad_request("instances must be a non-empty list.")
    inst = instances[0]
    if not isinstance(inst, dict) or not isinstance(inst.get("prompt"), str) or not inst["prompt"].strip():
        raise bad_request("Prompt is required: instances[0].prompt must be a non-empty string.")
    for key in inst:
        if key != "prompt":
            raise bad_request(f"Unsupported field in instance: {key}.")
    prompt = inst["prompt"]
    params = body.get("parameters") or {}
    if not isinstance(params, dict):
        raise bad_request("parameters must be an object.")
    for key in params:
        if key not in PARAMS_VERTEX:
            raise bad_request(f"Unknown parameter: {key}.")
        if not vertex and key in GEMINI_REJECTED:
            raise bad_request(f"{key} parameter is not supported in Gemini API.")

    default_samples = 4 if model.max_samples >= 4 else 1
    samples = as_int(params.get("sampleCount", default_samples))
    if samples is None or not 1 <= samples <= model.max_samples:
        raise bad_request(f"sampleCount must be between 1 and {model.max_samples} for {model_id}.")
    aspect = params.get("aspectRatio", "1:1")
    if aspect not in IMAGEN_PIXELS:
        raise bad_request(f"Unsupported aspect ratio: {aspect}. Supported: {', '.join(IMAGEN_PIXELS)}.")
    size = params.get("sampleImageSize")
    scale = 1
    if size is not None:
        # The cookbook sends "1k"/"2k"; both cases are accepted.
        if str(size).upper() not in model.sizes:
            raise bad_request(f"sampleImageSize is not supported for {model_id}."
                              if not model.sizes else f"Unsupported sampleImageSize: {size}.")
        scale = 2 if str(size).upper() == "2K" else 1
    pg = params.get("personGeneration")
    if pg is not None:
        if str(pg).lower() not in PERSON:
            raise bad_request(f"Unsupported personGeneration: {pg}.")
        if not vertex and str(pg).lower() == "allow_all":
            raise bad_request("allow_all for personGeneration is not supported in Gemini API.")
    ss = params.get("safetySetting")
    if ss is not None:
        if str(ss).lower() not in SAFETY:
            raise bad_request(f"Unsupported safetySetting: {ss}.")
        if not vertex and str(ss).lower() == "block_none":
            raise bad_request("block_none for safetySetting is not supported in Gemini API.")
    lang = params.get("language")
    if lang is not None and str(lang).lower() not in LANGS:
        raise bad_request(f"Unsupported language: {lang}.")
    # addWatermark defaults to true on Vertex, so a seed needs an explicit addWatermark: false.
    if params.get("seed") is not None and params.get("addWatermark", True) is not False:
        raise bad_request("Seed is not supported when watermark is enabled. Set addWatermark to false.")
    mime = "image/png"
    oo = params.get("outputOptions")
    if oo is not None:
        if not isinstance(oo, dict):
            raise bad_request("outputOptions must be an object.")
        mime = oo.get("mimeType", mime)
        if mime not in ("image/png", "image/jpeg"):
            raise bad_request(f"Unsupported outputOptions.mimeType: {mime}.")
    storage = params.get("storageUri")
    if storage is not None and (not isinstance(storage, str) or not storage.startswith("gs://")):
        raise bad_request("storageUri must be a gs:// URI.")

    w, h = IMAGEN_PIXELS[aspect]
    w, h = fake.config.image_pixels_override or (w * scale, h * scale)
    filtered = max(0, min(samples, int(fake.config.imagen_filtered or 0)))
    preds: list[dict] = []
    run = rand_id(16, "0123456789")
    for i in range(samples - filtered):
        data = media.image_bytes(w, h, mime, media.color_for(f"{prompt}#{i}"), noise=fake.config.image_noise)
        item: dict[str, Any] = {"mimeType": mime}
        if storage:
            from .gcs import put_gs_uri
            ext = "png" if mime == "image/png" else "jpg"
            uri = f"{storage.rstrip('/')}/{run}/sample_{i}.{ext}"
            put_gs_uri(fake, uri, data, mime)
            item["gcsUri"] = uri
        else:
            item["bytesBase64Encoded"] = b64(data)
        if params.get("enhancePrompt"):
            item["prompt"] = f"{prompt} (enhanced: cinematic lighting, high detail)"
        if params.get("includeSafetyAttributes"):
            item["safetyAttributes"] = {"categories": ["Violence"], "scores": [0.1]}
        preds.append(item)
    if params.get("includeRaiReason"):
        for _ in range(filtered):
            preds.append({"raiFilteredReason": "Your current safety filter threshold filtered out the generated "
                                               "image. Try rephrasing the prompt. Support codes: 58061214"})
    if params.get("includeSafetyAttributes"):
        preds.append({"contentType": "Positive Prompt",
                      "safetyAttributes": {"categories": ["Violence"], "scores": [0.1]}})
    return {"predictions": preds} if preds else {}
