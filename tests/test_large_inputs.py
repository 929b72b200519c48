"""Large inputs: request bodies built in a spooled file, and inputs over the inline limit uploaded once.

The Gemini API takes them through the Files API, Vertex from the ``gcs_bucket``; a copy is reused by
content hash across ``--count``, batch items and runs, and uploaded again once a Files API copy expires.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from mediagen.cli.batch_gen import main as batch_main
from mediagen.cli.image_gen import main
from mediagen.transport import bodies
from tests.conftest import GEMINI_KEY, ROOT

FAST_POLLS = {"MEDIAGEN_POLL_FIRST_S": "0", "MEDIAGEN_POLL_INTERVAL_S": "0.02"}


def noise_png(path: Path, size=(700, 500)) -> Path:
    """An image that does not compress: its PNG is about 3 bytes per pixel."""
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(path, format="PNG")
    return path


def generate_calls(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith(":generateContent")]


def file_uploads(fake) -> list:
    return [r for r in fake.requests if r.path.endswith("/upload/v1beta/files") and "upload_id" not in r.query]


def gcs_uploads(fake, fragment: str = "mediagen-inputs") -> list:
    return [r for r in fake.requests if r.service == "gcs" and r.method == "POST" and fragment in str(r.query)]


def image_parts(recorded) -> list[dict]:
    return recorded.json["contents"][0]["parts"][1:]


@pytest.fixture
def gemini(fake_env) -> dict:
    return {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}


@pytest.fixture
def vertex(vertex_env) -> dict:
    return {**vertex_env, "MEDIAGEN_GCS_BUCKET": "gs://in-bkt/p"}


# -- the body writer ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, bodies.CHUNK - 1, bodies.CHUNK, bodies.CHUNK + 1, 3 * bodies.CHUNK + 2])
def test_bodies_write_the_json_a_plain_dump_would(size) -> None:
    data = os.urandom(size)
    doc = {"a": [{"text": "é \"quoted\" @@mediagen-x-0@@"}, {"inlineData": {"data": bodies.Base64Of(data)}}],
           "n": 1.5, "z": None, "t": True}
    plain = {"a": [doc["a"][0], {"inlineData": {"data": base64.b64encode(data).decode()}}], "n": 1.5, "z": None,
             "t": True}
    out = io.BytesIO()
    written = bodies.write_json(doc, out)
    assert json.loads(out.getvalue()) == plain and written == len(out.getvalue()) == bodies.json_size(doc)
    assert bodies.preview(doc)["a"][1]["inlineData"]["data"] == f"<{len(base64.b64encode(data))} characters elided>"
    assert bodies.has_streams(doc) and not bodies.has_streams(plain)


# -- streaming an inline input ----------------------------------------------------------------------------

def test_a_large_inline_input_is_sent_from_a_spooled_body_with_its_length(run, fake, gemini, tmp_path) -> None:
    big = noise_png(tmp_path / "big.png")
    assert big.stat().st_size > 1 << 20                # above the size whose base64 is written in chunks
    fake.add_fault(service="gemini", path_contains=":generateContent", status=503)     # the whole body again
    fake.add_redirect("gemini", ":generateContent", "POST", location=lambda req: fake.urls["gemini"] + req.path,
                      status=307)
    result = run(main, "a red fox in snow", "-i", str(big), env=gemini)
    assert result.code == 0, result.doc
    calls = generate_calls(fake)
    assert [c.status for c in calls] == [503, 307, 200]        # a retry, then a redirect that keeps the body
    for call in calls:
        assert call.headers["content-length"] == str(len(call.body)) and "transfer-encoding" not in call.headers
        assert base64.b64decode(image_parts(call)[0]["inlineData"]["data"]) == big.read_bytes()
    assert not file_uploads(fake)
    digest = hashlib.sha256(big.read_bytes()).hexdigest()          # the session keeps the turn's input, by hash
    kept = [p for p in tmp_path.rglob(digest) if p.parent.name == "media"]
    assert len(kept) == 1 and kept[0].read_bytes() == big.read_bytes()


# -- the Gemini API: the Files API ----------------------------------------------------------------------------

def test_gemini_inputs_over_the_limit_go_through_the_files_api_once(run, fake, gemini, tmp_path) -> None:
    big = noise_png(tmp_path / "big.png", (200, 150))
    small = noise_png(tmp_path / "small.png", (20, 20))
    env = {**gemini, "MEDIAGEN_INLINE_MAX_MB": "0.05"}
    dry = run(main, "a red fox in snow", "-i", str(big), "-i", str(small), "--dry-run", env=env)
    parts = dry.doc["requests"][0]["request"]["json"]["contents"][0]["parts"]
    assert parts[1] == {"fileData": {"mimeType": "image/png", "fileUri": "<uploaded when the run starts>"}}
    assert "inlineData" in parts[2] and not fake.requests
    result = run(main, "a red fox in snow", "-i", str(big), "-i", str(small), "-n", "3", env=env)
    assert result.code == 0, result.doc
    assert len(file_uploads(fake)) == 1 and len(generate_calls(fake)) == 3
    uris = {image_parts(call)[0]["fileData"]["fileUri"] for call in generate_calls(fake)}
    [uri] = uris
    assert uri.startswith(fake.urls["gemini"] + "/v1beta/files/")
    assert all("inlineData" in image_parts(call)[1] for call in generate_calls(fake))
    uploaded = json.loads(Path(result.doc["images"][0]["sidecar"]).read_text())["inputs"][0]["uploaded"]
    assert uploaded == {"via": "files-api", "uri": uri}
    again = run(main, "a red fox in snow", "-i", str(big), env=env)        # a later run: the same copy
    assert again.code == 0 and len(file_uploads(fake)) == 1
    assert image_parts(generate_calls(fake)[-1])[0]["fileData"]["fileUri"] == uri


def test_an_expired_or_deleted_files_api_copy_is_uploaded_again(run, fake, gemini, tmp_path) -> None:
    big = noise_png(tmp_path / "big.png", (200, 150))
    env = {**gemini, "MEDIAGEN_INLINE_MAX_MB": "0.05"}
    fake.config.file_ttl_s = 120.0                    # Google deletes uploads after 48 h; here after 2 minutes
    assert run(main, "a red fox in snow", "-i", str(big), env=env).code == 0
    assert run(main, "a red fox in snow", "-i", str(big), env=env).code == 0
    assert len(file_uploads(fake)) == 2               # too close to its end to be used again
    fake.config.file_ttl_s = 48 * 3600.0
    assert run(main, "a red fox in snow", "-i", str(big), env=env).code == 0
    assert len(file_uploads(fake)) == 3
    fake.state.files.clear()                          # gone on the server before its time: a new process notices
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "image_gen.py"), "a red fox in snow", "-i",
                           str(big)], env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(file_uploads(fake)) == 4


def test_the_batch_api_jsonl_references_the_uploaded_input(run, fake, gemini, tmp_path) -> None:
    big = noise_png(tmp_path / "big.png", (200, 150))
    source = tmp_path / "b.jsonl"
    source.write_text(json.dumps({"prompt": "a fox", "images": [str(big)]}) + "\n" +
                      json.dumps({"prompt": "a cat", "images": [str(big)]}) + "\n")
    result = run(batch_main, str(source), "--via", "batch-api", "--batch-input", "file", "--approve",
                 env={**gemini, **FAST_POLLS, "MEDIAGEN_INLINE_MAX_MB": "0.05"})
    assert result.code == 0, result.doc
    uploads = file_uploads(fake)
    assert len(uploads) == 2 and uploads[0].headers["x-goog-upload-header-content-type"] == "image/png"
    lines = [json.loads(line) for blob in fake.state.blobs.values() if blob["mime"] == "application/jsonl"
             for line in blob["data"].decode().splitlines() if '"request"' in line]
    refs = {line["request"]["contents"][0]["parts"][1]["fileData"]["fileUri"] for line in lines}
    assert len(lines) == 2 and len(refs) == 1


# -- Vertex: the gcs_bucket --------------------------------------------------------------------------------

def test_vertex_inputs_over_the_limit_go_to_the_bucket_once_across_batch_items(run, fake, vertex, tmp_path) -> None:
    big = noise_png(tmp_path / "big.png", (200, 150))
    source = tmp_path / "b.jsonl"
    source.write_text("".join(json.dumps({"prompt": p, "images": [str(big)]}) + "\n" for p in ("a fox", "a cat")))
    env = {**vertex, "MEDIAGEN_INLINE_MAX_MB": "0.05"}
    result = run(batch_main, str(source), "--approve", "--concurrency", "2", env=env)
    assert result.code == 0, result.doc
    [upload] = gcs_uploads(fake)
    name = upload.query["name"][0]
    assert name.startswith("p/mediagen-inputs/") and fake.gcs_get("in-bkt", name) == big.read_bytes()
    refs = {image_parts(call)[0]["fileData"]["fileUri"] for call in generate_calls(fake)}
    assert refs == {f"gs://in-bkt/{name}"}
    vbatch = run(batch_main, str(source), "--via", "vertex-batch", "--approve", "-o", str(tmp_path / "vb"),
                 env={**env, **FAST_POLLS})
    assert vbatch.code == 0, vbatch.doc
    assert len(gcs_uploads(fake)) == 1                 # the bucket copy again, checked once, not uploaded
    lines = [json.loads(line) for line in fake.gcs_get("in-bkt", next(
        o[len("gs://in-bkt/"):] for o in fake.gcs_objects() if o.endswith("input.jsonl"))).decode().splitlines()]
    assert {line["request"]["contents"][0]["parts"][1]["fileData"]["fileUri"] for line in lines} == refs


def test_storyboard_shots_on_veo_share_one_bucket_copy_of_their_image(run, fake, vertex, tmp_path) -> None:
    import yaml

    from mediagen.cli.storyboard import main as storyboard_main

    big = noise_png(tmp_path / "big.png", (200, 150))
    shots = [{"id": f"s{n}", "prompt": f"the fox, take {n}", "duration": 4, "transition": "cut", "image": str(big)}
             for n in (1, 2)]
    board = tmp_path / "board.yaml"
    board.write_text(yaml.safe_dump({"version": 1, "title": "Fox", "shots": shots}, sort_keys=False))
    result = run(storyboard_main, str(board), "--approve", env={**vertex, **FAST_POLLS, "MEDIAGEN_INLINE_MAX_MB": "0.05"})
    assert result.code == 0, result.doc
    [upload] = gcs_uploads(fake)
    creates = [r for r in fake.requests if r.path.endswith(":predictLongRunning")]
    images = [c.json["instances"][0]["image"] for c in creates]
    assert len(creates) == 2 and images[0] == images[1] == {"gcsUri": f"gs://in-bkt/{upload.query['name'][0]}",
                                                             "mimeType": "image/png"}


def test_the_fake_refuses_what_vertex_refuses(run, fake, vertex, tmp_path) -> None:
    import requests

    token = {"Authorization": "Bearer ya29.FAKE-raw-token"}
    url = f"{fake.urls['vertex']}/v1/projects/p/locations/global/publishers/google/models/gemini-3-pro-image:" \
          "generateContent"
    big = base64.b64encode(os.urandom(7 * 1024 * 1024 + 1)).decode()

    def send(part: dict) -> requests.Response:
        return requests.post(url, headers=token, json={"contents": [{"role": "user", "parts": [{"text": "x"}, part]}]})

    assert send({"inlineData": {"mimeType": "image/png", "data": big}}).status_code == 400
    assert send({"fileData": {"mimeType": "image/png", "fileUri": "gs://in-bkt/missing.png"}}).status_code == 400
    fake.gcs_put("in-bkt", "junk.png", b"not an image", "image/png")
    assert send({"fileData": {"mimeType": "image/png", "fileUri": "gs://in-bkt/junk.png"}}).status_code == 400
    files_uri = f"{fake.urls['gemini']}/v1beta/files/abc"
    assert send({"fileData": {"mimeType": "image/png", "fileUri": files_uri}}).status_code == 400


def test_a_body_that_cannot_be_built_is_refused_before_sending(tmp_path) -> None:
    from mediagen.core import errors

    missing = tmp_path / "gone.png"
    with pytest.raises(errors.UsageError, match="could not build the request body"):
        with bodies.prepared({"data": bodies.Base64Of(missing)}, None):
            pass


def test_a_vertex_input_over_the_limit_without_a_bucket_is_refused_before_sending(run, fake, vertex_env,
                                                                               tmp_path) -> None:
    big = noise_png(tmp_path / "big.png", size=(1800, 1500))       # over Vertex's 7 MB per inline image
    assert big.stat().st_size > 7 * 1024 * 1024
    result = run(main, "a red fox in snow", "-i", str(big), "-m", "gemini-3-pro-image", env=vertex_env)
    assert result.code == 3 and result.doc["error"]["type"] == "config", result.doc
    assert "gcs_bucket" in result.doc["error"]["hint"] and "MEDIAGEN_GCS_BUCKET" in result.doc["error"]["hint"]
    assert not [r for r in fake.requests if r.method == "POST"]        # nothing sent, nothing billed
