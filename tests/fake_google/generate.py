"""``generateContent`` for Gemini image (and a few text) models.

Shared by the Gemini API, Vertex AI, the Batch API and the CLIProxyAPI
fake. Validation follows google-media-apis.md §0-§1 (typed-message
transcoding, both casings accepted, responses always camelCase); outcomes
follow the ``image_outcome`` knob.
"""

from __future__ import annotations

import re
from typing import Any

from . import context, media
from .common import ApiError, b64, b64decode_lenient, bad_request, camelize, google_error, rand_b64, \
    snake_to_camel, unknown_field
from .models import IMAGE_MODELS, ImageModel, image_pixels, nearest_ratio

TOP_LEVEL = {"contents", "generationConfig", "safetySettings", "systemInstruction", "tools", "toolConfig",
             "cachedContent", "model"}
TOP_LEVEL_VERTEX = TOP_LEVEL | {"labels"}
GENERATION_CONFIG = {"stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema",
                     "responseModalities", "candidateCount", "maxOutputTokens", "temperature", "topP", "topK",
                     "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs",
                     "enableEnhancedCivicAnswers", "speechConfig", "thinkingConfig", "imageConfig",
                     "mediaResolution"}
GENERATION_CONFIG_VERTEX = GENERATION_CONFIG | {"routingConfig", "audioTimestamp", "modelConfig"}
IMAGE_CONFIG = {"aspectRatio", "imageSize"}
IMAGE_CONFIG_VERTEX = IMAGE_CONFIG | {"personGeneration", "prominentPeople", "imageOutputOptions"}
PART_DATA = {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
             "codeExecutionResult"}
PART_KEYS = PART_DATA | {"thought", "thoughtSignature", "videoMetadata", "mediaResolution", "partMetadata"}
INPUT_IMAGE_MIMES = {"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"}
THRESHOLDS = {"HARM_BLOCK_THRESHOLD_UNSPECIFIED", "BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE",
              "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF"}
MODALITIES = {"TEXT", "IMAGE", "AUDIO"}
THINKING_CONFIG = {"thinkingBudget", "includeThoughts", "thinkingLevel"}
# google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel. The docs send lower-case values
# ("high"), so the enum is matched case-insensitively like the other enums here.
THINKING_LEVELS = {"THINKING_LEVEL_UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH"}
VERTEX_INLINE_LIMIT = 7 * 1024 * 1024       # one inline image on Vertex (google-media-apis.md §1.3)
OUTCOMES = {"ok", "image_safety", "no_image", "prohibited", "prompt_blocked", "thoughts"}


def _check_keys(obj: dict, allowed: set[str], at: str | None) -> None:
    for key in obj:
        if key not in allowed:
            raise unknown_field(_original_name(key), at)


def _original_name(key: str) -> str:
    # camelize() already ran; report the snake_case proto name like the transcoder does.
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


class GenRequest:
    """A validated generateContent request reduced to what the fake needs."""

    def __init__(self) -> None:
        self.prompt = ""
        self.input_images: list[tuple[str, bytes | None]] = []   # (mime, bytes or None for fileData)
        self.modalities: list[str] | None = None
        self.aspect: str | None = None
        self.size: str | None = None
        self.output_mime: str | None = None
        self.text_tokens = 0
        self.inline_sizes: list[int] = []      # decoded bytes of each inlineData part (Vertex limits them)
        self.contents: list[dict] = []          # as validated (camelCase): judged for kept context
        self.history_images = 0                 # images inside earlier model turns (billed as input)
        self.history_text_tokens = 0


def validate(body: Any, model_id: str, backend: str, *, file_lookup=None) -> GenRequest:
    """Validate a GenerateContentRequest body; raise ApiError(400...) like Google.

    ``backend`` is "gemini" or "vertex" (Vertex-only fields are unknown names
    on the Gemini API). ``file_lookup(uri)`` may raise for unknown Files-API URIs.
    """
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.")
    vertex = backend == "vertex"
    for key in body:
        if snake_to_camel(key) not in (TOP_LEVEL_VERTEX if vertex else TOP_LEVEL):
            raise unknown_field(key)
    body = camelize(body)
    g = GenRequest()
    model = IMAGE_MODELS.get(model_id)

    contents = body.get("contents")
    if not contents:
        raise bad_request("* GenerateContentRequest.contents: contents is not specified\n", "contents")
    if not isinstance(contents, list):
        contents = [contents]
    g.contents = contents
    texts: list[str] = []
    for ci, content in enumerate(contents):
        if not isinstance(content, dict):
            raise bad_request(f"Invalid value at 'contents[{ci}]' (type.googleapis.com/google.ai."
                              f"generativelanguage.v1beta.Content), expected an object", f"contents[{ci}]")
        _check_keys(content, {"role", "parts"}, f"contents[{ci}]")
        role = content.get("role")
        if role not in (None, "", "user", "model", "function"):
            raise bad_request("Please use a valid role: user, model.", f"contents[{ci}].role")
        parts = content.get("parts")
        if not parts or not isinstance(parts, list):
            raise bad_request(f"* GenerateContentRequest.contents[{ci}].parts: contents.parts must not be empty.\n",
                              f"contents[{ci}].parts")
        for pi, part in enumerate(parts):
            at = f"contents[{ci}].parts[{pi}]"
            _validate_part(part, at, g, texts, role, file_lookup)
    sysi = body.get("systemInstruction")
    if sysi is not None:
        if not isinstance(sysi, dict):
            raise bad_request("Invalid value at 'system_instruction', expected an object", "system_instruction")
        _check_keys(sysi, {"role", "parts"}, "system_instruction")
        for pi, part in enumerate(sysi.get("parts") or []):
            if not isinstance(part, dict) or "text" not in part:
                raise bad_request("System instruction parts must be text.", f"system_instruction.parts[{pi}]")
    if vertex and any(size > VERTEX_INLINE_LIMIT for size in g.inline_sizes):
        raise bad_request(f"Inline data is larger than the {VERTEX_INLINE_LIMIT // (1024 * 1024)} MB allowed per "
                          "image; reference a Cloud Storage object (fileData.fileUri gs://...) instead.",
                          "contents.parts.inline_data")
    g.prompt = " ".join(texts).strip()
    g.text_tokens = max(1, len(g.prompt) // 4)

    for si, s in enumerate(body.get("safetySettings") or []):
        if not isinstance(s, dict):
            raise bad_request("Invalid safety setting.", f"safety_settings[{si}]")
        _check_keys(s, {"category", "threshold", "method"}, f"safety_settings[{si}]")
        cat, thr = s.get("category"), s.get("threshold")
        if not isinstance(cat, str) or not cat.startswith("HARM_CATEGORY_"):
            raise bad_request(f"Invalid value at 'safety_settings[{si}].category' (type.googleapis.com/"
                              f"google.ai.generativelanguage.v1beta.HarmCategory), \"{cat}\"",
                              f"safety_settings[{si}].category")
        if thr not in THRESHOLDS:
            raise bad_request(f"Invalid value at 'safety_settings[{si}].threshold' (type.googleapis.com/"
                              f"google.ai.generativelanguage.v1beta.SafetySetting.HarmBlockThreshold), \"{thr}\"",
                              f"safety_settings[{si}].threshold")

    gc = body.get("generationConfig")
    if gc is not None:
        if not isinstance(gc, dict):
            raise bad_request("Invalid value at 'generation_config', expected an object", "generation_config")
        _check_keys(gc, GENERATION_CONFIG_VERTEX if vertex else GENERATION_CONFIG, "generation_config")
        mods = gc.get("responseModalities")
        if mods is not None:
            if not isinstance(mods, list):
                mods = [mods]
            norm = []
            for mi, m in enumerate(mods):
                # Docs show "Image"/"Text" too; the enum parser is case-insensitive here.
                up = str(m).upper()
                if up not in MODALITIES:
                    raise bad_request(f"Invalid value at 'generation_config.response_modalities[{mi}]' "
                                      f"(type.googleapis.com/google.ai.generativelanguage.v1beta."
                                      f"GenerationConfig.Modality), \"{m}\"",
                                      f"generation_config.response_modalities[{mi}]")
                norm.append(up)
            g.modalities = norm
        _validate_thinking_config(gc.get("thinkingConfig"))
        ic = gc.get("imageConfig")
        if ic is not None:
            if not isinstance(ic, dict):
                raise bad_request("Invalid value at 'generation_config.image_config'",
                                  "generation_config.image_config")
            _check_keys(ic, IMAGE_CONFIG_VERTEX if vertex else IMAGE_CONFIG, "generation_config.image_config")
            _validate_image_config(ic, model, model_id, g, vertex)

    if g.aspect is None and model is not None:
        g.aspect = "1:1"
        for mime, data in g.input_images:
            dims = media.image_dims(data) if data else None
            if dims:
                g.aspect = nearest_ratio(dims[0], dims[1], model.ratios)
                break
    return g


def _validate_thinking_config(tc: Any) -> None:
    if tc is None:
        return
    if not isinstance(tc, dict):
        raise bad_request("Invalid value at 'generation_config.thinking_config', expected an object",
                          "generation_config.thinking_config")
    _check_keys(tc, THINKING_CONFIG, "generation_config.thinking_config")
    level = tc.get("thinkingLevel")
    if level is not None and str(level).upper() not in THINKING_LEVELS:
        raise bad_request("Invalid value at 'generation_config.thinking_config.thinking_level' (type.googleapis.com/"
                          f"google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel), \"{level}\"",
                          "generation_config.thinking_config.thinking_level")


def _validate_part(part: Any, at: str, g: GenRequest, texts: list[str], role: str | None, file_lookup) -> None:
    if not isinstance(part, dict):
        raise bad_request(f"Invalid value at '{at}', expected an object", at)
    _check_keys(part, PART_KEYS, at)
    present = [k for k in PART_DATA if k in part]
    if not present:
        raise bad_request(f"* GenerateContentRequest.{at}.data: required oneof field 'data' must have one "
                          "initialized field\n", f"{at}.data")
    if len(present) > 1:
        raise bad_request(f"Invalid JSON payload received. Oneof field 'data' is already set. Cannot set "
                          f"'{_original_name(present[1])}'", at)
    if "text" in part:
        if not isinstance(part["text"], str):
            raise bad_request(f"Invalid value at '{at}.text' (TYPE_STRING)", f"{at}.text")
        if role != "model" and not part.get("thought"):
            texts.append(part["text"])
        elif role == "model":
            g.history_text_tokens += max(1, len(part["text"]) // 4)
    elif "inlineData" in part:
        blob = part["inlineData"]
        if not isinstance(blob, dict):
            raise bad_request(f"Invalid value at '{at}.inline_data'", f"{at}.inline_data")
        _check_keys(blob, {"mimeType", "data", "displayName"}, f"{at}.inline_data")
        mime = blob.get("mimeType")
        if not mime:
            raise bad_request(f"* GenerateContentRequest.{at}.inline_data.mime_type: mime_type is not "
                              "specified\n", f"{at}.inline_data.mime_type")
        data = b64decode_lenient(blob.get("data"))
        if data is None:
            shown = str(blob.get("data"))[:20]
            raise bad_request(f"Invalid value at '{at}.inline_data.data' (TYPE_BYTES), Base64 decoding failed "
                              f"for \"{shown}\"", f"{at}.inline_data.data")
        _check_mime(mime)
        if mime.startswith("image/") and mime not in ("image/heic", "image/heif") \
                and media.image_dims(data) is None:
            raise ApiError(google_error(400, "Unable to process input image. Please retry or report in "
                                             "https://developers.generativeai.google/guide/troubleshooting"))
        g.inline_sizes.append(len(data))
        if role != "model":
            g.input_images.append((mime, data))
        else:
            g.history_images += 1
    elif "fileData" in part:
        _validate_file_data(part["fileData"], at, g, role, file_lookup)


def _validate_file_data(fd: Any, at: str, g: GenRequest, role: str | None, file_lookup) -> None:
    """A referenced file: it must exist (``file_lookup`` raises otherwise) and, when the fake holds its bytes,
    be an image as readable as inline data must be."""
    if not isinstance(fd, dict) or not fd.get("fileUri"):
        raise bad_request(f"* GenerateContentRequest.{at}.file_data.file_uri: file_uri is not specified\n",
                          f"{at}.file_data.file_uri")
    _check_keys(fd, {"mimeType", "fileUri", "displayName"}, f"{at}.file_data")
    mime = fd.get("mimeType")
    if mime:
        _check_mime(mime)
    rec = file_lookup(fd["fileUri"]) if file_lookup is not None else None
    data = rec.get("data") if rec is not None else None
    if rec is not None and not mime:
        mime = rec.get("mimeType")
    if data is not None and mime and mime.startswith("image/") and mime not in ("image/heic", "image/heif") \
            and media.image_dims(data) is None:
        raise ApiError(google_error(400, "Unable to process input image. Please retry or report in "
                                         "https://developers.generativeai.google/guide/troubleshooting"))
    if role != "model" and mime and mime.startswith("image/"):
        g.input_images.append((mime, data))
    elif mime and mime.startswith("image/"):
        g.history_images += 1


def _check_mime(mime: str) -> None:
    if mime.startswith("image/") and mime not in INPUT_IMAGE_MIMES:
        raise ApiError(google_error(400, f"Unsupported MIME type: {mime}"))


def _validate_image_config(ic: dict, model: ImageModel | None, model_id: str, g: GenRequest, vertex: bool) -> None:
    ratio = ic.get("aspectRatio")
    if ratio is not None:
        allowed = model.ratios if model else ()
        if vertex and model_id.startswith("gemini-3.1-flash-image"):
            allowed = allowed + ("9:21",)
        if ratio not in allowed:
            raise bad_request(f"Unsupported aspect ratio: {ratio}. Supported values are: {', '.join(allowed)}.",
                              "generation_config.image_config.aspect_ratio")
        g.aspect = ratio
    size = ic.get("imageSize")
    if size is not None:
        if model is not None and model.fixed_pixels:
            # UNCERTAIN: 2.5 Flash Image has no imageSize; the fake ignores it.
            pass
        elif model is None or size not in model.sizes:
            sizes = ", ".join(model.sizes) if model else ""
            raise bad_request(f"Unsupported image size: {size}. Supported values are: {sizes}. "
                              "(The K must be upper case.)", "generation_config.image_config.image_size")
        else:
            g.size = size
    if vertex:
        pg = ic.get("personGeneration")
        if pg is not None and str(pg).upper() not in ("ALLOW_ALL", "ALLOW_ADULT", "ALLOW_NONE"):
            raise bad_request(f"Invalid value at 'generation_config.image_config.person_generation', \"{pg}\"",
                              "generation_config.image_config.person_generation")
        pp = ic.get("prominentPeople")
        if pp is not None and str(pp).upper() not in ("ALLOW_PROMINENT_PEOPLE", "BLOCK_PROMINENT_PEOPLE"):
            raise bad_request(f"Invalid value at 'generation_config.image_config.prominent_people', \"{pp}\"",
                              "generation_config.image_config.prominent_people")
        oo = ic.get("imageOutputOptions")
        if oo is not None:
            if not isinstance(oo, dict):
                raise bad_request("Invalid value at 'generation_config.image_config.image_output_options'")
            _check_keys(oo, {"mimeType", "compressionQuality"}, "generation_config.image_config.image_output_options")
            mt = oo.get("mimeType")
            if mt is not None:
                if mt not in ("image/png", "image/jpeg", "image/webp"):
                    raise bad_request(f"Unsupported output MIME type: {mt}",
                                      "generation_config.image_config.image_output_options.mime_type")
                g.output_mime = mt
            cq = oo.get("compressionQuality")
            if cq is not None and (not isinstance(cq, int) or not 0 <= cq <= 100):
                raise bad_request("compressionQuality must be an integer between 0 and 100.",
                                  "generation_config.image_config.image_output_options.compression_quality")


# --------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------

def _usage(fake, g: GenRequest, model: ImageModel | None, image_tokens: int, thoughts: int,
           text_out: int, vertex: bool) -> dict:
    prompt_images = context.INPUT_IMAGE_TOKENS * (len(g.input_images) + g.history_images)
    prompt = g.text_tokens + g.history_text_tokens + prompt_images
    candidates = image_tokens + (text_out if image_tokens == 0 else 0)
    usage = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": g.text_tokens}]
                               + ([{"modality": "IMAGE", "tokenCount": prompt_images}] if prompt_images else []),
    }
    if candidates:
        usage["candidatesTokensDetails"] = [{"modality": "IMAGE" if image_tokens else "TEXT",
                                             "tokenCount": candidates}]
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if vertex:
        usage["trafficType"] = "ON_DEMAND"
    return usage


def build_response(fake, g: GenRequest, model_id: str, backend: str, *, outcome: str | None = None,
                   response_model: str | None = None) -> dict:
    """A GenerateContentResponse dict (camelCase) for a validated request."""
    cfg = fake.config
    outcome = outcome or cfg.image_outcome
    if outcome not in OUTCOMES:   # a typo in a test knob: fail loudly (500 + fake.server_errors)
        raise ValueError(f"config.image_outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}")
    vertex = backend == "vertex"
    model = IMAGE_MODELS.get(model_id)
    resp: dict[str, Any] = {}
    version = response_model or model_id
    rid = rand_b64(16)

    if model is None:  # text model: a plain text answer
        text = f"This is a fake response from {model_id}."
        resp["candidates"] = [{"content": {"role": "model", "parts": [{"text": text}]},
                               "finishReason": "STOP", "index": 0}]
        resp["usageMetadata"] = _usage(fake, g, None, 0, 0, len(text) // 4, vertex)
        return _finish(resp, version, rid, vertex)

    wants_image = g.modalities is None or "IMAGE" in g.modalities
    wants_text = g.modalities is None or "TEXT" in g.modalities
    thinking_tokens = 180 if model.thinking else 0
    size = g.size or "1K"
    image_tokens = model.tokens.get(size, 1120)

    if outcome == "prompt_blocked":
        resp["promptFeedback"] = {"blockReason": "PROHIBITED_CONTENT"}
        resp["usageMetadata"] = _usage(fake, g, model, 0, 0, 0, vertex)
        return _finish(resp, version, rid, vertex)
    if outcome in ("image_safety", "prohibited"):
        reason = "IMAGE_SAFETY" if outcome == "image_safety" else "PROHIBITED_CONTENT"
        cand = {"finishReason": reason, "index": 0}
        if outcome == "image_safety":
            cand["finishMessage"] = ("Unable to show the generated image. The image was filtered out because it "
                                     "violated Google's Generative AI Prohibited Use policy.")
        resp["candidates"] = [cand]
        resp["usageMetadata"] = _usage(fake, g, model, 0, thinking_tokens, 0, vertex)
        return _finish(resp, version, rid, vertex)
    if outcome == "no_image":
        text = "I'm unable to create that image. Could you describe something else?"
        resp["candidates"] = [{"content": {"role": "model", "parts": [{"text": text}]},
                               "finishReason": "NO_IMAGE", "index": 0}]
        resp["usageMetadata"] = _usage(fake, g, model, 0, thinking_tokens, len(text) // 4, vertex)
        return _finish(resp, version, rid, vertex)

    parts: list[dict] = []
    mime = g.output_mime or cfg.output_mime or "image/png"
    if mime not in media.PIL_FORMATS:
        raise ValueError(f"config.output_mime must be one of {sorted(media.PIL_FORMATS)}, not {mime!r}")
    w, h = cfg.image_pixels_override or image_pixels(model, g.aspect or "1:1", size)
    color = media.color_for(g.prompt or model_id)
    verdict = context.judge(fake, g.contents)

    def sig() -> dict:
        return {"thoughtSignature": context.new_signature()} if model.thinking else {}
    if outcome == "thoughts" and wants_image:
        # Interim "thought" images: a different colour and a quarter of the size.
        for i in range(2):
            tb = media.image_bytes(max(16, w // 4), max(16, h // 4), "image/png",
                                   media.color_for(f"thought-{i}-{g.prompt}"))
            parts.append({"inlineData": {"mimeType": "image/png", "data": b64(tb)}, "thought": True})
    text_out = 0
    if wants_text:
        text = "Here is your image." if wants_image else f"A description of the requested image ({g.prompt[:60]})."
        parts.append({"text": text + context.note(verdict), **sig()})
        text_out = len(text) // 4
    if wants_image:
        data = media.image_bytes(w, h, mime, color, noise=cfg.image_noise)
        parts.append({"inlineData": {"mimeType": mime, "data": b64(data)}, **sig()})
    else:
        image_tokens = 0
    resp["candidates"] = [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}]
    resp["usageMetadata"] = _usage(fake, g, model, image_tokens, thinking_tokens, text_out, vertex)
    context.remember(fake, g.contents, resp["candidates"][0]["content"], verdict)
    context.log(fake, backend, model_id, verdict, resp["usageMetadata"])
    return _finish(resp, version, rid, vertex)


def _finish(resp: dict, version: str, rid: str, vertex: bool) -> dict:
    from .common import now_rfc3339
    resp["modelVersion"] = version
    resp["responseId"] = rid
    if vertex:
        resp["createTime"] = now_rfc3339()
    return resp


def stream_chunks(resp: dict) -> list[dict]:
    """Split a response into streamGenerateContent chunks: one per part, with
    ``finishReason`` and ``usageMetadata`` only on the last one."""
    cands = resp.get("candidates") or []
    if not cands or not cands[0].get("content"):
        return [resp]
    parts = cands[0]["content"]["parts"]
    chunks = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        cand = {"content": {"role": "model", "parts": [part]}, "index": 0}
        chunk: dict[str, Any] = {"candidates": [cand]}
        if last:
            cand["finishReason"] = cands[0].get("finishReason", "STOP")
            chunk["usageMetadata"] = resp.get("usageMetadata")
        chunk["modelVersion"] = resp.get("modelVersion")
        chunk["responseId"] = resp.get("responseId")
        chunks.append(chunk)
    return chunks


def count_tokens(body: Any) -> dict:
    """A plausible countTokens answer (text ~4 chars/token, 560 per image)."""
    body = camelize(body or {})
    req = body.get("generateContentRequest") or body
    text = 0
    images = 0
    for content in req.get("contents") or []:
        for part in (content or {}).get("parts") or []:
            if isinstance(part, dict):
                if "text" in part:
                    text += max(1, len(str(part["text"])) // 4)
                elif "inlineData" in part or "fileData" in part:
                    images += 560
    details = [{"modality": "TEXT", "tokenCount": text}]
    if images:
        details.append({"modality": "IMAGE", "tokenCount": images})
    return {"totalTokens": text + images, "promptTokensDetails": details}
