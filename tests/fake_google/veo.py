"""Veo ``:predictLongRunning`` and its operations, for both back ends.

Validation follows google-media-apis.md §3.3-3.5 (the Gemini API and Vertex
columns differ); operation polling and done payloads follow §4.1 (Gemini
API: ``GET .../operations/{id}``, a Files-API ``uri`` per sample) and §4.2
(Vertex: ``:fetchPredictOperation``, ``bytesBase64Encoded`` or ``gcsUri``).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from . import media
from .common import as_int, b64, b64decode_lenient, bad_request, not_found, rand_id
from .models import VEO_MODELS, VeoModel

INSTANCE_KEYS_GEMINI = {"prompt", "image", "lastFrame", "video", "referenceImages"}
INSTANCE_KEYS_VERTEX = INSTANCE_KEYS_GEMINI | {"mask", "cameraControl"}
PARAMS_GEMINI = {"sampleCount", "numberOfVideos", "durationSeconds", "aspectRatio", "resolution",
                 "personGeneration", "negativePrompt", "enhancePrompt"}
PARAMS_VERTEX = PARAMS_GEMINI | {"seed", "generateAudio", "storageUri", "fps", "pubsubTopic", "compressionQuality",
                                 "resizeMode", "task", "enablePromptRewriting", "addWatermark", "includeRaiReason"}
CAMERA = {"fixed", "pan_left", "pan_right", "tilt_up", "tilt_down", "truck_left", "truck_right", "pedestal_up",
          "pedestal_down", "push_in", "pull_out"}
MASK_MODES = {"insert", "remove", "remove_static", "outpaint"}
PERSON = {"allow_all", "allowall", "allow_adult", "dont_allow"}
TASKS = {"texttovideo", "imagetovideo", "referencetovideo", "edit", "extend", "upscale"}
GEMINI_OP_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
VERTEX_OP_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
EXTENSION_SECONDS = 7


def _unsupported(key: str) -> Exception:
    # Wording UNCERTAIN; the status (400 INVALID_ARGUMENT) is what matters.
    return bad_request(f"`{key}` isn't supported by this model. Please remove it or refer to the Gemini API "
                       "documentation for supported usage.")


def _image(obj: Any, where: str, vertex: bool) -> None:
    if not isinstance(obj, dict):
        raise bad_request(f"{where} must be an object.")
    if not vertex and "inlineData" in obj:   # [G-veo] REST form, accepted on the Gemini API
        inner = obj["inlineData"]
        if not isinstance(inner, dict) or b64decode_lenient(inner.get("data")) is None:
            raise bad_request(f"{where}.inlineData.data must be base64.")
        if not inner.get("mimeType"):
            raise bad_request(f"{where}.inlineData.mimeType is required.")
        return
    if "gcsUri" in obj:
        if not vertex:
            raise bad_request(f"{where}: gcsUri is not supported in Gemini API. Send bytesBase64Encoded.")
        if not str(obj["gcsUri"]).startswith("gs://"):
            raise bad_request(f"{where}.gcsUri must be a gs:// URI.")
    elif "bytesBase64Encoded" in obj:
        if b64decode_lenient(obj["bytesBase64Encoded"]) is None:
            raise bad_request(f"{where}.bytesBase64Encoded is not valid base64.")
    else:
        raise bad_request(f"{where} needs bytesBase64Encoded" + (" or gcsUri." if vertex else "."))
    # The model's schema needs the type of every image it is given (the SDK always sends it).
    mime = obj.get("mimeType")
    if mime is None:
        raise bad_request(f"{where}.mimeType is required (image/png or image/jpeg).")
    if mime not in ("image/png", "image/jpeg", "image/webp"):
        raise bad_request(f"{where}.mimeType {mime} is not supported. Use image/png or image/jpeg.")
    for key in obj:
        if key not in ("bytesBase64Encoded", "gcsUri", "mimeType", "maskMode"):
            raise bad_request(f"Unknown field {where}.{key}.")


def _accepts_mask(fake, model: VeoModel) -> bool:
    """veo-2.0-generate-exp edits with masks; whether Veo 3.1 does is UNCERTAIN (``veo31_mask_refused``)."""
    return model.mask or (model.mask_uncertain and not fake.config.veo31_mask_refused)


def validate_create(fake, backend: str, model_id: str, body: Any, version: str) -> dict:
    """Validate a predictLongRunning body; return the spec the operation will honour."""
    vertex = backend == "vertex"
    model: VeoModel = VEO_MODELS[model_id]
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.")
    for key in body:
        ok = key in ("instances", "parameters") or (vertex and key == "labels") \
            or (not vertex and key == "webhookConfig")
        if not ok:
            raise bad_request(f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.')
    instances = body.get("instances")
    if not isinstance(instances, list) or not instances or not isinstance(instances[0], dict):
        raise bad_request("instances must be a non-empty list of objects.")
    inst = instances[0]
    allowed_inst = INSTANCE_KEYS_VERTEX if vertex else INSTANCE_KEYS_GEMINI
    for key in inst:
        if key not in allowed_inst:
            if key in INSTANCE_KEYS_VERTEX:
                raise _unsupported(key)
            raise bad_request(f"Invalid instance field: {key}. Fields inside instances are camelCase "
                              "(e.g. lastFrame, referenceImages).")
    params = body.get("parameters") or {}
    if not isinstance(params, dict):
        raise bad_request("parameters must be an object.")
    for key in params:
        if key not in (PARAMS_VERTEX if vertex else PARAMS_GEMINI):
            if key in PARAMS_VERTEX:
                raise _unsupported(key)
            raise bad_request(f"Invalid parameter: {key}. Parameters are camelCase "
                              "(e.g. durationSeconds, aspectRatio).")

    prompt = inst.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise bad_request("instances[0].prompt must be a string.")
    has_image, has_video = "image" in inst, "video" in inst
    refs = inst.get("referenceImages")
    if has_image:
        _image(inst["image"], "instances[0].image", vertex)
    if "lastFrame" in inst:
        if not has_image:
            raise bad_request("lastFrame requires image (the first frame).")
        _image(inst["lastFrame"], "instances[0].lastFrame", vertex)
    if has_image and has_video:
        raise bad_request("image and video cannot be combined.")
    if "cameraControl" in inst:
        if not has_image:
            raise bad_request("cameraControl requires image.")
        if str(inst["cameraControl"]).lower() not in CAMERA:
            raise bad_request(f"Unsupported cameraControl: {inst['cameraControl']}.")
    if refs is not None:
        if not isinstance(refs, list) or not refs:
            raise bad_request("referenceImages must be a non-empty list.")
        if has_image or has_video or "lastFrame" in inst:
            raise bad_request("referenceImages cannot be combined with image, video or lastFrame.")
        if not prompt:
            raise bad_request("referenceImages require a prompt.")
        kinds = []
        for i, ref in enumerate(refs):
            if not isinstance(ref, dict) or "image" not in ref:
                raise bad_request(f"referenceImages[{i}] needs an image.")
            _image(ref["image"], f"instances[0].referenceImages[{i}].image", vertex)
            kind = str(ref.get("referenceType", "asset")).lower()
            if kind not in ("asset", "style"):
                raise bad_request(f"Unsupported referenceType: {ref.get('referenceType')}.")
            kinds.append(kind)
        if "style" in kinds:
            if not vertex or not model.style_refs:
                raise bad_request("referenceType STYLE is not supported by this model; use ASSET.")
            if len(refs) != 1 or any(k != "style" for k in kinds):
                raise bad_request("Use up to 3 asset images or exactly 1 style image.")
        else:
            if model.asset_refs == 0:
                raise bad_request(f"{model_id} does not support reference images.")
            if len(refs) > model.asset_refs:
                raise bad_request(f"At most {model.asset_refs} asset reference images are supported.")
    source_seconds = None
    if has_video:
        source_seconds = _video_source(fake, inst["video"], vertex)
    if "mask" in inst:
        if not _accepts_mask(fake, model):
            raise bad_request(f"mask (video editing) is not supported by {model_id}.")
        if not has_video:
            raise bad_request("mask requires video.")
        _image(inst["mask"], "instances[0].mask", vertex)
        mode = str(inst["mask"].get("maskMode", "")).lower()
        if mode not in MASK_MODES:
            raise bad_request(f"Unsupported maskMode: {inst['mask'].get('maskMode')}.")
    elif has_video and not model.extension:
        raise bad_request(f"{model_id} does not support video extension.")

    # -- parameters -------------------------------------------------------------
    aspect = params.get("aspectRatio", "16:9")
    if aspect not in ("16:9", "9:16"):
        raise bad_request(f"Unsupported aspectRatio: {aspect}. Use 16:9 or 9:16.")
    raw_dur = params.get("durationSeconds")
    duration = 8 if raw_dur is None else as_int(raw_dur)
    extending = has_video and "mask" not in inst
    # An extension adds ~7 s whatever is asked; clients send 7 or 8 there
    # (the reference is UNCERTAIN), so any 4-8 is accepted for extensions.
    allowed_durations = tuple(range(4, 9)) if extending else model.durations
    if duration is None or duration not in allowed_durations:
        raise bad_request(f"durationSeconds {raw_dur} is not supported by {model_id}; allowed: "
                          f"{', '.join(map(str, allowed_durations))}.")
    resolution = str(params.get("resolution", "720p"))
    if resolution.lower() not in model.resolutions:
        raise bad_request(f"resolution {resolution} is not supported by {model_id}; allowed: "
                          f"{', '.join(model.resolutions)}.")
    resolution = resolution.lower()
    if refs is not None and duration != 8:
        raise bad_request("durationSeconds must be 8 when using reference images.")
    if not vertex:
        if resolution in ("1080p", "4k") and duration != 8:
            raise bad_request(f"{resolution} requires durationSeconds 8.")
        if has_video and resolution != "720p":
            raise bad_request("Video extension supports 720p only.")
    max_samples = model.max_samples_vertex if vertex else model.max_samples_gemini
    raw_samples = params.get("sampleCount", params.get("numberOfVideos", 1))
    samples = as_int(raw_samples)
    if samples is None or not 1 <= samples <= max_samples:
        raise bad_request(f"sampleCount must be between 1 and {max_samples} for {model_id}.")
    pg = params.get("personGeneration")
    if pg is not None and str(pg).lower() not in PERSON:
        raise bad_request(f"Unsupported personGeneration: {pg}.")
    for key in ("enhancePrompt", "generateAudio", "addWatermark", "includeRaiReason"):
        if key in params and not isinstance(params[key], bool):
            raise bad_request(f"{key} must be a boolean.")
    if vertex:
        if "seed" in params:
            seed = as_int(params["seed"])
            if seed is None or not 0 <= seed <= 4294967295:
                raise bad_request("seed must be a uint32.")
        if "fps" in params and as_int(params["fps"]) != 24:
            raise bad_request("fps: only 24 is supported.")
        cq = params.get("compressionQuality")
        if cq is not None and str(cq).lower() not in ("optimized", "lossless"):
            raise bad_request(f"Unsupported compressionQuality: {cq}.")
        rm = params.get("resizeMode")
        if rm is not None and str(rm).lower() not in ("pad", "crop"):
            raise bad_request(f"Unsupported resizeMode: {rm}.")
        task = params.get("task")
        if task is not None and str(task).lower().replace("_", "") not in TASKS:
            raise bad_request(f"Unsupported task: {task}.")
        su = params.get("storageUri")
        if su is not None and (not isinstance(su, str) or not re.match(r"gs://[^/]+", su)):
            raise bad_request("storageUri must look like gs://bucket/prefix.")

    seconds = float(duration)
    if has_video and "mask" not in inst:
        seconds = float(source_seconds or 8) + EXTENSION_SECONDS
    elif has_video:
        seconds = float(source_seconds or duration)
    return {"seconds": seconds, "aspect": aspect, "samples": samples, "storage_uri": params.get("storageUri"),
            "prompt": prompt or "", "version": version}


def _video_source(fake, video: Any, vertex: bool) -> float | None:
    """Duration of the clip to extend/edit (None if unknown)."""
    if not isinstance(video, dict):
        raise bad_request("instances[0].video must be an object.")
    if vertex:
        if "gcsUri" in video:
            from .gcs import get_gs_uri
            data = get_gs_uri(fake, str(video["gcsUri"]))
            return media.probe_duration(data) if data else None
        if "bytesBase64Encoded" in video:
            data = b64decode_lenient(video["bytesBase64Encoded"])
            if data is None:
                raise bad_request("instances[0].video.bytesBase64Encoded is not valid base64.")
            return media.probe_duration(data)
        raise bad_request("instances[0].video needs gcsUri or bytesBase64Encoded.")
    uri = video.get("uri")
    if not uri:
        raise bad_request("Only Veo-generated videos can be extended: pass video.uri from a previous "
                          "generation (video bytes are not supported in Gemini API).")
    m = re.search(r"files/([A-Za-z0-9_-]+)", str(uri))
    with fake._lock:
        rec = fake.state.files.get(m.group(1)) if m else None
    if rec is None or rec.get("source") != "GENERATED" or not rec.get("mimeType", "").startswith("video/"):
        raise bad_request("Only Veo-generated videos can be extended: the video uri does not reference a "
                          "generated video.")
    return rec.get("seconds")


def create_operation(fake, backend: str, model_id: str, spec: dict, *, project: str | None = None,
                     location: str | None = None) -> dict:
    cfg = fake.config
    if backend == "vertex":
        name = (f"projects/{project}/locations/{location}/publishers/google/models/{model_id}"
                f"/operations/{uuid.uuid4()}")
    else:
        name = f"models/{model_id}/operations/{rand_id(12)}"
    if cfg.video_outcome not in ("ok", "rai_filtered", "error"):
        raise ValueError(f"config.video_outcome must be ok|rai_filtered|error, not {cfg.video_outcome!r}")
    op = {"name": name, "backend": backend, "model": model_id, "spec": spec, "created": time.monotonic(),
          "polls": 0, "done": False, "outcome": cfg.video_outcome, "payload": None,
          "host": fake.request_host()}
    with fake._lock:
        fake.state.operations[name] = op
    return {"name": name}


def _is_done(fake, op: dict) -> bool:
    cfg = fake.config
    with fake._lock:
        op["polls"] += 1
        if not op["done"]:
            if cfg.operation_done_after_s is not None:
                op["done"] = time.monotonic() - op["created"] >= cfg.operation_done_after_s
            else:
                op["done"] = op["polls"] > cfg.operation_polls_until_done
        return op["done"]


def poll(fake, name: str, backend: str) -> dict:
    with fake._lock:
        op = fake.state.operations.get(name)
    if op is None or op["backend"] != backend:
        raise not_found(f"Operation {name} not found.")
    fake.require_same_host(op.get("host"), f"operation {name}")
    if not _is_done(fake, op):
        return {"name": name}
    with fake._lock:
        if op["payload"] is not None:
            return op["payload"]
    payload = _done_payload(fake, op)
    with fake._lock:
        if op["payload"] is None:
            op["payload"] = payload
        return op["payload"]


def _done_payload(fake, op: dict) -> dict:
    spec, name = op["spec"], op["name"]
    seconds = fake.config.video_seconds or spec["seconds"]
    if op["outcome"] == "error":
        return {"name": name, "done": True,
                "error": {"code": 3, "message": "Video generation failed: the request could not be processed. "
                                                "Please adjust the prompt and try again."}}
    filtered = op["outcome"] == "rai_filtered"
    reasons = ["Your current safety settings filtered out the generated video. Support codes: 17301594"]
    if op["backend"] == "gemini":
        inner: dict[str, Any] = {}
        if filtered:
            inner = {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": reasons}
        else:
            from .gemini import new_generated_file
            samples = []
            for _ in range(spec["samples"]):
                data = media.mp4_bytes(seconds, spec["aspect"])
                fid = new_generated_file(fake, data, "video/mp4", seconds=seconds)
                uri = f"{fake.urls['gemini']}/v1beta/files/{fid}:download?alt=media"
                samples.append({"video": {"uri": uri}})
            inner = {"generatedSamples": samples}
        return {"name": name, "done": True,
                "response": {"@type": GEMINI_OP_TYPE, "generateVideoResponse": inner}}
    response: dict[str, Any] = {"@type": VERTEX_OP_TYPE, "raiMediaFilteredCount": 1 if filtered else 0}
    if filtered:
        response["raiMediaFilteredReasons"] = reasons
    else:
        videos = []
        run = rand_id(19, "0123456789")
        for i in range(spec["samples"]):
            data = media.mp4_bytes(seconds, spec["aspect"])
            if spec.get("storage_uri"):
                from .gcs import put_gs_uri
                uri = f"{spec['storage_uri'].rstrip('/')}/{run}/sample_{i}.mp4"
                put_gs_uri(fake, uri, data, "video/mp4")
                videos.append({"gcsUri": uri, "mimeType": "video/mp4"})
            else:
                videos.append({"bytesBase64Encoded": b64(data), "mimeType": "video/mp4"})
        response["videos"] = videos
    return {"name": name, "done": True, "response": response}
