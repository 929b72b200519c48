"""Veo ``:predictLongRunning`` and its operation, on the Gemini API and on Vertex.

Inputs and parameters differ per API (reference §3.3-3.4): the Gemini API
takes images as ``bytesBase64Encoded`` and extends only its own earlier
results by ``uri``; Vertex also takes ``gcsUri``, video bytes, masks, camera
control, seeds, audio control and ``storageUri``. Keys inside ``instances`` and
``parameters`` are free-form JSON parsed by the model, so they are sent in the
exact camelCase the SDK uses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediagen.wire.common import GenerationOutcome, MediaInput, MediaPayload

VERTEX_ONLY_PARAMS = ("seed", "generateAudio", "storageUri", "resizeMode", "compressionQuality")
# google.rpc.Code numbers an operation's ``error.code`` may carry.
GRPC_NAMES = {1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
              7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 13: "INTERNAL",
              14: "UNAVAILABLE", 16: "UNAUTHENTICATED"}


@dataclass
class VideoSource:
    """A clip to extend or edit: a Gemini file URI, a gs:// URI, or local bytes."""

    uri: str | None = None
    gcs_uri: str | None = None
    local: MediaInput | None = None


def image_object(image: MediaInput, backend: str) -> dict[str, Any]:
    """An ``Image`` in the form each API accepts (gs:// only on Vertex: a given one, or an uploaded copy).

    A large input's base64 is written only as the request body is (``MediaInput.inline_data``).
    """
    uri = image.gcs_uri or image.file_uri
    if uri and backend == "vertex":
        return {"gcsUri": uri, "mimeType": image.mime_type}
    return {"bytesBase64Encoded": image.inline_data(), "mimeType": image.mime_type}


def video_object(video: VideoSource, backend: str) -> dict[str, Any]:
    """A ``Video``: the Gemini API wants its own file ``uri``; Vertex a gs:// URI or bytes."""
    if backend == "gemini-api":
        return {"uri": video.uri}
    if video.gcs_uri:
        return {"gcsUri": video.gcs_uri, "mimeType": "video/mp4"}
    assert video.local is not None
    return {"bytesBase64Encoded": video.local.inline_data(), "mimeType": video.local.mime_type}


def build_request(prompt: str, *, backend: str, image: MediaInput | None = None,
                  last_frame: MediaInput | None = None,
                  references: list[tuple[MediaInput, str]] | None = None,
                  video: VideoSource | None = None, mask: MediaInput | None = None,
                  mask_mode: str | None = None, camera: str | None = None,
                  params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body of a Veo create request."""
    instance: dict[str, Any] = {"prompt": prompt}
    if image is not None:
        instance["image"] = image_object(image, backend)
    if last_frame is not None:
        instance["lastFrame"] = image_object(last_frame, backend)
    if references:
        instance["referenceImages"] = [{"image": image_object(img, backend), "referenceType": kind}
                                       for img, kind in references]
    if video is not None:
        instance["video"] = video_object(video, backend)
    if mask is not None:
        instance["mask"] = {**image_object(mask, backend), "maskMode": mask_mode or "insert"}
    if camera:
        instance["cameraControl"] = camera
    parameters = {k: v for k, v in (params or {}).items() if v is not None}
    if backend != "vertex":
        parameters = {k: v for k, v in parameters.items() if k not in VERTEX_ONLY_PARAMS}
    return {"instances": [instance], "parameters": parameters}


def parameters(*, duration: int | None, aspect_ratio: str | None, resolution: str | None, count: int | None,
               negative_prompt: str | None, person_generation: str | None, seed: int | None,
               generate_audio: bool | None, enhance_prompt: bool | None, storage_uri: str | None,
               resize_mode: str | None, compression_quality: str | None = None) -> dict[str, Any]:
    """The ``parameters`` object (Python names in, wire names out)."""
    return {"durationSeconds": int(duration) if duration is not None else None, "aspectRatio": aspect_ratio,
            "resolution": resolution, "sampleCount": count, "negativePrompt": negative_prompt,
            "personGeneration": person_generation, "seed": seed, "generateAudio": generate_audio,
            "enhancePrompt": enhance_prompt, "storageUri": storage_uri, "resizeMode": resize_mode,
            "compressionQuality": compression_quality}


def operation_name(doc: dict[str, Any]) -> str | None:
    """The operation name from a create response."""
    name = doc.get("name")
    return name if isinstance(name, str) and name else None


def fetch_operation_body(name: str) -> dict[str, Any]:
    """Vertex polls with POST ``{model}:fetchPredictOperation``."""
    return {"operationName": name}


def fetch_operation_resource(name: str) -> str:
    """``projects/.../models/M/operations/ID`` -> ``projects/.../models/M`` (the resource to POST to)."""
    return name.rpartition("/operations/")[0]


@dataclass
class OperationState:
    """One poll's answer."""

    done: bool
    outcome: GenerationOutcome | None = None
    error: dict[str, Any] | None = None


def parse_operation(doc: dict[str, Any]) -> OperationState:
    """Done or not; videos (uri, gcsUri or bytes), RAI-filtered reasons, or the operation's error."""
    if not doc.get("done"):
        return OperationState(False)
    if doc.get("error"):
        return OperationState(True, error=doc["error"])
    response = doc.get("response") or {}
    body = response.get("generateVideoResponse") or response
    outcome = GenerationOutcome()
    for sample in body.get("generatedSamples") or []:          # Gemini API shape
        video = sample.get("video") or {}
        if video.get("uri"):
            outcome.media.append(MediaPayload(video.get("encoding") or "video/mp4", uri=video["uri"]))
        elif video.get("encodedVideo") is not None:
            outcome.media.append(MediaPayload(video.get("encoding") or "video/mp4", video["encodedVideo"]))
    for video in body.get("videos") or []:                     # Vertex shape
        mime = video.get("mimeType") or "video/mp4"
        if video.get("bytesBase64Encoded") is not None:
            outcome.media.append(MediaPayload(mime, video["bytesBase64Encoded"]))
        elif video.get("gcsUri"):
            outcome.media.append(MediaPayload(mime, uri=video["gcsUri"]))
    outcome.filtered_reasons = [str(r) for r in body.get("raiMediaFilteredReasons") or []]
    if not outcome.media and not outcome.filtered_reasons and body.get("raiMediaFilteredCount"):
        outcome.filtered_reasons = [f"{body['raiMediaFilteredCount']} video(s) removed by safety filters"]
    return OperationState(True, outcome=outcome)


def error_code_name(error: dict[str, Any]) -> str:
    """The name of an operation error's code (``3`` -> ``INVALID_ARGUMENT``; string codes pass through)."""
    code = error.get("code")
    if isinstance(code, int):
        return GRPC_NAMES.get(code, str(code))
    return str(code or "error")
