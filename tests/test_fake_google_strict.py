"""The fake refuses what Google refuses (and accepts what Google's JSON parsing accepts), and the client copes.

Each check here failed against the earlier, more lenient fake.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
import requests
from PIL import Image

from mediagen.cli.image_gen import main as image_main
from mediagen.cli.video_gen import main as video_main
from tests.conftest import GEMINI_KEY

RAW_TOKEN = "ya29.FAKE-raw-token"
VERTEX_MODEL = "/v1/projects/p/locations/us-central1/publishers/google/models/"


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def png_b64() -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 10, 10)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {RAW_TOKEN}"}


def test_invalid_thinking_level_is_a_400_and_valid_ones_pass(fake, http) -> None:
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-nano-banana-2.1:generateContent"

    def send(level: str) -> requests.Response:
        body = {"contents": [{"parts": [{"text": "a fox"}]}],
                "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "thinkingConfig": {"thinkingLevel": level}}}
        return http.post(url, headers={"x-goog-api-key": GEMINI_KEY}, json=body)

    refused = send("extreme")
    assert refused.status_code == 400
    assert "thinking_level" in refused.json()["error"]["message"]
    assert [send(level).status_code for level in ("minimal", "HIGH", "medium")] == [200, 200, 200]


def test_imagen_seed_needs_the_watermark_off_explicitly(fake, http) -> None:
    url = f"{fake.urls['vertex']}{VERTEX_MODEL}imagen-4.0-generate-001:predict"
    default = http.post(url, headers=bearer(), json={"instances": [{"prompt": "x"}], "parameters": {"seed": 3}})
    assert default.status_code == 400 and "addWatermark" in default.json()["error"]["message"]
    off = http.post(url, headers=bearer(), json={"instances": [{"prompt": "x"}],
                                                 "parameters": {"seed": 3, "addWatermark": False}})
    assert off.status_code == 200


def test_our_imagen_request_with_a_seed_turns_the_watermark_off(run, fake, vertex_env) -> None:
    result = run(image_main, "a red fox", "--model", "imagen-4.0-fast-generate-001", "--seed", "7", env=vertex_env)
    assert result.code == 0, result.doc
    [sent] = [r for r in fake.requests if r.path.endswith(":predict")]
    assert sent.json["parameters"]["seed"] == 7 and sent.json["parameters"]["addWatermark"] is False


@pytest.mark.parametrize("image", [{"bytesBase64Encoded": "IMAGE"}, {"gcsUri": "gs://b/frame.png"}])
def test_veo_image_without_mime_type_is_a_400(fake, http, image) -> None:
    image = {k: (png_b64() if v == "IMAGE" else v) for k, v in image.items()}
    url = f"{fake.urls['vertex']}{VERTEX_MODEL}veo-3.1-fast-generate-001:predictLongRunning"
    refused = http.post(url, headers=bearer(), json={"instances": [{"prompt": "x", "image": image}]})
    assert refused.status_code == 400 and "mimeType" in refused.json()["error"]["message"]
    accepted = http.post(url, headers=bearer(),
                         json={"instances": [{"prompt": "x", "image": {**image, "mimeType": "image/png"}}]})
    assert accepted.status_code == 200


def test_fetch_predict_operation_accepts_the_proto_field_name(fake, http) -> None:
    base = f"{fake.urls['vertex']}{VERTEX_MODEL}veo-3.1-fast-generate-001"
    name = http.post(base + ":predictLongRunning", headers=bearer(), json={"instances": [{"prompt": "x"}]}).json()["name"]
    snake = http.post(base + ":fetchPredictOperation", headers=bearer(), json={"operation_name": name})
    assert snake.status_code == 200 and snake.json()["name"] == name
    both = http.post(base + ":fetchPredictOperation", headers=bearer(),
                     json={"operation_name": name, "operationName": name})
    assert both.status_code == 400


def _mask_edit(run, fake, vertex_env, tmp_path: Path):
    first = run(video_main, "a quiet street", "--duration", "4", env=vertex_env)
    assert first.code == 0, first.doc
    clip = first.doc["videos"][0]["path"]
    mask = tmp_path / "mask.png"
    Image.new("RGB", (64, 36), (255, 255, 255)).save(mask)
    fake.clear()
    return run(video_main, "a red balloon", "--model", "veo-3.1-fast-generate-001", "--video", clip,
               "--mask", str(mask), "--mask-mode", "insert", env=vertex_env)


def test_mask_edit_on_veo31_fast_is_accepted_by_default_with_the_catalog_warning(run, fake, vertex_env,
                                                                                  tmp_path) -> None:
    edited = _mask_edit(run, fake, vertex_env, tmp_path)
    assert edited.code == 0, edited.doc
    assert edited.doc["mode"] == "edit"
    assert any("mask editing on veo-3.1-fast-generate-001" in w and "veo-2.0-generate-exp" in w
               for w in edited.doc["warnings"])


def test_mask_edit_on_veo31_fast_refused_when_the_fake_says_so(run, fake, vertex_env, tmp_path) -> None:
    fake.config.veo31_mask_refused = True
    edited = _mask_edit(run, fake, vertex_env, tmp_path)
    assert edited.code == 4 and edited.doc["error"]["status"] == 400
    assert "mask" in edited.doc["error"]["message"]
    assert any("mask editing on veo-3.1-fast-generate-001" in w for w in edited.doc["warnings"])


def test_omni_clip_length_is_per_model(fake, http) -> None:
    url = f"{fake.urls['gemini']}/v1beta/interactions"

    def ask(model: str, seconds: str) -> int:
        body = {"model": model, "input": "x", "response_format": {"type": "video", "duration": seconds}}
        return http.post(url, headers={"x-goog-api-key": GEMINI_KEY}, json=body).status_code

    assert ask("gemini-omni-1.2-flash", "12s") == 200 and ask("gemini-omni-1.2-flash", "16s") == 400
    assert ask("gemini-omni-1.1-flash", "12s") == 400
