"""video_gen.py and jobs.py end to end against the fake: every mode, durable jobs, outcomes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from mediagen.ops import frames
from mediagen.cli.jobs import main as jobs_main
from mediagen.cli.video_gen import main
from mediagen.core.resources import script_command
from tests.conftest import GEMINI_KEY, ROOT





def png(path: Path, color=(10, 120, 200), size=(64, 36)) -> str:
    Image.new("RGB", size, color).save(path, format="PNG")
    return str(path)


def creates(fake, fragment):
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith(fragment)]


def playable(path: str, expected_s: float | None = None) -> float:
    info = frames.probe(Path(path))
    kinds = {s["codec_type"] for s in info["streams"]}
    assert "video" in kinds
    length = float(info["format"]["duration"])
    if expected_s is not None:
        assert abs(length - expected_s) < 0.5
    return length


def kill_while_polling(env: dict, tmp_path: Path) -> dict:
    """Start video_gen.py, SIGKILL it once its job has polled twice; return the job record."""
    env = {**env, "MEDIAGEN_POLL_INTERVAL_S": "0.2", "PYTHONPATH": str(ROOT)}
    store = Path(env["XDG_STATE_HOME"]) / "mediagen" / "jobs"
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "video_gen.py"), "a cat walking"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    records: list[dict] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (records and records[0].get("polls", 0) >= 2):
            records = [json.loads(p.read_text()) for p in store.glob("*.json")] if store.is_dir() else []
            time.sleep(0.1)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert records and records[0].get("polls", 0) >= 2, "the job never started polling"
    return records[0]


# -- Gemini Omni with an API key ------------------------------------------------------------

def test_api_key_only_makes_a_playable_omni_video(run, fake, omni_env) -> None:
    result = run(main, "a cat walking", env=omni_env)
    assert result.code == 0, result.doc
    assert result.doc["model"]["id"] == "gemini-omni-1.2-flash" and result.doc["state"] == "succeeded"
    video = result.doc["videos"][0]
    playable(video["path"], 8)
    sidecar = json.loads(Path(video["sidecar"]).read_text())
    assert sidecar["omni"]["interaction_id"] == result.doc["operation"] and sidecar["mode"] == "text_to_video"
    assert sidecar["cost"]["actual_usd"] == pytest.approx(8 * 5792 * 17.5 / 1e6)
    create = creates(fake, "/v1beta/interactions")[0]
    assert create.json == {"model": "gemini-omni-1.2-flash", "background": True, "input": "a cat walking",
                           "response_format": {"type": "video", "aspect_ratio": "16:9", "resolution": "720p",
                                               "duration": "8s"}}
    assert create.headers["x-goog-api-key"] == GEMINI_KEY
    assert GEMINI_KEY not in result.stdout + result.stderr + Path(video["sidecar"]).read_text()


def test_veo_with_api_key_is_refused_naming_omni_and_vertex(run, fake, omni_env) -> None:
    result = run(main, "a cat walking", "--model", "veo-3.1-generate-preview", env=omni_env)
    assert result.code == 2 and not fake.requests
    text = result.doc["error"]["message"] + result.doc["error"]["hint"]
    assert "gemini-omni" in text and "vertex" in text.lower()


def test_omni_image_modes_bind_media_with_prompt_tags(run, fake, omni_env, tmp_path) -> None:
    first, last = png(tmp_path / "a.png"), png(tmp_path / "b.png", (200, 10, 10))
    result = run(main, "the flower opens", "--image", first, "--last-frame", last, "--duration", "6", env=omni_env)
    assert result.code == 0, result.doc
    body = creates(fake, "/v1beta/interactions")[0].json
    kinds = [(b["type"], b.get("mime_type")) for b in body["input"]]
    assert kinds == [("image", "image/png"), ("image", "image/png"), ("text", None)]
    assert body["input"][-1]["text"] == "<FIRST_FRAME> <LAST_FRAME> the flower opens"
    assert body["response_format"]["duration"] == "6s" and result.doc["mode"] == "first_last_frame"
    fake.clear()
    refs = [png(tmp_path / f"r{i}.png") for i in range(2)]
    result = run(main, "two friends wave", "--reference-image", refs[0], "--reference-image", f"{refs[1]}:asset",
                 env=omni_env)
    assert result.code == 0 and result.doc["mode"] == "reference_to_video"
    text = creates(fake, "/v1beta/interactions")[0].json["input"][-1]["text"]
    assert text.startswith("<IMAGE_REF_0> <IMAGE_REF_1> ")


def test_omni_extension_uses_previous_interaction_and_inherits(run, fake, omni_env) -> None:
    first = run(main, "a cat walking", "--aspect-ratio", "9:16", "--duration", "6", env=omni_env)
    assert first.code == 0, first.doc
    source = first.doc["videos"][0]["path"]
    shown = run(main, "--show-defaults", "--extend-video", source, env=omni_env)
    settings = shown.doc["settings"]
    assert settings["aspect_ratio"]["value"] == "9:16" and settings["aspect_ratio"]["source"].startswith("sidecar:")
    assert settings["model"]["source"].startswith("sidecar:")
    fake.clear()
    extended = run(main, "the cat jumps onto a roof", "--extend-video", source, "--duration", "4", env=omni_env)
    assert extended.code == 0, extended.doc
    body = creates(fake, "/v1beta/interactions")[0].json
    assert body["previous_interaction_id"] == first.doc["operation"]
    assert body["generation_config"] == {"video_config": {"task": "extend"}}
    assert body["response_format"]["aspect_ratio"] == "9:16" and "input" in body
    assert playable(extended.doc["videos"][0]["path"]) > playable(source) + 3


def test_omni_failed_and_filtered(run, fake, omni_env) -> None:
    fake.config.interaction_outcome = "failed"
    failed = run(main, "a cat walking", env=omni_env)
    assert failed.code == 7 and "safety" in failed.doc["error"]["message"].lower()
    fake.config.interaction_outcome = "no_video"
    empty = run(main, "a cat walking", env=omni_env)
    assert empty.code == 7 and empty.doc["error"]["type"] == "blocked"
    ledger = Path(omni_env["XDG_STATE_HOME"]) / "mediagen" / "ledger.jsonl"
    finals = [json.loads(line) for line in ledger.read_text().splitlines() if '"blocked"' in line]
    assert len(finals) == 2 and all(entry["actual_usd"] == 0.0 for entry in finals)


def test_no_wait_then_jobs_wait(run, fake, omni_env) -> None:
    fake.config.interaction_polls_until_done = 3
    started = run(main, "a cat walking", "--no-wait", env=omni_env)
    assert started.code == 0 and started.doc["state"] == "running"
    job_id = started.doc["job_id"]
    listed = run(jobs_main, "list", env=omni_env)
    assert listed.doc["jobs"][0]["job_id"] == job_id and listed.doc["jobs"][0]["state"] == "running"
    finished = run(jobs_main, "wait", job_id, env=omni_env)
    assert finished.code == 0 and finished.doc["state"] == "succeeded"
    again = run(jobs_main, "download", job_id, env=omni_env)
    assert again.doc["videos"] == finished.doc["videos"]
    assert len(creates(fake, "/v1beta/interactions")) == 1


def test_wait_timeout_exits_still_running_with_job_id(run, fake, omni_env) -> None:
    fake.config.interaction_polls_until_done = 1000
    result = run(main, "a cat walking", "--wait-timeout", "0.3", env=omni_env)
    assert result.code == 8 and result.doc["error"]["type"] == "still_running"
    job_id = result.doc["job_id"]
    assert script_command("jobs.py", "wait", job_id) in result.doc["error"]["hint"]      # works from any folder
    polls_before = len([r for r in fake.requests if r.method == "GET" and "/interactions/" in r.path])
    status = run(jobs_main, "status", job_id, env=omni_env)
    assert status.code == 8
    polls_after = len([r for r in fake.requests if r.method == "GET" and "/interactions/" in r.path])
    assert polls_after == polls_before + 1          # status polls exactly once, never creates
    fake.config.interaction_polls_until_done = 0
    done = run(jobs_main, "status", job_id, env=omni_env)
    assert done.code == 0 and done.doc["state"] == "succeeded" and Path(done.doc["videos"][0]["path"]).is_file()
    assert len(creates(fake, "/v1beta/interactions")) == 1


def test_kill_during_polling_then_resume_sends_one_create(fake, omni_env, tmp_path, run) -> None:
    fake.config.interaction_polls_until_done = 100000
    record = kill_while_polling(omni_env, tmp_path)
    fake.config.interaction_polls_until_done = 0
    result = run(jobs_main, "wait", record["job_id"], env=omni_env)
    assert result.code == 0, result.doc
    playable(result.doc["videos"][0]["path"])
    assert len(creates(fake, "/v1beta/interactions")) == 1


def test_create_timeout_is_recorded_and_never_resent(run, fake, omni_env) -> None:
    fake.add_fault(service="gemini", path_contains="/interactions", method="POST", status=500)
    result = run(main, "a cat walking", env=omni_env)
    assert result.code == 5 and len(creates(fake, "/v1beta/interactions")) == 1
    job_id = result.doc["error"]["details"]["job_id"]
    resumed = run(jobs_main, "wait", job_id, env=omni_env)
    assert resumed.code == 5 and "will not resend" in resumed.doc["error"]["hint"]
    assert len(creates(fake, "/v1beta/interactions")) == 1


def test_429_on_a_poll_is_retried(run, fake, omni_env) -> None:
    fake.add_fault(service="gemini", path_contains="/interactions/", method="GET", status=429, retry_delay="0.1s")
    result = run(main, "a cat walking", env=omni_env)
    assert result.code == 0, result.doc
    polls = [r.status for r in fake.requests if r.method == "GET" and "/interactions/" in r.path]
    assert polls[0] == 429 and polls[-1] == 200


# -- Veo on Vertex -------------------------------------------------------------------------

def test_vertex_text_to_video_base64_result(run, fake, vertex_env) -> None:
    result = run(main, "a cat walking", "--resolution", "1080p", "--no-audio", "--seed", "5", env=vertex_env)
    assert result.code == 0, result.doc
    create = creates(fake, ":predictLongRunning")[0]
    assert create.path == ("/v1/projects/fake-project/locations/us-central1/publishers/google/models/"
                           "veo-3.1-fast-generate-001:predictLongRunning")
    assert create.json == {"instances": [{"prompt": "a cat walking"}],
                           "parameters": {"durationSeconds": 8, "aspectRatio": "16:9", "resolution": "1080p",
                                          "sampleCount": 1, "seed": 5, "generateAudio": False}}
    polls = [r for r in fake.requests if r.path.endswith(":fetchPredictOperation")]
    assert polls and polls[0].json["operationName"] == result.doc["operation"]
    playable(result.doc["videos"][0]["path"], 8)
    assert result.doc["cost"]["actual_usd"] == pytest.approx(result.doc["cost"]["estimate_usd"])


def test_vertex_image_modes_wire(run, fake, vertex_env, tmp_path) -> None:
    first, last = png(tmp_path / "a.png"), png(tmp_path / "b.png", (250, 0, 0))
    result = run(main, "it blooms", "--image", first, "--last-frame", last, "--resize-mode", "crop",
                 "--camera", "push_in", env=vertex_env)
    assert result.code == 0, result.doc
    instance = creates(fake, ":predictLongRunning")[0].json["instances"][0]
    assert set(instance) == {"prompt", "image", "lastFrame", "cameraControl"}
    assert instance["image"]["mimeType"] == "image/png" and "bytesBase64Encoded" in instance["image"]
    assert creates(fake, ":predictLongRunning")[0].json["parameters"]["resizeMode"] == "crop"
    fake.clear()
    refs = [png(tmp_path / f"r{i}.png") for i in range(3)]
    result = run(main, "three toys on a table", *sum((["--reference-image", r] for r in refs), []),
                 env=vertex_env)
    assert result.code == 0, result.doc
    references = creates(fake, ":predictLongRunning")[0].json["instances"][0]["referenceImages"]
    assert [r["referenceType"] for r in references] == ["asset"] * 3


def test_vertex_style_reference_and_mask_edit_on_veo2_exp(run, fake, vertex_env, tmp_path) -> None:
    style = png(tmp_path / "style.png")
    result = run(main, "a city in this style", "--model", "veo-2.0-generate-exp",
                 "--reference-image", f"{style}:style", "--duration", "8", env=vertex_env)
    assert result.code == 0, result.doc
    ref = creates(fake, ":predictLongRunning")[0].json["instances"][0]["referenceImages"][0]
    assert ref["referenceType"] == "style"
    clip = result.doc["videos"][0]["path"]
    fake.clear()
    mask = png(tmp_path / "mask.png", (255, 255, 255))
    edited = run(main, "a red balloon", "--model", "veo-2.0-generate-exp", "--video", clip, "--mask", mask,
                 "--mask-mode", "insert", env=vertex_env)
    assert edited.code == 0, edited.doc
    instance = creates(fake, ":predictLongRunning")[0].json["instances"][0]
    assert instance["mask"]["maskMode"] == "insert" and instance["video"]["mimeType"] == "video/mp4"
    assert edited.doc["mode"] == "edit"


def test_refusals_before_any_request(run, fake, vertex_env, omni_env, tmp_path) -> None:
    mask, clip = png(tmp_path / "m.png"), str(tmp_path / "c.mp4")
    Path(clip).write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    cases = [
        (omni_env, ["x", "--video", clip, "--mask", mask]),                                   # mask: Vertex only
        (vertex_env, ["x", "--reference-image", f"{mask}:style"]),                            # style: veo-2.0-exp only
        (vertex_env, ["x", "--resolution", "4k", "--duration", "6"]),                         # 4k needs 8 s
        (vertex_env, ["x", "--last-frame", mask]),                                             # last frame needs first
        (vertex_env, ["x", "--image", mask, "--reference-image", mask]),                      # refs exclude frames
        (omni_env, ["x", "--duration", "16"]),                                                 # Omni 1.2: 3-15 s
    ]
    for env, argv in cases:
        result = run(main, *argv, env=env)
        assert result.code == 2, (argv, result.doc)
        assert result.doc["error"]["hint"], argv
    assert not [r for r in fake.requests if r.method == "POST"]
    proxy = run(main, "x", env={**omni_env, "GEMINI_API_KEY": "", "CLIPROXY_URL": fake.urls["cliproxy"]})
    assert proxy.code == 2 and "Omni" in proxy.doc["error"]["hint"]


def test_style_reference_on_default_veo_hints_at_omni_and_veo2_exp(run, fake, vertex_env, tmp_path) -> None:
    style = png(tmp_path / "style.png")
    result = run(main, "a city in this style", "--reference-image", f"{style}:style", "--duration", "8",
                 env=vertex_env)
    assert result.code == 2
    hint = result.doc["error"]["hint"]
    assert "gemini-omni" in hint and "--model veo-2.0-generate-exp (allow-listed projects only; it may be gone)" in hint
    assert not [r for r in fake.requests if r.method == "POST"]


def test_vertex_storage_uri_result_downloaded_from_gcs_and_uploaded(run, fake, vertex_env) -> None:
    result = run(main, "a cat walking", "--storage-uri", "gs://bucket/out/", "--upload-gcs", "gs://bucket/copies/",
                 env=vertex_env)
    assert result.code == 0, result.doc
    assert creates(fake, ":predictLongRunning")[0].json["parameters"]["storageUri"] == "gs://bucket/out/"
    downloads = [r for r in fake.requests if r.service == "gcs" and r.method == "GET"]
    assert downloads and downloads[0].query.get("alt") == ["media"]
    assert downloads[0].headers["authorization"].startswith("Bearer ")
    video = result.doc["videos"][0]
    assert video["gcs_uri"].startswith("gs://bucket/copies/") and video["remote"]["gcs_uri"].startswith("gs://bucket/out/")
    assert any(o.startswith("gs://bucket/copies/") for o in fake.gcs_objects())


def test_vertex_extension_of_gcs_clip_and_local_clip(run, fake, vertex_env) -> None:
    made = run(main, "a cat walking", "--storage-uri", "gs://bucket/out/", env=vertex_env)
    source = made.doc["videos"][0]["remote"]["gcs_uri"]
    fake.clear()
    result = run(main, "it keeps walking", "--extend-video", source, "--model", "veo-3.1-generate-001",
                 env=vertex_env)
    assert result.code == 0, result.doc
    body = creates(fake, ":predictLongRunning")[0].json
    assert body["instances"][0]["video"] == {"gcsUri": source, "mimeType": "video/mp4"}
    assert "durationSeconds" not in body["parameters"]
    assert result.doc["cost"]["estimate_usd"] == pytest.approx(7 * 0.40)
    fake.clear()
    local = made.doc["videos"][0]["path"]
    result = run(main, "it keeps walking", "--extend-video", local, "--model", "veo-3.1-generate-001",
                 env=vertex_env)
    assert result.code == 0, result.doc
    assert "bytesBase64Encoded" in creates(fake, ":predictLongRunning")[0].json["instances"][0]["video"]


@pytest.mark.parametrize("outcome, code, needle", [("rai_filtered", 7, "filter"), ("error", 5, "INVALID_ARGUMENT")])
def test_vertex_filtered_and_failed_operations(run, fake, vertex_env, outcome, code, needle) -> None:
    fake.config.video_outcome = outcome
    result = run(main, "a cat walking", env=vertex_env)
    assert result.code == code, result.doc
    assert needle.lower() in (result.doc["error"]["message"] + json.dumps(result.doc["error"].get("details"))).lower()
    assert result.doc["cost"]["actual_usd"] == 0.0


def test_500_on_veo_create_is_not_retried(run, fake, vertex_env) -> None:
    fake.add_fault(service="vertex", path_contains=":predictLongRunning", status=500)
    result = run(main, "a cat walking", env=vertex_env)
    assert result.code == 5 and len(creates(fake, ":predictLongRunning")) == 1


def test_remix_extracts_frames(run, fake, vertex_env) -> None:
    made = run(main, "a cat walking", env=vertex_env)
    clip = made.doc["videos"][0]["path"]
    fake.clear()
    result = run(main, "same scene at night", "--remix", clip, "--remix-start", "1", "--remix-end", "0:05",
                 "--remix-last-frame", env=vertex_env)
    assert result.code == 0, result.doc
    instance = creates(fake, ":predictLongRunning")[0].json["instances"][0]
    assert {"image", "lastFrame"} <= set(instance) and result.doc["mode"] == "first_last_frame"


# -- Veo on the Gemini API, if Google serves it again (catalog override) ----------------------

def test_gemini_api_veo_download_follows_redirect_with_key_and_resumes(run, fake, omni_env, tmp_path) -> None:
    override = tmp_path / "override.yaml"
    override.write_text("models:\n  - id: veo-3.1-fast-generate-preview\n    backends:\n      gemini-api:\n"
                        "        status: preview\n        shutdown: null\n")
    fake.config.gemini_veo_served = True
    fake.config.download_reset_after_bytes = 4096
    env = {**omni_env, "MEDIAGEN_CATALOG_OVERRIDE": str(override)}
    result = run(main, "a cat walking", "--model", "veo-3.1-fast-generate-preview", env=env)
    assert result.code == 0, result.doc
    download = [r for r in fake.requests if ":download" in r.path][0]
    assert download.headers["x-goog-api-key"] == GEMINI_KEY and "key" not in download.query
    blobs = [r for r in fake.requests if r.path.startswith("/_blob/")]
    assert len(blobs) == 2 and blobs[1].headers["range"] == "bytes=4096-"
    playable(result.doc["videos"][0]["path"])
    sidecar = json.loads(Path(result.doc["videos"][0]["sidecar"]).read_text())
    assert sidecar["remote"]["uri"].endswith(":download?alt=media") and sidecar["remote"]["expires"]


# -- Omni on Vertex, API versions, cancel ------------------------------------------------------

def test_omni_on_vertex_uses_global_interactions_and_gcs_delivery(run, fake, vertex_env) -> None:
    result = run(main, "a cat walking", "--model", "gemini-omni-1.1-flash", "--storage-uri", "gs://bucket/omni/",
                 env=vertex_env)
    assert result.code == 0, result.doc
    create = creates(fake, "/interactions")[0]
    assert create.path == "/v1beta1/projects/fake-project/locations/global/interactions"
    assert create.json["model"] == "gemini-omni-1.1-flash-preview"
    assert create.json["response_format"] == [{"type": "video", "aspect_ratio": "16:9", "resolution": "720p",
                                               "duration": "8s", "delivery": "uri", "gcs_uri": "gs://bucket/omni/"}]
    assert create.headers["authorization"].startswith("Bearer ")
    assert result.doc["videos"][0]["remote"]["gcs_uri"].startswith("gs://bucket/omni/")
    playable(result.doc["videos"][0]["path"])


def test_gemini_api_version_is_configurable(run, fake, omni_env) -> None:
    result = run(main, "a cat walking", env={**omni_env, "MEDIAGEN_GEMINI_API_VERSION": "v1"})
    assert result.code == 0, result.doc
    assert creates(fake, "/v1/interactions") and not creates(fake, "/v1beta/interactions")
    polls = [r for r in fake.requests if r.method == "GET" and "/interactions/" in r.path]
    assert polls and all(r.path.startswith("/v1/interactions/") for r in polls)


def test_cancel_omni_job(run, fake, omni_env) -> None:
    fake.config.interaction_polls_until_done = 1000
    started = run(main, "a cat walking", "--no-wait", env=omni_env)
    cancelled = run(jobs_main, "cancel", started.doc["job_id"], env=omni_env)
    assert cancelled.code == 0 and cancelled.doc["cancelled_remotely"] is True
    assert [r for r in fake.requests if r.path.endswith("/cancel")]
    listed = run(jobs_main, "list", "--state", "cancelled", env=omni_env)
    assert listed.doc["jobs"][0]["job_id"] == started.doc["job_id"]
    waited = run(jobs_main, "wait", started.doc["job_id"], env=omni_env)
    assert waited.code == 5 and "cancelled" in waited.doc["error"]["message"]


def test_omni_reference_video_and_uploaded_clip_extension(run, fake, omni_env, tmp_path) -> None:
    made = run(main, "a cat walking", "--duration", "3", env=omni_env)
    clip = Path(made.doc["videos"][0]["path"])
    foreign = tmp_path / "mine.mp4"             # a clip with no sidecar: sent inline
    foreign.write_bytes(clip.read_bytes())
    fake.clear()
    result = run(main, "a dog joins", "--reference-video", str(foreign), env=omni_env)
    assert result.code == 0, result.doc
    body = creates(fake, "/v1beta/interactions")[0].json
    assert [b["type"] for b in body["input"]] == ["video", "text"]
    assert body["input"][-1]["text"].startswith("<VIDEO_REF_0> ")
    fake.clear()
    result = run(main, "continue the scene", "--extend-video", str(foreign), "--duration", "4", env=omni_env)
    assert result.code == 0, result.doc
    body = creates(fake, "/v1beta/interactions")[0].json
    assert "previous_interaction_id" not in body and body["input"][0]["type"] == "video"
    assert body["generation_config"]["video_config"]["task"] == "extend"


def test_vertex_kill_during_polling_then_resume(fake, vertex_env, tmp_path, run) -> None:
    fake.config.operation_polls_until_done = 100000
    record = kill_while_polling(vertex_env, tmp_path)
    assert record["handle"].startswith("projects/fake-project/")
    fake.config.operation_polls_until_done = 0
    result = run(jobs_main, "wait", record["job_id"], env=vertex_env)
    assert result.code == 0, result.doc
    playable(result.doc["videos"][0]["path"])
    assert len(creates(fake, ":predictLongRunning")) == 1


def test_show_defaults_of_jobs_and_estimate_send_nothing(run, fake, omni_env) -> None:
    from mediagen.cli.estimate_cost import main as estimate_main

    shown = run(jobs_main, "list", "--show-defaults", env=omni_env)
    assert shown.code == 0 and "job_store" in shown.doc["settings"]
    estimate = run(estimate_main, "video", "--duration", "6", "--show-defaults", env=omni_env)
    assert estimate.code == 0 and estimate.doc["settings"]["duration"] == {"value": 6, "source": "cli"}
    assert not fake.requests


def test_estimate_cost_prices_shot_lists_and_batch_files(run, fake, omni_env, tmp_path) -> None:
    from mediagen.cli.estimate_cost import main as estimate_main

    shots = tmp_path / "shots.yaml"
    shots.write_text("version: 1\ntitle: t\nshots:\n"
                     "  - {id: a, prompt: a cat walks, duration: 6, transition: cut}\n"
                     "  - {id: b, prompt: the cat sits, duration: 4, transition: continue}\n")
    board = run(estimate_main, "shotlist", str(shots), env=omni_env)
    assert board.code == 0, board.doc
    assert board.doc["budget"]["total_usd"] == pytest.approx(10 * 5792 * 17.5 / 1e6, rel=1e-3)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red fox\na blue bird\n")
    online = run(estimate_main, "batch", str(prompts), env=omni_env)
    viaapi = run(estimate_main, "batch", str(prompts), "--via", "batch-api", env=omni_env)
    assert online.code == 0 and viaapi.code == 0, (online.doc, viaapi.doc)
    assert viaapi.doc["cost"]["batch_usd"] == pytest.approx(online.doc["cost"]["estimate_usd"] / 2)
    assert not fake.requests


def test_failing_polls_leave_a_resumable_job(run, fake, omni_env) -> None:
    fake.add_fault(service="gemini", path_contains="/interactions/", method="GET", status=500, times=4)
    failed = run(main, "a cat walking", env=omni_env)
    assert failed.code == 5 and 'jobs.py" wait' in failed.doc["error"]["hint"]
    job_id = failed.doc["error"]["details"]["job_id"]
    resumed = run(jobs_main, "wait", job_id, env=omni_env)
    assert resumed.code == 0, resumed.doc
    assert len(creates(fake, "/v1beta/interactions")) == 1
