"""image_gen.py end to end against the fake service, on every backend."""
from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from mediagen.cli.image_gen import main
from tests.conftest import EXPRESS_KEY, GEMINI_KEY


def png_bytes(size=(64, 48), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, format=fmt)
    return out.getvalue()


def gen_requests(fake, fragment=":generateContent"):
    return [r for r in fake.requests if fragment in r.path and r.method == "POST"]


def check_saved(result, count=1):
    images = result.doc["images"]
    assert len(images) == count
    for image in images:
        path = Path(image["path"])
        assert path.is_file() and path.suffix == ".png"
        with Image.open(path) as opened:
            assert opened.size == (image["width"], image["height"])
        sidecar = json.loads(Path(image["sidecar"]).read_text())
        assert sidecar["sha256"] == image["sha256"] and sidecar["prompt"] == "a red fox in snow"
        assert sidecar["model"]["id"] and sidecar["backend"]["name"] == result.doc["backend"]["name"]
        assert sidecar["cost"]["estimate_usd"] is not None and sidecar["mediagen_version"]
    return images


def test_gemini_api_key(run, fake, fake_env) -> None:
    result = run(main, "a red fox in snow", "--aspect-ratio", "16:9", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 0, result.doc
    image = check_saved(result)[0]
    assert (image["width"], image["height"]) == (1376, 768)
    sent = gen_requests(fake)[0]
    assert sent.path == "/v1beta/models/gemini-nano-banana-2.1:generateContent"
    assert sent.headers["x-goog-api-key"] == GEMINI_KEY
    assert sent.json["generationConfig"] == {"responseModalities": ["TEXT", "IMAGE"],
                                             "imageConfig": {"aspectRatio": "16:9"}}
    assert sent.json["contents"][0]["parts"][0] == {"text": "a red fox in snow"}
    assert result.doc["cost"]["actual_usd"] == pytest.approx(0.067)
    assert GEMINI_KEY not in result.stdout + result.stderr
    assert GEMINI_KEY not in Path(image["sidecar"]).read_text()


def test_vertex_service_account_uses_global_location(run, fake, fake_env, tmp_path) -> None:
    key_file = fake.write_service_account(tmp_path / "sa.json")
    env = {**fake_env, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file), "GOOGLE_CLOUD_LOCATION": "us-central1"}
    result = run(main, "a red fox in snow", "--image-size", "2k", "--person-generation", "allow_adult", env=env)
    assert result.code == 0, result.doc
    check_saved(result)
    sent = gen_requests(fake)[0]
    assert sent.service == "vertex"
    assert sent.path == ("/v1/projects/fake-project/locations/global/publishers/google/models/"
                         "gemini-3-pro-image:generateContent")
    assert sent.headers["authorization"].startswith("Bearer ya29.")
    config = sent.json["generationConfig"]["imageConfig"]
    assert config == {"imageSize": "2K", "personGeneration": "ALLOW_ADULT"}
    assert any("global" in w for w in result.doc["warnings"])      # env location overridden, and said so


def test_vertex_express_key(run, fake, fake_env) -> None:
    result = run(main, "a red fox in snow", env={**fake_env, "GOOGLE_API_KEY": EXPRESS_KEY})
    assert result.code == 0, result.doc
    check_saved(result)
    sent = gen_requests(fake)[0]
    assert sent.path == "/v1/publishers/google/models/gemini-3-pro-image:generateContent"
    assert sent.headers["x-goog-api-key"] == EXPRESS_KEY and "key" not in sent.query


def test_cliproxy(run, fake, base_env) -> None:
    source = Path(base_env["HOME"]) / "ref.png"
    source.write_bytes(png_bytes())
    env = {**base_env, "CLIPROXY_URL": fake.urls["cliproxy"]}
    result = run(main, "a red fox in snow", "-i", str(source), "--aspect-ratio", "3:2", "--image-size", "1K", env=env)
    assert result.code == 0, result.doc
    check_saved(result)
    sent = [r for r in fake.requests if r.path == "/v1/chat/completions"][0]
    assert sent.headers["authorization"] == "Bearer ccs-internal-managed"
    body = sent.json
    assert body["model"] == "gemini-3.1-flash-image" and body["modalities"] == ["image", "text"]
    assert body["image_config"] == {"aspect_ratio": "3:2", "image_size": "1K"}
    parts = body["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "a red fox in snow"}
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_cliproxy_unknown_model_says_how_to_add_it_to_the_proxy(run, fake, base_env) -> None:
    body = json.dumps({"error": {"message": "unknown provider for model gemini-nano-banana-2.1",
                                 "type": "invalid_request_error", "code": "model_not_found", "param": "model"}})
    fake.add_fault(service="cliproxy", path_contains="/v1/chat/completions", status=400, body=body)
    env = {**base_env, "CLIPROXY_URL": fake.urls["cliproxy"]}
    result = run(main, "a red fox in snow", "--model", "gemini-nano-banana-2.1", env=env)
    assert result.code == 4, result.doc
    hint = result.doc["error"]["hint"]
    assert "gemini-api-key:" in hint and "models:" in hint and "- name: gemini-nano-banana-2.1" in hint


def test_gif_input_arrives_as_png(run, fake, fake_env, tmp_path) -> None:
    gif = tmp_path / "anim.png"          # the extension lies: the bytes decide
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    result = run(main, "a red fox in snow", "-i", str(gif), env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 0, result.doc
    inline = gen_requests(fake)[0].json["contents"][0]["parts"][1]["inlineData"]
    assert inline["mimeType"] == "image/png"
    assert Image.open(io.BytesIO(base64.b64decode(inline["data"]))).format == "PNG"
    sidecar = json.loads(Path(result.doc["images"][0]["sidecar"]).read_text())
    assert "GIF converted" in sidecar["inputs"][0]["notes"][0] and sidecar["inputs"][0]["sha256"]


def test_unsupported_input_fails_before_any_request(run, fake, fake_env, tmp_path) -> None:
    bmp = tmp_path / "photo.jpg"
    bmp.write_bytes(png_bytes(fmt="BMP"))
    result = run(main, "a red fox in snow", "-i", str(bmp), env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 2 and "image/bmp" in result.doc["error"]["message"]
    assert "PNG" in result.doc["error"]["hint"]
    assert not fake.requests


@pytest.mark.parametrize("outcome, reason", [("image_safety", "IMAGE_SAFETY"), ("prompt_blocked", "PROHIBITED_CONTENT"),
                                             ("no_image", "NO_IMAGE")])
def test_safety_block_exits_7_with_reason(run, fake, fake_env, outcome, reason) -> None:
    fake.config.image_outcome = outcome
    result = run(main, "a red fox in snow", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 7 and result.doc["error"]["type"] == "blocked"
    assert reason in result.doc["error"]["message"] and "ephrase" in result.doc["error"]["hint"]
    assert result.doc["images"] == []
    assert not list(Path.cwd().rglob("*.png"))


def test_proxy_empty_choices_is_blocked(run, fake, base_env) -> None:
    fake.config.image_outcome = "prompt_blocked"
    result = run(main, "a red fox in snow", env={**base_env, "CLIPROXY_URL": fake.urls["cliproxy"]})
    assert result.code == 7 and "no choices" in result.doc["error"]["message"]


def test_429_then_200_succeeds(run, fake, fake_env) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", status=429, retry_delay="0.2s")
    result = run(main, "a red fox in snow", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 0 and len(gen_requests(fake)) == 2
    assert "retrying in 0.2s" in result.stderr


def test_500_on_create_is_not_retried(run, fake, fake_env) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", status=500)
    result = run(main, "a red fox in snow", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 5 and len(gen_requests(fake)) == 1


def test_bad_aspect_ratio_fails_before_any_request(run, fake, fake_env) -> None:
    result = run(main, "a red fox in snow", "--aspect-ratio", "7:3", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 2 and "16:9" in result.doc["error"]["message"] and "21:9" in result.doc["error"]["message"]
    assert not fake.requests


def test_dry_run_sends_nothing_and_masks_the_key(run, fake, fake_env) -> None:
    result = run(main, "a red fox in snow", "--dry-run", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 0 and result.doc["dry_run"] is True
    request = result.doc["requests"][0]["request"]
    assert request["headers"]["x-goog-api-key"] == "***"
    assert GEMINI_KEY not in result.stdout and not fake.requests


def test_count_runs_in_parallel_and_keeps_successes(run, fake, fake_env) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", status=400)
    result = run(main, "a red fox in snow", "-n", "4", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 4 and result.doc["ok"] is False
    assert len(result.doc["images"]) == 3
    names = sorted(Path(i["path"]).name for i in result.doc["images"])
    assert len(set(names)) == 3 and all(Path(i["path"]).is_file() for i in result.doc["images"])
    assert "3 image(s) were saved" in result.doc["error"]["hint"]


def test_thought_images_are_skipped(run, fake, fake_env) -> None:
    fake.config.image_outcome = "thoughts"
    result = run(main, "a red fox in snow", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 0 and len(result.doc["images"]) == 1
    sidecar = json.loads(Path(result.doc["images"][0]["sidecar"]).read_text())
    assert sidecar["safety"]["thought_images_skipped"] == 2


def test_jpeg_result_keeps_the_named_format_and_names_never_collide(run, fake, fake_env, tmp_path) -> None:
    fake.config.output_mime = "image/jpeg"
    target = tmp_path / "out" / "fox.png"
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    first = run(main, "a red fox in snow", "-o", str(target), env=env)
    second = run(main, "a red fox in snow", "-o", str(target), env=env)
    paths = [Path(r.doc["images"][0]["path"]) for r in (first, second)]
    assert [p.name for p in paths] == ["fox.png", "fox-2.png"]      # the name asked for, never renamed
    assert all(Image.open(p).format == "PNG" for p in paths)
    assert all(r.doc["images"][0]["transcoded_from"] == "image/jpeg" for r in (first, second))
    folder = run(main, "a red fox in snow", "-o", str(tmp_path / "folder"), env=env)
    assert Path(folder.doc["images"][0]["path"]).suffix == ".jpg"          # a folder keeps the returned type


def test_imagen_on_vertex_uses_predict(run, fake, fake_env, tmp_path) -> None:
    key_file = fake.write_service_account(tmp_path / "sa.json")
    env = {**fake_env, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}
    result = run(main, "a red fox in snow", "-m", "imagen-4.0-generate-001", "-n", "2",
                 "--negative-prompt", "blurry", "--seed", "7", env=env)
    assert result.code == 0, result.doc
    assert len(result.doc["images"]) == 2
    sent = gen_requests(fake, ":predict")[0]
    assert sent.path.endswith("/locations/us-central1/publishers/google/models/imagen-4.0-generate-001:predict")
    params = sent.json["parameters"]
    assert params["sampleCount"] == 2 and params["negativePrompt"] == "blurry" and params["seed"] == 7
    assert params["addWatermark"] is False


def test_max_cost_refuses_before_sending(run, fake, fake_env) -> None:
    result = run(main, "a red fox in snow", "-n", "4", "--max-cost", "0.10",
                 env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 9 and result.doc["error"]["type"] == "budget_exceeded"
    assert not fake.requests


def test_ledger_records_estimate_and_actual(run, fake, fake_env) -> None:
    result = run(main, "a red fox in snow", "-n", "2", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    ledger = Path(fake_env["XDG_STATE_HOME"]) / "mediagen" / "ledger.jsonl"
    entries = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert [e["status"] for e in entries] == ["submitted", "succeeded"]
    assert entries[1]["actual_usd"] == pytest.approx(0.134) and entries[1]["run_id"] == result.doc["run_id"]


def test_prompt_file_and_stdin_marker(run, fake, fake_env, tmp_path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("a red fox in snow; $(rm -rf /) \"quotes\"\n", encoding="utf-8")
    result = run(main, "--prompt-file", str(prompt), env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 0
    assert gen_requests(fake)[0].json["contents"][0]["parts"][0]["text"] == 'a red fox in snow; $(rm -rf /) "quotes"'


def test_show_defaults_reports_sources(run, fake, fake_env) -> None:
    result = run(main, "--show-defaults", "--aspect-ratio", "4:3", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    settings = result.doc["settings"]
    assert settings["aspect_ratio"] == {"value": "4:3", "source": "cli"}
    assert settings["model"]["source"] == "catalog" and not fake.requests


def test_preset_values_and_explicit_flags_win(run, fake, fake_env) -> None:
    result = run(main, "a red fox in snow", "--preset", "thumbnail", "--aspect-ratio", "1:1", "--show-defaults",
                 env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    settings = result.doc["settings"]
    assert settings["aspect_ratio"]["source"] == "cli"
    assert any(v["source"] == "preset:thumbnail" for v in settings.values())


def test_url_data_uri_and_heic_inputs(run, fake, fake_env, tmp_path) -> None:
    fake.config.gcs_require_auth = False
    fake.gcs_put("pub", "ref.png", png_bytes(), "image/png")
    url = f"{fake.urls['gcs']}/storage/v1/b/pub/o/ref.png?alt=media"
    data_uri = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    heic = tmp_path / "photo.heic"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200))
    result = run(main, "a red fox in snow", "-i", url, "-i", data_uri, "-i", str(heic),
                 env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    parts = gen_requests(fake)[0].json["contents"][0]["parts"]
    assert [p["inlineData"]["mimeType"] for p in parts[1:]] == ["image/png", "image/png", "image/heic"]
    assert result.code == 0, result.doc
    sources = [i["source"] for i in json.loads(Path(result.doc["images"][0]["sidecar"]).read_text())["inputs"]]
    assert sources[0].startswith("http://") and sources[1] == "data: URI"


def test_gs_inputs_go_by_reference_on_vertex_only(run, fake, fake_env, tmp_path) -> None:
    key_file = fake.write_service_account(tmp_path / "sa.json")
    fake.gcs_put("b", "ref.png", png_bytes(), "image/png")
    result = run(main, "a red fox in snow", "-i", "gs://b/ref.png",
                 env={**fake_env, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)})
    assert result.code == 0, result.doc
    part = gen_requests(fake)[0].json["contents"][0]["parts"][1]
    assert part == {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/ref.png"}}
    refused = run(main, "a red fox in snow", "-i", "gs://b/ref.png", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert refused.code == 2 and "Vertex" in refused.doc["error"]["message"]


def test_too_many_inputs_refused_and_large_vertex_inputs_need_a_bucket(run, fake, fake_env, tmp_path) -> None:
    refs = []
    for i in range(15):
        path = tmp_path / f"r{i}.png"
        path.write_bytes(png_bytes())
        refs += ["-i", str(path)]
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    refused = run(main, "a red fox in snow", *refs, "-m", "gemini-3-pro-image", env=env)
    assert refused.code == 2 and "--image" in refused.doc["error"]["hint"] and not fake.requests
    key_file = fake.write_service_account(tmp_path / "sa.json")
    big = tmp_path / "big.png"
    noise = Image.frombytes("RGB", (2000, 1600), os.urandom(2000 * 1600 * 3))
    noise.save(big, format="PNG")
    assert big.stat().st_size > 7 * 1024 * 1024
    vertex = {**fake_env, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}
    refused = run(main, "a red fox in snow", "-i", str(big), env=vertex)
    assert refused.code == 3 and "gcs_bucket" in refused.doc["error"]["hint"]
    assert "7 MB" in refused.doc["error"]["message"] and not gen_requests(fake)
    result = run(main, "a red fox in snow", "-i", str(big), env={**vertex, "MEDIAGEN_GCS_BUCKET": "gs://b/work"})
    assert result.code == 0, result.doc
    part = gen_requests(fake)[0].json["contents"][0]["parts"][1]
    uri = part["fileData"]["fileUri"]
    assert uri.startswith("gs://b/work/mediagen-inputs/") and fake.gcs_get("b", uri[5:].split("/", 1)[1]) == \
        big.read_bytes()
    assert "downscaled" not in result.stderr


def test_proxy_not_running_names_the_fix(run, base_env) -> None:
    result = run(main, "a red fox in snow", env={**base_env, "CLIPROXY_URL": "http://127.0.0.1:9",
                                                 "MEDIAGEN_BACKEND": "cliproxy"})
    assert result.code == 5 and "CLIProxyAPI does not answer" in result.doc["error"]["hint"]
