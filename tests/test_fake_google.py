"""Wire-level tests of the fake Google service (tests/fake_google).

Everything is driven with plain ``requests`` (plus google-auth for the
service-account flow), so these tests pin down exactly what product code
will see on the wire.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.fake_google import FakeGoogle

KEY = "AIzaSyFAKE-test-key-000000000000000000"
EXPRESS = "AQ.FAKE-express-key"
RAW_TOKEN = "ya29.FAKE-raw-token"
PROXY_KEY = "test-proxy-key"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fake():
    with FakeGoogle() as f:
        yield f


@pytest.fixture(autouse=True)
def _fresh(fake):
    fake.reset()
    yield
    assert fake.server_errors == [], "the fake crashed:\n" + "\n".join(fake.server_errors)


@pytest.fixture
def http():
    with requests.Session() as s:
        yield s


def gkey():
    return {"x-goog-api-key": KEY}


def bearer(token=RAW_TOKEN):
    return {"Authorization": f"Bearer {token}"}


def image_request(text="a cat on a surfboard", **image_config):
    body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if image_config:
        body["generationConfig"] = {"responseModalities": ["TEXT", "IMAGE"], "imageConfig": image_config}
    return body


def png_b64(w=64, h=64, color=(200, 10, 10)):
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def decode_image(part):
    return Image.open(io.BytesIO(base64.b64decode(part["inlineData"]["data"])))


def final_image_parts(resp_json):
    parts = resp_json["candidates"][0]["content"]["parts"]
    return [p for p in parts if "inlineData" in p and not p.get("thought")]


# ---------------------------------------------------------------------------
# Harness
# ---------------------------------------------------------------------------

def test_urls_recording_and_keepalive(fake, http):
    assert set(fake.urls) == {"gemini", "vertex", "oauth", "gcs", "cliproxy"}
    assert all(re.fullmatch(r"http://127\.0\.0\.1:\d+", u) for u in fake.urls.values())
    assert fake.token_uri == fake.urls["oauth"] + "/token"
    for _ in range(5):   # one pooled connection, several requests
        assert http.get(f"{fake.urls['gemini']}/v1beta/models", params={"pageSize": 1, "key": KEY}).ok
    recs = fake.requests_for(service="gemini", method="GET", path_contains="/models")
    assert len(recs) == 5
    r = recs[0]
    assert r.path == "/v1beta/models" and r.query["pageSize"] == ["1"] and r.status == 200
    assert "user-agent" in r.headers and r.body == b"" and r.json is None
    assert recs[0].time <= recs[-1].time
    fake.clear()
    assert fake.requests == []


def test_context_manager_start_stop():
    f = FakeGoogle()
    assert f.urls == {}
    with requests.Session() as session:
        with f:
            url = f.urls["cliproxy"]
            assert session.get(url + "/healthz", timeout=5).json() == {"status": "ok"}
            assert session.head(url + "/healthz", timeout=5).status_code == 200
        # stop() also drops idle keep-alive connections: the pooled one must not be answered
        with pytest.raises(requests.ConnectionError):
            session.get(url + "/healthz", timeout=2)
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/healthz", timeout=2)


def test_standalone_prints_urls_and_serves():
    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_google", "--serve-veo-on-gemini"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["token_uri"] == info["urls"]["oauth"] + "/token"
        r = requests.get(info["urls"]["gemini"] + "/v1beta/models/veo-3.1-generate-preview", params={"key": KEY},
                         timeout=5)
        assert r.status_code == 200 and r.json()["supportedGenerationMethods"] == ["predictLongRunning"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------------------
# Gemini API: auth, models
# ---------------------------------------------------------------------------

def test_gemini_auth_failures(fake, http):
    url = f"{fake.urls['gemini']}/v1beta/models"
    r = http.get(url)
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
    assert "unregistered callers" in r.json()["error"]["message"]
    r = http.get(url, headers={"x-goog-api-key": "AIzaWRONG"})
    err = r.json()["error"]
    assert r.status_code == 400 and err["status"] == "INVALID_ARGUMENT"
    assert err["details"][0]["reason"] == "API_KEY_INVALID"
    r = http.get(url, params={"key": EXPRESS})
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
    assert http.get(url, params={"key": KEY}).status_code == 200
    fake.gemini_api_keys.add("AIzaSECOND")
    assert http.get(url, headers={"x-goog-api-key": "AIzaSECOND"}).status_code == 200


def test_gemini_models_pagination_and_retired(fake, http):
    g = fake.urls["gemini"]
    names, token = [], None
    while True:
        params = {"pageSize": 2, **({"pageToken": token} if token else {})}
        body = http.get(f"{g}/v1beta/models", params=params, headers=gkey()).json()
        names += [m["name"] for m in body["models"]]
        token = body.get("nextPageToken")
        if not token:
            break
    assert "models/gemini-nano-banana-2.1" in names and "models/gemini-omni-1.2-flash" in names
    assert not any("veo" in n or "imagen" in n for n in names)
    m = http.get(f"{g}/v1/models/gemini-3-pro-image", headers=gkey()).json()
    assert "batchGenerateContent" in m["supportedGenerationMethods"]
    for retired in ("veo-3.1-generate-preview", "gemini-2.5-flash-image", "imagen-4.0-generate-001"):
        r = http.get(f"{g}/v1beta/models/{retired}", headers=gkey())
        assert r.status_code == 404 and "no longer available" in r.json()["error"]["message"]
    r = http.post(f"{g}/v1beta/models/gemini-3.1-flash-image:generateContent", headers=gkey(), json=image_request())
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"
    assert http.get(f"{g}/v1beta/models/no-such-model", headers=gkey()).status_code == 404
    fake.config.gemini_veo_served = True
    assert http.get(f"{g}/v1beta/models/veo-3.1-generate-preview", headers=gkey()).status_code == 200


# ---------------------------------------------------------------------------
# Gemini API: generateContent
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_generate_content_image_size_and_shape(fake, http, version):
    url = f"{fake.urls['gemini']}/{version}/models/gemini-nano-banana-2.1:generateContent"
    r = http.post(url, headers=gkey(), json=image_request(aspectRatio="16:9", imageSize="1K"))
    assert r.status_code == 200, r.text
    body = r.json()
    cand = body["candidates"][0]
    assert cand["finishReason"] == "STOP" and cand["content"]["role"] == "model"
    assert "text" in cand["content"]["parts"][0]
    [img_part] = final_image_parts(body)
    assert img_part["inlineData"]["mimeType"] == "image/png"
    img = decode_image(img_part)
    assert img.format == "PNG" and img.size == (1376, 768)
    assert body["usageMetadata"]["candidatesTokenCount"] == 1120
    assert body["modelVersion"] == "gemini-nano-banana-2.1" and body["responseId"]


@pytest.mark.parametrize("ratio,size,expected", [("1:1", "1K", (1024, 1024)), ("1:1", "2K", (2048, 2048)),
                                                 ("9:16", "1K", (768, 1376)), ("1:1", "512", (512, 512))])
def test_generate_content_pixel_table(fake, http, ratio, size, expected):
    r = http.post(f"{fake.urls['gemini']}/v1beta/models/gemini-nano-banana-2.1:generateContent", headers=gkey(),
                  json=image_request(aspectRatio=ratio, imageSize=size))
    assert decode_image(final_image_parts(r.json())[0]).size == expected


def test_generate_content_mixed_casing_and_input_image(fake, http):
    body = {
        "contents": [{"role": "user", "parts": [
            {"text": "make it blue"},
            {"inlineData": {"mime_type": "image/png", "data": png_b64(300, 200)}},
            {"inline_data": {"mimeType": "image/png", "data": png_b64()}},
        ]}],
        "generation_config": {"response_modalities": ["Image"], "image_config": {"image_size": "1K"}},
        "safety_settings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"}],
    }
    r = http.post(f"{fake.urls['gemini']}/v1beta/models/gemini-3-pro-image:generateContent", headers=gkey(),
                  json=body)
    assert r.status_code == 200, r.text
    parts = r.json()["candidates"][0]["content"]["parts"]
    assert [("inlineData" in p) for p in parts] == [True]          # IMAGE only: no text part
    assert decode_image(parts[0]).size == (1264, 848)            # default ratio follows the input (3:2)


@pytest.mark.parametrize("mutate,status,fragment", [
    (lambda b: b.update(bogus=1), 400, 'Unknown name "bogus": Cannot find field.'),
    (lambda b: b["contents"][0]["parts"].append({"inlineData": {"mimeType": "image/gif", "data": "R0lGODlh"}}),
     400, "Unsupported MIME type: image/gif"),
    (lambda b: b["contents"][0]["parts"].append({"inlineData": {"mimeType": "image/png", "data": "%%%"}}),
     400, "Base64 decoding failed"),
    (lambda b: b.update(generationConfig={"imageConfig": {"imageSize": "1k"}}), 400, "Unsupported image size"),
    (lambda b: b.update(generationConfig={"imageConfig": {"aspectRatio": "7:5"}}), 400, "Unsupported aspect ratio"),
    (lambda b: b.update(generationConfig={"imageConfig": {"personGeneration": "ALLOW_ALL"}}), 400,
     'Unknown name "person_generation"'),
    (lambda b: b.update(contents=[]), 400, "contents is not specified"),
    (lambda b: b["contents"][0]["parts"].append({}), 400, "required oneof field 'data'"),
])
def test_generate_content_validation(fake, http, mutate, status, fragment):
    body = image_request()
    mutate(body)
    r = http.post(f"{fake.urls['gemini']}/v1beta/models/gemini-nano-banana-2.1:generateContent", headers=gkey(),
                  json=body)
    assert r.status_code == status
    err = r.json()["error"]
    assert err["code"] == status and err["status"] == "INVALID_ARGUMENT" and fragment in err["message"], err


def test_generate_content_model_limits(fake, http):
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-3.1-flash-lite-image:generateContent"
    assert http.post(url, headers=gkey(), json=image_request(imageSize="2K")).status_code == 400
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-3-pro-image:generateContent"
    assert http.post(url, headers=gkey(), json=image_request(aspectRatio="1:8")).status_code == 400


def test_omni_generate_content_needs_interactions(fake, http):
    r = http.post(f"{fake.urls['gemini']}/v1beta/models/gemini-omni-1.1-flash:generateContent", headers=gkey(),
                  json=image_request())
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "This model only supports Interactions API."


@pytest.mark.parametrize("outcome", ["image_safety", "no_image", "prohibited", "prompt_blocked", "thoughts"])
def test_generate_content_outcomes(fake, http, outcome):
    fake.config.image_outcome = outcome
    r = http.post(f"{fake.urls['gemini']}/v1beta/models/gemini-nano-banana-2.1:generateContent", headers=gkey(),
                  json=image_request(aspectRatio="1:1"))
    assert r.status_code == 200
    body = r.json()
    if outcome == "prompt_blocked":
        assert "candidates" not in body and body["promptFeedback"]["blockReason"] == "PROHIBITED_CONTENT"
        return
    cand = body["candidates"][0]
    parts = (cand.get("content") or {}).get("parts", [])
    if outcome == "thoughts":
        thoughts = [p for p in parts if p.get("thought")]
        assert len(thoughts) == 2 and all("inlineData" in p for p in thoughts)
        assert parts.index(thoughts[-1]) < parts.index(final_image_parts(body)[0])
        assert decode_image(final_image_parts(body)[0]).size == (1024, 1024)
        assert cand["finishReason"] == "STOP"
        return
    expected = {"image_safety": "IMAGE_SAFETY", "no_image": "NO_IMAGE", "prohibited": "PROHIBITED_CONTENT"}
    assert cand["finishReason"] == expected[outcome]
    assert not any("inlineData" in p for p in parts)
    if outcome == "no_image":
        assert parts and "text" in parts[0]


def test_generate_content_jpeg_and_override(fake, http):
    fake.config.output_mime = "image/jpeg"
    fake.config.image_pixels_override = (300, 100)
    r = http.post(f"{fake.urls['gemini']}/v1beta/models/gemini-3-pro-image:generateContent", headers=gkey(),
                  json=image_request())
    part = final_image_parts(r.json())[0]
    img = decode_image(part)
    assert part["inlineData"]["mimeType"] == "image/jpeg" and img.format == "JPEG" and img.size == (300, 100)


# ---------------------------------------------------------------------------
# Faults, rate limiting
# ---------------------------------------------------------------------------

def test_fault_429_with_retry_info_then_success(fake, http):
    fake.add_fault("gemini", ":generateContent", status=429, retry_delay="2s", retry_after=3,
                   quota_id="GenerateRequestsPerDayPerProjectPerModel", times=2)
    assert fake.faults_pending() == 2
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-3-pro-image:generateContent"
    for _ in range(2):
        r = http.post(url, headers=gkey(), json=image_request())
        err = r.json()["error"]
        assert r.status_code == 429 and err["status"] == "RESOURCE_EXHAUSTED" and r.headers["Retry-After"] == "3"
        by_type = {d["@type"].rsplit(".", 1)[-1]: d for d in err["details"]}
        assert by_type["RetryInfo"]["retryDelay"] == "2s"
        assert by_type["QuotaFailure"]["violations"][0]["quotaId"] == "GenerateRequestsPerDayPerProjectPerModel"
    assert fake.faults_pending() == 0
    assert http.post(url, headers=gkey(), json=image_request()).status_code == 200
    assert [r.status for r in fake.requests_for("gemini", path_contains=":generateContent")] == [429, 429, 200]


def test_fault_other_statuses(fake, http):
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-3-pro-image:generateContent"
    fake.add_fault(path_contains="generateContent", status=503)
    fake.add_fault(path_contains="generateContent", status=500)
    fake.add_fault(path_contains="generateContent", status=502)
    fake.add_fault(path_contains="generateContent", status=418, body="teapot")
    r = http.post(url, headers=gkey(), json=image_request())
    assert r.status_code == 503 and r.json()["error"]["message"] == "The model is overloaded. Please try again later."
    r = http.post(url, headers=gkey(), json=image_request())
    assert r.status_code == 500 and r.json()["error"]["status"] == "INTERNAL"
    r = http.post(url, headers=gkey(), json=image_request())
    assert r.status_code == 502 and r.headers["Content-Type"].startswith("text/html")
    r = http.post(url, headers=gkey(), json=image_request())
    assert r.status_code == 418 and r.content == b"teapot"


def test_fault_reset_and_delay(fake, http):
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-3-pro-image:generateContent"
    fake.add_fault("gemini", method="POST", reset=True)
    with pytest.raises(requests.ConnectionError):
        http.post(url, headers=gkey(), json=image_request())
    fake.add_fault("gemini", "generateContent", delay_s=1.0, status=200, body="{}")
    with pytest.raises(requests.ReadTimeout):
        requests.post(url, headers=gkey(), json=image_request(), timeout=0.3)
    recs = fake.requests_for("gemini", path_contains="generateContent")
    assert [r.status for r in recs[:1]] == [0] and len(recs) == 2
    assert http.post(url, headers=gkey(), json=image_request()).status_code == 200


def test_rate_limit(fake, http):
    fake.config.rate_limit_rps = 2
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-3-pro-image:generateContent"
    codes = [http.post(url, headers=gkey(), json=image_request()).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = http.post(url, headers=gkey(), json=image_request())
    assert r.json()["error"]["details"][-1]["retryDelay"] == "1s"
    assert http.get(f"{fake.urls['gemini']}/v1beta/models", headers=gkey()).status_code == 200   # not limited
    time.sleep(1.05)
    assert http.post(url, headers=gkey(), json=image_request()).status_code == 200


# ---------------------------------------------------------------------------
# Veo on the Gemini API, operations, downloads
# ---------------------------------------------------------------------------

def test_veo_gemini_validation(fake, http):
    fake.config.gemini_veo_served = True
    url = f"{fake.urls['gemini']}/v1beta/models/veo-3.1-generate-preview:predictLongRunning"
    for params in ({"generateAudio": True}, {"seed": 1}, {"storageUri": "gs://b/x"}, {"durationSeconds": 5},
                   {"resolution": "1080p", "durationSeconds": 4}, {"aspect_ratio": "16:9"}):
        r = http.post(url, headers=gkey(), json={"instances": [{"prompt": "x"}], "parameters": params})
        assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT", params
    style = {"instances": [{"prompt": "x", "referenceImages": [
        {"image": {"bytesBase64Encoded": png_b64(), "mimeType": "image/png"}, "referenceType": "STYLE"}]}]}
    assert http.post(url, headers=gkey(), json=style).status_code == 400
    r = http.post(url, headers=gkey(), json={"instances": [{"prompt": "x", "lastFrame": {
        "bytesBase64Encoded": png_b64(), "mimeType": "image/png"}}]})
    assert r.status_code == 400


def test_veo_gemini_operation_download_with_resume(fake, http):
    fake.config.gemini_veo_served = True
    fake.config.operation_polls_until_done = 2
    g = fake.urls["gemini"]
    r = http.post(f"{g}/v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning", headers=gkey(),
                  json={"instances": [{"prompt": "drone shot", "image": {"bytesBase64Encoded": png_b64(),
                                                                         "mimeType": "image/png"}}],
                        "parameters": {"aspectRatio": "9:16", "durationSeconds": 6, "sampleCount": 1}})
    assert r.status_code == 200, r.text
    name = r.json()["name"]
    assert re.fullmatch(r"models/veo-3\.1-fast-generate-preview/operations/\w+", name)
    for _ in range(2):
        assert http.get(f"{g}/v1beta/{name}", headers=gkey()).json() == {"name": name}
    done = http.get(f"{g}/v1beta/{name}", headers=gkey()).json()
    assert done["done"] is True
    assert done["response"]["@type"].endswith("PredictLongRunningResponse")
    uri = done["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
    assert uri.startswith(g) and uri.endswith(":download?alt=media")

    # the key is required on the first hop, and the answer is a redirect
    assert http.get(uri, allow_redirects=False).status_code == 403
    hop = http.get(uri, headers=gkey(), allow_redirects=False)
    assert hop.status_code == 302 and "/_blob/" in hop.headers["Location"]
    full = http.get(uri, headers=gkey()).content
    assert full[4:8] == b"ftyp"

    # a connection drop mid-body, then a Range resume
    fake.config.download_reset_after_bytes = 1000
    got = b""
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with http.get(uri, headers=gkey(), stream=True) as resp:
            for chunk in resp.iter_content(256):
                got += chunk
    # (requests may drop the last partial read when the socket closes early)
    assert 0 < len(got) <= 1000 and fake.config.download_reset_after_bytes is None
    resp = http.get(uri, headers={**gkey(), "Range": f"bytes={len(got)}-"})
    assert resp.status_code == 206
    assert resp.headers["Content-Range"] == f"bytes {len(got)}-{len(full) - 1}/{len(full)}"
    assert got + resp.content == full

    from tests.fake_google import media
    if media.ffprobe_path():
        out = subprocess.run([media.ffprobe_path(), "-v", "error", "-show_entries", "stream=width,height",
                              "-show_entries", "format=duration", "-of", "json", "-"], input=full,
                             capture_output=True)
        info = json.loads(out.stdout)
        assert abs(float(info["format"]["duration"]) - 6) < 0.3
        assert (info["streams"][0]["width"], info["streams"][0]["height"]) == (180, 320)

    fake.config.file_expired = True
    assert http.get(uri, headers=gkey()).status_code == 404


@pytest.mark.parametrize("outcome", ["rai_filtered", "error"])
def test_veo_gemini_outcomes(fake, http, outcome):
    fake.config.gemini_veo_served = True
    fake.config.operation_polls_until_done = 0
    fake.config.video_outcome = outcome
    g = fake.urls["gemini"]
    name = http.post(f"{g}/v1beta/models/veo-3.1-generate-preview:predictLongRunning", headers=gkey(),
                     json={"instances": [{"prompt": "x"}]}).json()["name"]
    done = http.get(f"{g}/v1beta/{name}", headers=gkey()).json()
    assert done["done"] is True
    if outcome == "error":
        assert done["error"]["code"] == 3 and "response" not in done
    else:
        inner = done["response"]["generateVideoResponse"]
        assert inner["raiMediaFilteredCount"] == 1 and inner["raiMediaFilteredReasons"]
        assert "generatedSamples" not in inner


def test_veo_gemini_extension_and_done_after_seconds(fake, http):
    fake.config.gemini_veo_served = True
    fake.config.operation_done_after_s = 0.3
    g = fake.urls["gemini"]
    url = f"{g}/v1beta/models/veo-3.1-generate-preview:predictLongRunning"
    name = http.post(url, headers=gkey(), json={"instances": [{"prompt": "x"}],
                                                "parameters": {"durationSeconds": 4}}).json()["name"]
    assert "done" not in http.get(f"{g}/v1beta/{name}", headers=gkey()).json()
    time.sleep(0.35)
    uri = http.get(f"{g}/v1beta/{name}", headers=gkey()).json()["response"]["generateVideoResponse"][
        "generatedSamples"][0]["video"]["uri"]
    fake.config.operation_done_after_s = 0
    bad = http.post(url, headers=gkey(), json={"instances": [{"prompt": "y", "video": {"uri": f"{g}/v1beta/files/zz"}}]})
    assert bad.status_code == 400
    name2 = http.post(url, headers=gkey(), json={"instances": [{"prompt": "then", "video": {"uri": uri}}],
                                                 "parameters": {"resolution": "720p"}}).json()["name"]
    uri2 = http.get(f"{g}/v1beta/{name2}", headers=gkey()).json()["response"]["generateVideoResponse"][
        "generatedSamples"][0]["video"]["uri"]
    fid = re.search(r"files/(\w+):download", uri2).group(1)
    from tests.fake_google import media
    assert media.probe_duration(http.get(uri2, headers=gkey()).content) == pytest.approx(11, abs=0.3)
    meta = http.get(f"{g}/v1beta/files/{fid}", headers=gkey()).json()
    assert meta["source"] == "GENERATED" and meta["state"] == "ACTIVE"


def test_synthetic_video_bytes_size(fake, http):
    fake.config.gemini_veo_served = True
    fake.config.operation_polls_until_done = 0
    fake.config.video_bytes_size = 5_000_000
    g = fake.urls["gemini"]
    name = http.post(f"{g}/v1beta/models/veo-3.1-generate-preview:predictLongRunning", headers=gkey(),
                     json={"instances": [{"prompt": "x"}]}).json()["name"]
    uri = http.get(f"{g}/v1beta/{name}", headers=gkey()).json()["response"]["generateVideoResponse"][
        "generatedSamples"][0]["video"]["uri"]
    with http.get(uri, headers=gkey(), stream=True) as resp:
        assert int(resp.headers["Content-Length"]) == 5_000_000
        data = b"".join(resp.iter_content(1 << 20))
    assert len(data) == 5_000_000 and data[4:8] == b"ftyp"
    tail = http.get(uri, headers={**gkey(), "Range": "bytes=4999990-"})
    assert tail.status_code == 206 and tail.content == data[-10:]


def test_imagen_on_gemini_behind_knob(fake, http):
    url = f"{fake.urls['gemini']}/v1beta/models/imagen-4.0-generate-001:predict"
    body = {"instances": [{"prompt": "a bunny"}], "parameters": {"sampleCount": 2, "aspectRatio": "16:9"}}
    assert http.post(url, headers=gkey(), json=body).status_code == 404
    fake.config.gemini_imagen_served = True
    preds = http.post(url, headers=gkey(), json=body).json()["predictions"]
    assert len(preds) == 2
    img = Image.open(io.BytesIO(base64.b64decode(preds[0]["bytesBase64Encoded"])))
    assert img.size == (1408, 768) and preds[0]["mimeType"] == "image/png"
    body["parameters"]["negativePrompt"] = "blurry"
    assert http.post(url, headers=gkey(), json=body).status_code == 400


# ---------------------------------------------------------------------------
# Files API and Batch API
# ---------------------------------------------------------------------------

def upload_file(http, g, data, mime, display="thing", chunk=None):
    start = http.post(f"{g}/upload/v1beta/files", headers={
        **gkey(), "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
        "X-Goog-Upload-Header-Content-Length": str(len(data)), "X-Goog-Upload-Header-Content-Type": mime},
        json={"file": {"display_name": display}})
    assert start.status_code == 200, start.text
    url = start.headers["x-goog-upload-url"]
    chunk = chunk or len(data)
    offset = 0
    while True:
        piece = data[offset:offset + chunk]
        last = offset + len(piece) >= len(data)
        r = http.post(url, data=piece, headers={"X-Goog-Upload-Offset": str(offset),
                                                "X-Goog-Upload-Command": "upload, finalize" if last else "upload"})
        assert r.status_code == 200, r.text
        if last:
            assert r.headers["x-goog-upload-status"] == "final"
            return r.json()["file"]
        assert r.headers["x-goog-upload-status"] == "active"
        offset += len(piece)


def test_files_upload_poll_list_delete(fake, http):
    g = fake.urls["gemini"]
    fake.config.file_processing_polls = 1
    data = base64.b64decode(png_b64(32, 32))
    f = upload_file(http, g, data, "image/png", chunk=50)
    assert f["state"] == "PROCESSING" and f["sizeBytes"] == str(len(data)) and f["mimeType"] == "image/png"
    assert f["displayName"] == "thing" and f["source"] == "UPLOADED" and f["uri"].endswith(f["name"])
    fid = f["name"].split("/")[1]
    assert http.get(f"{g}/v1beta/files/{fid}", headers=gkey()).json()["state"] == "PROCESSING"
    assert http.get(f"{g}/v1beta/files/{fid}", headers=gkey()).json()["state"] == "ACTIVE"
    assert [x["name"] for x in http.get(f"{g}/v1beta/files", headers=gkey()).json()["files"]] == [f["name"]]
    # usable as fileData in generateContent
    body = {"contents": [{"parts": [{"text": "edit"}, {"file_data": {"mime_type": "image/png", "file_uri": f["uri"]}}]}]}
    assert http.post(f"{g}/v1beta/models/gemini-3-pro-image:generateContent", headers=gkey(), json=body).ok
    # uploaded files cannot be downloaded
    assert http.get(f"{g}/v1beta/files/{fid}:download", params={"alt": "media"}, headers=gkey()).status_code == 400
    assert http.delete(f"{g}/v1beta/files/{fid}", headers=gkey()).json() == {}
    assert http.get(f"{g}/v1beta/files/{fid}", headers=gkey()).status_code == 403
    body["contents"][0]["parts"][1]["file_data"]["file_uri"] = f["uri"]
    assert http.post(f"{g}/v1beta/models/gemini-3-pro-image:generateContent", headers=gkey(),
                     json=body).status_code == 403


def test_files_failed_knob(fake, http):
    fake.config.file_failed = True
    f = upload_file(http, fake.urls["gemini"], b"\x00" * 10, "video/mp4")
    assert f["state"] == "FAILED"


def test_batch_inline_round_trip(fake, http):
    g = fake.urls["gemini"]
    reqs = [{"request": image_request("cat", aspectRatio="1:1"), "metadata": {"key": "req-1"}},
            {"request": image_request("dog", imageSize="4k"), "metadata": {"key": "req-2"}}]
    r = http.post(f"{g}/v1beta/models/gemini-3-pro-image:batchGenerateContent", headers=gkey(),
                  json={"batch": {"display_name": "b1", "input_config": {"requests": {"requests": reqs}}}})
    assert r.status_code == 200, r.text
    name = r.json()["name"]
    assert r.json()["metadata"]["state"] == "BATCH_STATE_PENDING"
    states = [http.get(f"{g}/v1beta/{name}", headers=gkey()).json()["metadata"]["state"] for _ in range(3)]
    assert states == ["BATCH_STATE_PENDING", "BATCH_STATE_RUNNING", "BATCH_STATE_SUCCEEDED"]
    done = http.get(f"{g}/v1beta/{name}", headers=gkey()).json()
    assert done["done"] is True and done["metadata"]["batchStats"]["successfulRequestCount"] == "1"
    out = done["response"]["inlinedResponses"]["inlinedResponses"]
    assert out[0]["metadata"] == {"key": "req-1"}
    assert decode_image(final_image_parts(out[0]["response"])[0]).size == (1024, 1024)
    assert out[1]["error"]["code"] == 3 and "image size" in out[1]["error"]["message"]
    assert name in [b["name"] for b in http.get(f"{g}/v1beta/batches", headers=gkey()).json()["operations"]]
    assert http.post(f"{g}/v1beta/{name}:cancel", headers=gkey()).json() == {}
    assert http.delete(f"{g}/v1beta/{name}", headers=gkey()).json() == {}
    assert http.get(f"{g}/v1beta/{name}", headers=gkey()).status_code == 404


def test_batch_file_input_and_cancel(fake, http):
    g = fake.urls["gemini"]
    fake.config.batch_polls_until_done = 0
    lines = "".join(json.dumps({"key": f"k{i}", "request": image_request(f"p{i}")}) + "\n" for i in range(2))
    f = upload_file(http, g, lines.encode(), "application/jsonl")
    name = http.post(f"{g}/v1beta/models/gemini-nano-banana-2.1:batchGenerateContent", headers=gkey(),
                     json={"batch": {"inputConfig": {"fileName": f["name"]}}}).json()["name"]
    done = http.get(f"{g}/v1beta/{name}", headers=gkey()).json()
    resp_file = done["response"]["responsesFile"]
    assert resp_file.startswith("files/")
    dl = http.get(f"{g}/download/v1beta/{resp_file}:download", params={"alt": "media"}, headers=gkey())
    rows = [json.loads(x) for x in dl.text.splitlines()]
    assert [r["key"] for r in rows] == ["k0", "k1"] and "candidates" in rows[0]["response"]
    fake.config.batch_polls_until_done = 5
    name = http.post(f"{g}/v1beta/models/gemini-nano-banana-2.1:batchGenerateContent", headers=gkey(),
                     json={"batch": {"inputConfig": {"fileName": f["name"]}}}).json()["name"]
    http.post(f"{g}/v1beta/{name}:cancel", headers=gkey())
    assert http.get(f"{g}/v1beta/{name}", headers=gkey()).json()["metadata"]["state"] == "BATCH_STATE_CANCELLED"


# ---------------------------------------------------------------------------
# Interactions API (Gemini Omni)
# ---------------------------------------------------------------------------

def video_block(interaction):
    outputs = [s for s in interaction["steps"] if s["type"] == "model_output"]
    return [b for b in outputs[-1]["content"] if b["type"] == "video"]


def test_interactions_sync_inline_and_uri(fake, http):
    g = fake.urls["gemini"]
    r = http.post(f"{g}/v1beta/interactions", headers=gkey(), json={
        "model": "gemini-omni-1.1-flash", "input": "A red balloon drifts over a city.",
        "response_format": {"type": "video", "aspect_ratio": "16:9", "duration": "4s"}, "unknown_field": 1})
    assert r.status_code == 200, r.text
    ix = r.json()
    assert ix["id"].startswith("v1_") and ix["object"] == "interaction" and ix["status"] == "completed"
    assert [s["type"] for s in ix["steps"]] == ["thought", "model_output"]
    [vb] = video_block(ix)
    data = base64.b64decode(vb["data"])
    assert data[4:8] == b"ftyp" and vb["mime_type"] == "video/mp4"
    assert ix["usage"]["output_tokens_by_modality"] == [{"modality": "video", "tokens": 4 * 5792}]

    fake.config.file_processing_polls = 1
    r = http.post(f"{g}/v1/interactions", headers=gkey(), json={
        "model": "gemini-omni-1.2-flash", "input": [{"type": "text", "text": "a cat"}],
        "response_format": [{"type": "video", "delivery": "uri", "resolution": "1080p"}]})
    [vb] = video_block(r.json())
    fid = re.search(r"files/(\w+):download\?alt=media$", vb["uri"]).group(1)
    assert http.get(f"{g}/v1beta/files/{fid}", headers=gkey()).json()["state"] == "PROCESSING"
    assert http.get(f"{g}/v1beta/files/{fid}", headers=gkey()).json()["state"] == "ACTIVE"
    assert http.get(vb["uri"], headers=gkey()).content[4:8] == b"ftyp"
    # GET returns inline data even though the create asked for a uri
    again = http.get(f"{g}/v1beta/interactions/{r.json()['id']}", headers=gkey()).json()
    assert again["steps"][0]["type"] == "user_input" and "data" in video_block(again)[0]


def test_interactions_background_poll_cancel_delete(fake, http):
    g = fake.urls["gemini"]
    fake.config.interaction_polls_until_done = 2
    r = http.post(f"{g}/v1beta/interactions", headers={**gkey(), "Api-Revision": "2026-05-20"}, json={
        "model": "gemini-omni-1.1-flash", "background": True,
        "input": [{"type": "user_input", "content": [{"type": "image", "mime_type": "image/png", "data": png_b64()},
                                                      {"type": "text", "text": "<FIRST_FRAME> it moves"}]}]})
    first = r.json()
    assert set(first) >= {"id", "object", "status"} and first["status"] == "in_progress"
    iid = first["id"]
    polls = [http.get(f"{g}/v1beta/interactions/{iid}", params={"stream": "false"}, headers=gkey()).json()
             for _ in range(3)]
    assert [p["status"] for p in polls] == ["in_progress", "in_progress", "completed"]
    assert polls[-1]["steps"][0]["type"] == "user_input" and video_block(polls[-1])[0]["data"]
    r = http.post(f"{g}/v1beta/interactions", headers=gkey(),
                  json={"model": "gemini-omni-1.1-flash", "input": "x", "background": True})
    iid2 = r.json()["id"]
    assert http.post(f"{g}/v1beta/interactions/{iid2}/cancel", headers=gkey()).json()["status"] == "cancelled"
    assert http.delete(f"{g}/v1beta/interactions/{iid}", headers=gkey()).json() == {}
    r = http.get(f"{g}/v1beta/interactions/{iid}", headers=gkey())
    assert r.status_code == 404 and r.json() == {"error": {"code": "not_found", "message": f"Interaction {iid} not found"}}


def test_interactions_previous_id_and_extend(fake, http):
    g = fake.urls["gemini"]
    base = http.post(f"{g}/v1beta/interactions", headers=gkey(), json={
        "model": "gemini-omni-1.1-flash", "input": "a violinist", "response_format": {"duration": "5s"}}).json()
    r = http.post(f"{g}/v1beta/interactions", headers=gkey(), json={
        "model": "gemini-omni-1.1-flash", "previous_interaction_id": "v1_nope", "input": "night"})
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "Interaction v1_nope not found"}}
    ext = http.post(f"{g}/v1beta/interactions", headers=gkey(), json={
        "model": "gemini-omni-1.1-flash", "previous_interaction_id": base["id"],
        "input": "Extend this video: the crowd cheers.", "response_format": {"duration": "6s"}}).json()
    assert ext["status"] == "completed" and ext["previous_interaction_id"] == base["id"]
    assert ext["usage"]["total_output_tokens"] == 11 * 5792
    from tests.fake_google import media
    assert media.probe_duration(base64.b64decode(video_block(ext)[0]["data"])) == pytest.approx(11, abs=0.3)
    edit = http.post(f"{g}/v1beta/interactions", headers=gkey(), json={
        "model": "gemini-omni-1.1-flash", "previous_interaction_id": ext["id"], "input": "Make it night."}).json()
    assert edit["usage"]["total_output_tokens"] == 11 * 5792


@pytest.mark.parametrize("body,fragment", [
    ({"model": "veo-3.1-generate-preview", "input": "x"}, "not supported"),
    ({"model": "gemini-3-pro-image", "input": "x"}, "not supported"),
    ({"model": "gemini-omni-1.1-flash", "input": "x", "response_format": {"duration": "12s"}}, "duration"),
    ({"model": "gemini-omni-1.1-flash", "input": "x", "response_format": {"aspect_ratio": "1:1"}}, "aspect_ratio"),
    ({"model": "gemini-omni-1.1-flash", "input": "x", "response_format": {"resolution": "480p"}}, "resolution"),
])
def test_interactions_validation(fake, http, body, fragment):
    r = http.post(f"{fake.urls['gemini']}/v1beta/interactions", headers=gkey(), json=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "invalid_request" and fragment in err["message"]


@pytest.mark.parametrize("outcome", ["failed", "no_video"])
def test_interactions_outcomes(fake, http, outcome):
    fake.config.interaction_outcome = outcome
    ix = http.post(f"{fake.urls['gemini']}/v1beta/interactions", headers=gkey(),
                   json={"model": "gemini-omni-1.1-flash", "input": "x"}).json()
    if outcome == "failed":
        assert ix["status"] == "failed" and ix["errors"][0]["code"] == "SAFETY"
    else:
        assert ix["status"] == "completed" and video_block(ix) == []


# ---------------------------------------------------------------------------
# OAuth and Vertex
# ---------------------------------------------------------------------------

def sa_credentials(fake, tmp_path):
    from google.oauth2 import service_account
    path = fake.write_service_account(tmp_path / "sa.json")
    info = json.loads(path.read_text())
    assert info["token_uri"] == fake.token_uri and info["client_email"] == "fake-sa@fake-project.iam.gserviceaccount.com"
    return service_account.Credentials.from_service_account_file(
        str(path), scopes=["https://www.googleapis.com/auth/cloud-platform"])


def test_oauth_service_account_with_google_auth(fake, http, tmp_path):
    import google.auth.transport.requests
    creds = sa_credentials(fake, tmp_path)
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.token.startswith("ya29.fake-") and creds.valid
    [rec] = fake.requests_for("oauth", "POST", "/token")
    assert rec.status == 200 and b"jwt-bearer" in rec.body
    r = http.post(f"{fake.urls['vertex']}/v1/projects/fake-project/locations/global/publishers/google/models/"
                  "gemini-3-pro-image:generateContent", headers=bearer(creds.token), json=image_request())
    assert r.status_code == 200 and r.json()["usageMetadata"]["trafficType"] == "ON_DEMAND"


def _jwt(info, claims, alg="RS256", key=None):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    def seg(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    signing_input = f"{seg({'alg': alg, 'typ': 'JWT', 'kid': info['private_key_id']})}.{seg(claims)}"
    key = key or serialization.load_pem_private_key(info["private_key"].encode(), None)
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + base64.urlsafe_b64encode(sig).decode().rstrip("=")


def test_oauth_rejects_bad_jwt(fake, http, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa
    info = json.loads(fake.write_service_account(tmp_path / "sa.json", project_id="proj2").read_text())
    now = int(time.time())
    good = {"iss": info["client_email"], "scope": "https://www.googleapis.com/auth/cloud-platform",
            "aud": "https://oauth2.googleapis.com/token", "iat": now, "exp": now + 3600}
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    def post(assertion):
        return http.post(fake.token_uri, data={"grant_type": grant, "assertion": assertion})

    r = post(_jwt(info, good))
    assert r.status_code == 200 and r.json()["access_token"].startswith("ya29.fake-")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (_jwt(info, {**good, "aud": fake.token_uri}), _jwt(info, good, key=other_key),
                _jwt(info, good, alg="HS256"), _jwt(info, {**good, "exp": now - 4000, "iat": now - 7600}),
                _jwt(info, {**good, "iss": "someone@else.iam.gserviceaccount.com"}), "not.a.jwt"):
        r = post(bad)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    r = post(_jwt(info, {**good, "scope": "https://www.googleapis.com/auth/devstorage.read_only"}))
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


def test_oauth_refresh_token_grant(fake, http, tmp_path):
    info = json.loads(fake.write_authorized_user(tmp_path / "adc.json").read_text())
    assert info["type"] == "authorized_user" and info["token_uri"] == fake.token_uri
    form = {"grant_type": "refresh_token", "client_id": info["client_id"], "client_secret": info["client_secret"],
            "refresh_token": info["refresh_token"]}
    r = http.post(fake.token_uri, data=form)
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer" and r.json()["expires_in"] == 3599
    token = r.json()["access_token"]
    gcs = f"{fake.urls['gcs']}/storage/v1/b/bkt/o"
    assert http.get(gcs, headers=bearer(token)).status_code == 200
    r = http.post(fake.token_uri, data={**form, "refresh_token": "1//bogus"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant" and r.json()["error_description"]
    r = http.post(fake.token_uri, data={**form, "client_secret": "nope"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert http.post(fake.token_uri, data={"grant_type": "password"}).json()["error"] == "unsupported_grant_type"
    # google-auth's user credentials honour token_uri when built explicitly (sdk-observations.md §4)
    import google.auth.transport.requests
    import google.oauth2.credentials
    creds = google.oauth2.credentials.Credentials(
        None, refresh_token=info["refresh_token"], client_id=info["client_id"], client_secret=info["client_secret"],
        token_uri=info["token_uri"], quota_project_id=info["quota_project_id"])
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.token.startswith("ya29.")
    fake.revoke_tokens()
    assert http.get(gcs, headers=bearer(token)).status_code == 401


def test_cliproxy_token_files(fake, tmp_path):
    ag = json.loads(fake.write_cliproxy_token_file(tmp_path / "antigravity-u.json").read_text())
    assert ag["type"] == "antigravity" and ag["refresh_token"] and ag["token_uri"] == fake.token_uri
    gm = json.loads(fake.write_cliproxy_token_file(tmp_path / "gemini-u.json", kind="gemini").read_text())
    assert gm["type"] == "gemini" and gm["token"]["token_uri"] == fake.token_uri
    for tok in (ag["access_token"], gm["token"]["access_token"]):
        r = requests.post(f"{fake.urls['vertex']}/v1/publishers/google/models/gemini-3-pro-image:countTokens",
                          headers=bearer(tok), json=image_request(), timeout=10)
        assert r.status_code == 200
    r = requests.post(fake.token_uri, data={"grant_type": "refresh_token", "client_id": ag["client_id"],
                                            "client_secret": ag["client_secret"], "refresh_token": ag["refresh_token"]},
                      timeout=10)
    assert r.status_code == 200


def test_vertex_auth_and_locations(fake, http):
    v = fake.urls["vertex"]
    path = "/v1/projects/p/locations/{loc}/publishers/google/models/{m}:generateContent"
    url = v + path.format(loc="global", m="gemini-3.1-flash-image")
    r = http.post(url, json=image_request())
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"
    r = http.post(url, headers=bearer("ya29.unknown"), json=image_request())
    assert r.status_code == 401
    assert http.post(url, headers=bearer(), json=image_request()).status_code == 200
    assert http.post(url, params={"key": EXPRESS}, json=image_request()).status_code == 200
    assert http.post(url, params={"key": "AQ.wrong"}, json=image_request()).status_code == 400
    r = http.post(v + path.format(loc="us-central1", m="gemini-3.1-flash-image"), headers=bearer(),
                  json=image_request())
    assert r.status_code == 404 and "Publisher Model" in r.json()["error"]["message"]
    assert http.post(v + path.format(loc="us-central1", m="gemini-2.5-flash-image"), headers=bearer(),
                     json=image_request(aspectRatio="16:9")).status_code == 200
    express = f"{v}/v1beta1/publishers/google/models/gemini-nano-banana-2.1:generateContent"
    r = http.post(express, headers={"x-goog-api-key": EXPRESS}, json=image_request(
        personGeneration="ALLOW_ADULT", imageOutputOptions={"mimeType": "image/jpeg", "compressionQuality": 70}))
    assert r.status_code == 200, r.text
    part = final_image_parts(r.json())[0]
    assert part["inlineData"]["mimeType"] == "image/jpeg" and decode_image(part).format == "JPEG"
    assert http.get(f"{v}/v1beta1/publishers/google/models/veo-3.1-generate-001", headers=bearer()).json()["name"] \
        == "publishers/google/models/veo-3.1-generate-001"
    assert http.get(f"{v}/v1beta1/publishers/google/models/veo-3.0-generate-001", headers=bearer()).status_code == 404


def test_vertex_imagen_predict_with_storage(fake, http):
    fake.config.imagen_filtered = 1
    url = (f"{fake.urls['vertex']}/v1/projects/p/locations/us-central1/publishers/google/models/"
           "imagen-4.0-generate-001:predict")
    r = http.post(url, headers=bearer(), json={"instances": [{"prompt": "bunny"}], "parameters": {
        "sampleCount": 3, "includeRaiReason": True, "storageUri": "gs://out-bkt/imgs/", "sampleImageSize": "2K",
        "personGeneration": "allow_all", "seed": 5, "addWatermark": False}})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert len([p for p in preds if "gcsUri" in p]) == 2 and "raiFilteredReason" in preds[-1]
    bucket, name = preds[0]["gcsUri"][5:].split("/", 1)
    assert Image.open(io.BytesIO(fake.gcs_get(bucket, name))).size == (2048, 2048)
    assert preds[0]["gcsUri"] in fake.gcs_objects()
    ultra = url.replace("imagen-4.0-generate-001", "imagen-4.0-ultra-generate-001")
    assert http.post(ultra, headers=bearer(), json={"instances": [{"prompt": "x"}],
                                                    "parameters": {"sampleCount": 2}}).status_code == 400


def test_vertex_veo_fetch_predict_operation(fake, http):
    v = fake.urls["vertex"]
    base = f"{v}/v1/projects/p/locations/us-central1/publishers/google/models/veo-3.1-fast-generate-001"
    r = http.post(base + ":predictLongRunning", headers=bearer(), json={
        "instances": [{"prompt": "waves"}],
        "parameters": {"durationSeconds": 4, "generateAudio": True, "sampleCount": 2, "seed": 7}})
    assert r.status_code == 200, r.text
    name = r.json()["name"]
    assert re.fullmatch(r"projects/p/locations/us-central1/publishers/google/models/veo-3\.1-fast-generate-001/"
                        r"operations/[0-9a-f-]{36}", name)
    assert http.post(base + ":fetchPredictOperation", headers=bearer(), json={"operationName": name}).json() \
        == {"name": name}
    done = http.post(base + ":fetchPredictOperation", headers=bearer(), json={"operationName": name}).json()
    resp = done["response"]
    assert done["done"] and resp["@type"] == "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
    assert len(resp["videos"]) == 2 and base64.b64decode(resp["videos"][0]["bytesBase64Encoded"])[4:8] == b"ftyp"

    fake.config.operation_polls_until_done = 0
    r = http.post(base + ":predictLongRunning", headers=bearer(), json={
        "instances": [{"prompt": "x"}], "parameters": {"storageUri": "gs://vid-bkt/run1"}})
    done = http.post(base + ":fetchPredictOperation", headers=bearer(), json={"operationName": r.json()["name"]}).json()
    uri = done["response"]["videos"][0]["gcsUri"]
    assert uri.startswith("gs://vid-bkt/run1/") and uri.endswith(".mp4") and uri in fake.gcs_objects()

    fake.config.video_outcome = "rai_filtered"
    r = http.post(base + ":predictLongRunning", headers=bearer(), json={"instances": [{"prompt": "x"}]})
    done = http.post(base + ":fetchPredictOperation", headers=bearer(), json={"operationName": r.json()["name"]}).json()
    assert done["response"]["raiMediaFilteredCount"] == 1 and "videos" not in done["response"]


def test_vertex_veo_validation(fake, http):
    v = fake.urls["vertex"]
    tmpl = f"{v}/v1/projects/p/locations/us-central1/publishers/google/models/{{m}}:predictLongRunning"
    img = {"bytesBase64Encoded": png_b64(), "mimeType": "image/png"}
    ref = {"image": img, "referenceType": "asset"}
    cases = [
        ("veo-3.1-generate-001", {"prompt": "x", "referenceImages": [ref] * 4}, {}),
        ("veo-3.1-generate-001", {"prompt": "x", "referenceImages": [{**ref, "referenceType": "style"}]}, {}),
        ("veo-3.1-generate-001", {"prompt": "x", "cameraControl": "pan_left"}, {}),
        ("veo-3.1-generate-001", {"prompt": "x", "last_frame": img, "image": img}, {}),
        ("veo-3.0-generate-001", {"prompt": "x"}, {}),   # retired
        ("veo-3.1-lite-generate-001", {"prompt": "x"}, {"resolution": "4k"}),
    ]
    for model, inst, params in cases:
        r = http.post(tmpl.format(m=model), headers=bearer(), json={"instances": [inst], "parameters": params})
        assert r.status_code in (400, 404), (model, inst, r.text)
    ok = [
        ("veo-2.0-generate-exp", {"prompt": "x", "referenceImages": [{**ref, "referenceType": "STYLE"}]}, {}),
        ("veo-2.0-generate-exp", {"prompt": "x", "video": {"gcsUri": "gs://b/v.mp4", "mimeType": "video/mp4"},
                                  "mask": {"gcsUri": "gs://b/m.png", "mimeType": "image/png", "maskMode": "INSERT"}},
         {"durationSeconds": 5}),
        ("veo-3.1-generate-001", {"prompt": "x", "image": img, "lastFrame": img, "cameraControl": "push_in"},
         {"resizeMode": "pad", "compressionQuality": "optimized"}),
        ("veo-3.1-generate-001", {"prompt": "x", "referenceImages": [ref] * 3}, {"durationSeconds": 8}),
    ]
    for model, inst, params in ok:
        r = http.post(tmpl.format(m=model), headers=bearer(), json={"instances": [inst], "parameters": params})
        assert r.status_code == 200, (model, r.text)


def test_vertex_interactions_gcs_delivery(fake, http):
    v = fake.urls["vertex"]
    url = f"{v}/v1beta1/projects/p/locations/global/interactions"
    assert http.post(url, json={"model": "gemini-omni-1.2-flash", "input": "x"}).status_code == 401
    ix = http.post(url, headers=bearer(), json={
        "model": "gemini-omni-1.1-flash-preview", "input": [{"type": "user_input", "content": [
            {"type": "text", "text": "a fox"}]}],
        "response_format": [{"type": "video", "delivery": "uri", "gcs_uri": "gs://omni-out/p/", "duration": "3s"}]}).json()
    assert ix["status"] == "completed" and ix["role"] == "model"
    [vb] = video_block(ix)
    assert vb["uri"].startswith("gs://omni-out/p/") and vb["uri"] in fake.gcs_objects()
    got = http.get(f"{v}/v1beta1/projects/p/locations/global/interactions/{ix['id']}", headers=bearer()).json()
    assert video_block(got)[0]["uri"] == vb["uri"]
    ix2 = http.post(f"{v}/v1beta1/interactions", params={"key": EXPRESS},
                    json={"model": "gemini-omni-1.2-flash", "input": "x"}).json()
    assert "data" in video_block(ix2)[0]
    r = http.post(url, headers=bearer(), json={"model": "gemini-omni-1.1-flash", "input": "x"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"


# ---------------------------------------------------------------------------
# GCS
# ---------------------------------------------------------------------------

def test_gcs_upload_download(fake, http):
    gcs = fake.urls["gcs"]
    data = bytes(range(256)) * 40
    assert http.get(f"{gcs}/storage/v1/b/b1/o/x").status_code == 401
    r = http.post(f"{gcs}/upload/storage/v1/b/b1/o", params={"uploadType": "media", "name": "dir/a.bin"},
                  data=data, headers={**bearer(), "Content-Type": "application/octet-stream"})
    assert r.status_code == 200 and r.json()["size"] == str(len(data)) and r.json()["name"] == "dir/a.bin"
    meta = http.get(f"{gcs}/storage/v1/b/b1/o/dir%2Fa.bin", headers=bearer()).json()
    assert meta["bucket"] == "b1" and meta["contentType"] == "application/octet-stream" and meta["md5Hash"]
    assert http.get(f"{gcs}/storage/v1/b/b1/o/dir%2Fa.bin", params={"alt": "media"}, headers=bearer()).content == data
    part = http.get(f"{gcs}/storage/v1/b/b1/o/dir%2Fa.bin", params={"alt": "media"},
                    headers={**bearer(), "Range": "bytes=10000-"})
    assert part.status_code == 206 and part.content == data[10000:]
    # resumable: start, a partial chunk (308), then the rest
    start = http.post(f"{gcs}/upload/storage/v1/b/b1/o", params={"uploadType": "resumable"},
                      json={"name": "big.mp4", "contentType": "video/mp4"}, headers=bearer())
    session = start.headers["Location"]
    r = http.put(session, data=data[:4096], headers={**bearer(), "Content-Range": f"bytes 0-4095/{len(data)}"})
    assert r.status_code == 308 and r.headers["Range"] == "bytes=0-4095"
    r = http.put(session, data=data[4096:], headers={**bearer(),
                                                      "Content-Range": f"bytes 4096-{len(data) - 1}/{len(data)}"})
    assert r.status_code == 200 and r.json()["contentType"] == "video/mp4"
    assert fake.gcs_get("b1", "big.mp4") == data
    fake.gcs_put("b2", "k/v.txt", b"hello", "text/plain")
    listing = http.get(f"{gcs}/storage/v1/b/b2/o", params={"prefix": "k/"}, headers=bearer()).json()
    assert [i["name"] for i in listing["items"]] == ["k/v.txt"]
    assert http.delete(f"{gcs}/storage/v1/b/b2/o/k%2Fv.txt", headers=bearer()).status_code == 204
    r = http.get(f"{gcs}/storage/v1/b/b2/o/k%2Fv.txt", headers=bearer())
    assert r.status_code == 404 and r.json()["error"]["code"] == 404
    assert sorted(fake.gcs_objects()) == ["gs://b1/big.mp4", "gs://b1/dir/a.bin"]


# ---------------------------------------------------------------------------
# CLIProxyAPI
# ---------------------------------------------------------------------------

def test_cliproxy_public_routes_and_auth(fake, http):
    p = fake.urls["cliproxy"]
    assert http.get(p + "/").json()["message"] == "CLI Proxy API Server"
    assert http.get(p + "/healthz").json() == {"status": "ok"}
    r = http.get(p + "/v1/models")
    assert r.status_code == 401 and r.json() == {"error": "Missing API key"}
    r = http.get(p + "/v1/models", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json() == {"error": "Invalid API key"}
    for headers, params in (({"Authorization": "Bearer ccs-internal-managed"}, {}), ({"X-Goog-Api-Key": PROXY_KEY}, {}),
                            ({"X-Api-Key": PROXY_KEY}, {}), ({}, {"key": PROXY_KEY})):
        r = http.get(p + "/v1/models", headers=headers, params=params)
        assert r.status_code == 200 and r.json()["object"] == "list"
    ids = [m["id"] for m in r.json()["data"]]
    assert "gemini-3-pro-image-preview" in ids and "gemini-2.5-pro" in ids


def chat(http, fake, **extra):
    body = {"model": "gemini-3-pro-image-preview", "modalities": ["image", "text"],
            "image_config": {"aspect_ratio": "16:9", "image_size": "2K"},
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "a lighthouse"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + png_b64()}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}
    body.update(extra)
    return http.post(fake.urls["cliproxy"] + "/v1/chat/completions", headers={"Authorization": f"Bearer {PROXY_KEY}"},
                     json=body)


def test_cliproxy_chat_completion_image(fake, http):
    r = chat(http, fake)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["created"] == 0
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["native_finish_reason"] == "stop"
    url = choice["message"]["images"][-1]["image_url"]["url"]
    mime, data = re.fullmatch(r"data:([^;]+);base64,(.+)", url, re.S).groups()
    assert mime == "image/png"
    assert Image.open(io.BytesIO(base64.b64decode(data))).size == (2752, 1536)
    assert isinstance(choice["message"]["content"], str) and body["usage"]["completion_tokens"] == 1120
    # the https image URL was dropped silently: only the data URI reached the "upstream"
    [rec] = fake.requests_for("cliproxy", "POST", "/v1/chat/completions")
    assert rec.json["messages"][0]["content"][2]["image_url"]["url"].startswith("https://")


def test_cliproxy_outcomes_errors_and_stream(fake, http):
    fake.config.image_outcome = "prompt_blocked"
    assert chat(http, fake).json()["choices"] == []
    fake.config.image_outcome = "image_safety"
    choice = chat(http, fake).json()["choices"][0]
    assert choice["finish_reason"] == "image_safety" and "images" not in choice["message"]
    fake.config.image_outcome = "ok"
    r = chat(http, fake, model="gemini-9-ultra")
    assert r.status_code == 400 and r.json()["error"] == {
        "message": "unknown provider for model gemini-9-ultra", "type": "invalid_request_error",
        "code": "model_not_found", "param": "model"}
    r = chat(http, fake, image_config={"image_size": "2k"})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"   # upstream error passed through
    fake.add_fault("cliproxy", "/v1/chat/completions", status=429, retry_delay="5s")
    assert chat(http, fake).json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    r = chat(http, fake, stream=True)
    assert r.headers["Content-Type"].startswith("text/event-stream")
    events = [line[6:] for line in r.text.split("\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert sum(len(c["choices"][0]["delta"].get("images", [])) for c in chunks) == 1


def test_cliproxy_gemini_passthrough(fake, http):
    p = fake.urls["cliproxy"]
    r = http.post(f"{p}/v1beta/models/gemini-3.1-flash-image-preview:generateContent",
                  headers={"x-goog-api-key": PROXY_KEY}, json={**image_request(aspectRatio="4:1"), "model": "x"})
    assert r.status_code == 200, r.text
    assert decode_image(final_image_parts(r.json())[0]).size == (2048, 512)
    r = http.post(f"{p}/v1beta/models/veo-3.1-generate-preview:predictLongRunning",
                  headers={"x-goog-api-key": PROXY_KEY}, json={"instances": [{"prompt": "x"}]})
    assert r.status_code == 200 and r.content == b""
    assert http.get(f"{p}/v1beta/operations/x", headers={"x-goog-api-key": PROXY_KEY}).status_code == 404
