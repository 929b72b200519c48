"""storyboard.py end to end against the fake: budget gate, continuity, extension, resume, redo, stitching."""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mediagen.ops import frames
from mediagen.ops.storyboard import stitch
from mediagen.cli.storyboard import main
from tests.conftest import ROOT

STYLE = "warm morning light, 35mm film look"




def shot_list(tmp_path: Path, shots: list[dict], name: str = "board.yaml", **top) -> str:
    """Write a shot list (the agent's format) and return its path."""
    doc = {"version": 1, "title": top.pop("title", "Morning ritual"), "style": STYLE, **top, "shots": shots}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def shot(ident: str, prompt: str, duration: int, transition: str = "cut", **extra) -> dict:
    return {"id": ident, "prompt": prompt, "duration": duration, "transition": transition, **extra}


def creates(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and
            (r.path.endswith("/interactions") or r.path.endswith(":predictLongRunning"))]


def create_image_bytes(request) -> bytes:
    """The first-frame image a video create request carries (Omni input block or Veo instance)."""
    body = request.json
    if "instances" in body:
        return base64.b64decode(body["instances"][0]["image"]["bytesBase64Encoded"])
    block = next(b for b in body["input"] if isinstance(b, dict) and b.get("type") == "image")
    return base64.b64decode(block["data"])


def manifest_of(doc: dict) -> dict:
    return json.loads(Path(doc["manifest"]).read_text())


def streams(path: str) -> tuple[float, set]:
    info = frames.probe(Path(path))
    return float(info["format"]["duration"]), {s["codec_type"] for s in info["streams"]}


# -- acceptance: continue transitions -----------------------------------------------------------

@pytest.mark.parametrize("backend, durations", [("omni", (4, 5, 6)), ("vertex", (4, 6, 8))])
def test_continue_chain_sends_last_frames_and_stitches_a_playable_film(run, fake, omni_env, vertex_env, tmp_path,
                                                                       backend, durations) -> None:
    env = omni_env if backend == "omni" else vertex_env
    prompts = ["Hands grind coffee beans in a sunbeam", "The barista pours latte art", "A customer smiles"]
    path = shot_list(tmp_path, [shot("s1", prompts[0], durations[0], camera="slow push in"),
                                shot("s2", prompts[1], durations[1], "continue"),
                                shot("s3", prompts[2], durations[2], "continue")])
    result = run(main, path, "--approve", env=env)
    assert result.code == 0, result.doc
    sent = creates(fake)
    assert len(sent) == 3
    folder = Path(result.doc["folder"])
    for index in (2, 3):
        frame = folder / "frames" / f"{index:02d}-s{index}-first.png"
        assert create_image_bytes(sent[index - 1]) == frame.read_bytes()       # the PNG mediagen extracted
    previous_clip = Path(result.doc["shots"][0]["file"])
    probe = folder / "probe.png"
    frames.last_frame(previous_clip, probe)
    assert probe.read_bytes() == (folder / "frames" / "02-s2-first.png").read_bytes()
    first_text = json.dumps(sent[0].json)
    assert STYLE in first_text and "Camera: slow push in." in first_text
    length, kinds = streams(result.doc["final"]["path"])
    assert abs(length - sum(durations)) < 0.5 and kinds == {"video", "audio"}
    assert result.doc["final"]["has_audio"] is True
    manifest = manifest_of(result.doc)
    for entry, out in zip(manifest["shots"], result.doc["shots"], strict=True):
        assert entry["state"] == out["state"] == "succeeded"
        assert entry["job_id"] == out["job_id"] and Path(folder / entry["file"]) == Path(out["file"])
        assert entry["cost"]["actual_usd"] == pytest.approx(entry["cost"]["estimate_usd"])
    assert result.doc["cost"]["actual_usd"] == pytest.approx(sum(s["cost"]["actual_usd"] for s in result.doc["shots"]))
    page = (folder / "index.html").read_text()
    assert all(p in page for p in prompts) and "final.mp4" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page


# -- the budget gate -------------------------------------------------------------------------------

def test_without_approval_exit_9_prints_the_budget_and_sends_nothing(run, fake, omni_env, tmp_path) -> None:
    path = shot_list(tmp_path, [shot("s1", "a cat on a fence", 4), shot("s2", "it jumps down", 6, "continue")])
    refused = run(main, path, env=omni_env)
    assert refused.code == 9 and refused.doc["error"]["type"] == "approval_required"
    assert "--approve" in refused.doc["error"]["hint"]
    budget = refused.doc["budget"]
    assert [s["estimate_usd"] for s in budget["shots"]] == pytest.approx([4 * 5792 * 17.5 / 1e6, 6 * 5792 * 17.5 / 1e6])
    assert budget["to_spend_usd"] == pytest.approx(sum(s["estimate_usd"] for s in budget["shots"]))
    assert [s["mode"] for s in budget["shots"]] == ["text_to_video", "image_to_video"]
    too_low = run(main, path, "--max-cost", "0.5", env=omni_env)
    assert too_low.code == 9 and too_low.doc["error"]["type"] == "budget_exceeded"
    estimate = run(main, path, "--estimate-cost", env=omni_env)
    assert estimate.code == 0 and estimate.doc["budget"]["to_spend_usd"] == budget["to_spend_usd"]
    dry = run(main, path, "--dry-run", env=omni_env)
    assert dry.code == 0 and dry.doc["shots"][0]["requests"][0]["request"]["method"] == "POST"
    assert "last frame" in dry.doc["shots"][1]["note"]
    assert not fake.requests and not Path(refused.doc["folder"]).exists()
    covered = run(main, path, "--max-cost", "2", env=omni_env)
    assert covered.code == 0, covered.doc
    assert len(creates(fake)) == 2


def test_invalid_shot_lists_are_refused_before_sending(run, fake, omni_env, tmp_path) -> None:
    cases = [
        ([shot("s1", "x", 4, "fade")], "transition"),                                    # schema
        ([shot("s1", "x", 4, "continue")], "first shot"),                                # nothing to continue
        ([shot("s1", "x", 4), shot("s1", "y", 4)], "two shots"),                         # duplicate id
        ([shot("s1", "x", 16)], "shot 1 (s1)"),                                          # Omni 1.2 takes 3-15 s
        ([shot("s1", "x", 4, references=["nobody"])], "unknown reference"),
        ([shot("s1", "x", 4), shot("s2", "y", 4, "continue", keyframe="a still")], "keyframe"),
        ([shot("s1", "x", 4, image="missing.png")], "not found"),
    ]
    for index, (shots, needle) in enumerate(cases):
        result = run(main, shot_list(tmp_path, shots, name=f"bad{index}.yaml"), "--approve", env=omni_env)
        assert result.code == 2, (needle, result.doc)
        assert needle in result.doc["error"]["message"] and result.doc["error"]["hint"], result.doc["error"]
    assert not fake.requests


# -- resuming ----------------------------------------------------------------------------------

def test_rerun_after_completion_sends_nothing_and_keeps_the_film(run, fake, omni_env, tmp_path) -> None:
    path = shot_list(tmp_path, [shot("s1", "a cat on a fence", 4), shot("s2", "it jumps down", 4, "continue")])
    first = run(main, path, "--approve", env=omni_env)
    assert first.code == 0, first.doc
    stitched = manifest_of(first.doc)["final"]["stitched"]
    fake.clear()
    again = run(main, path, env=omni_env)                   # nothing to spend: no approval needed
    assert again.code == 0, again.doc
    assert not fake.requests
    assert [s["job_id"] for s in again.doc["shots"]] == [s["job_id"] for s in first.doc["shots"]]
    assert manifest_of(again.doc)["final"]["stitched"] == stitched


def test_running_jobs_are_resumed_without_new_create_requests(run, fake, omni_env, tmp_path) -> None:
    fake.config.interaction_polls_until_done = 100000
    path = shot_list(tmp_path, [shot("s1", "a cat on a fence", 4), shot("s2", "a dog in a yard", 4),
                                shot("s3", "the dog barks", 4, "continue")])
    stopped = run(main, path, "--approve", "--wait-timeout", "0.4", env=omni_env)
    assert stopped.code == 8 and stopped.doc["error"]["type"] == "still_running", stopped.doc
    states = {s["id"]: (s["state"], s["job_id"]) for s in stopped.doc["shots"]}
    assert states["s1"][0] == states["s2"][0] == "running" and states["s3"] == ("pending", None)
    assert len(creates(fake)) == 2
    fake.config.interaction_polls_until_done = 0
    resumed = run(main, path, "--approve", env=omni_env)
    assert resumed.code == 0, resumed.doc
    assert len(creates(fake)) == 3                           # only s3 is new
    assert [s["job_id"] for s in resumed.doc["shots"][:2]] == [states["s1"][1], states["s2"][1]]


def test_killed_run_resumes_its_jobs_without_new_create_requests(run, fake, omni_env, tmp_path) -> None:
    fake.config.interaction_polls_until_done = 100000
    path = shot_list(tmp_path, [shot("s1", "a cat on a fence", 4), shot("s2", "a dog in a yard", 4)])
    folder = tmp_path / "board"
    env = {**omni_env, "MEDIAGEN_POLL_INTERVAL_S": "0.2", "PYTHONPATH": str(ROOT / "scripts")}
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "storyboard.py"), path, "--approve", "-o",
                             str(folder)], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            manifest = folder / "manifest.json"
            states = [s.get("state") for s in json.loads(manifest.read_text())["shots"]] if manifest.is_file() else []
            if states == ["running", "running"]:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the storyboard never reached the polling stage")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert len(creates(fake)) == 2
    fake.config.interaction_polls_until_done = 0
    resumed = run(main, path, "-o", str(folder), env=omni_env)          # only resumes: nothing new to approve
    assert resumed.code == 0, resumed.doc
    assert len(creates(fake)) == 2 and all(s["state"] == "succeeded" for s in resumed.doc["shots"])


def test_one_run_per_folder(run, fake, omni_env, tmp_path) -> None:
    from filelock import FileLock

    path = shot_list(tmp_path, [shot("s1", "a cat on a fence", 4)])
    folder = tmp_path / "board"
    folder.mkdir()
    with FileLock(str(folder / ".storyboard.lock")):
        busy = run(main, path, "--approve", "-o", str(folder), env=omni_env)
    assert busy.code == 2 and "another storyboard.py run" in busy.doc["error"]["message"] and not fake.requests


def test_missing_credentials_stop_the_run_without_failing_shots(run, fake, fake_env, tmp_path) -> None:
    path = shot_list(tmp_path, [shot("s1", "a cat on a fence", 4)])
    priced = run(main, path, "--estimate-cost", env=fake_env)
    assert priced.code == 0 and priced.doc["budget"]["to_spend_usd"] > 0
    result = run(main, path, "--approve", env=fake_env)
    assert result.code == 3 and not fake.requests
    manifest = Path(result.doc.get("manifest") or priced.doc["manifest"])
    assert not manifest.exists() or json.loads(manifest.read_text())["shots"][0]["state"] != "failed"


def test_a_failed_shot_is_regenerated_alone_with_redo(run, fake, omni_env, tmp_path) -> None:
    fake.add_fault(service="gemini", path_contains="/interactions", method="POST", status=400)
    path = shot_list(tmp_path, [shot("s1", "a cat on a fence", 4), shot("s2", "a dog in a yard", 4)])
    failed = run(main, path, "--approve", "--concurrency", "1", env=omni_env)
    assert failed.code == 5 and "--redo 1" in failed.doc["error"]["hint"], failed.doc
    assert [s["state"] for s in failed.doc["shots"]] == ["failed", "succeeded"]
    assert Path(failed.doc["html"]).is_file() and failed.doc["final"] is None
    good_job = failed.doc["shots"][1]["job_id"]
    fake.clear()
    again = run(main, path, env=omni_env)                    # a plain rerun never retries a failed shot
    assert again.code == 5 and not creates(fake)
    unapproved = run(main, path, "--redo", "1", env=omni_env)
    assert unapproved.code == 9 and not creates(fake)
    redone = run(main, path, "--redo", "s1", "--approve", env=omni_env)
    assert redone.code == 0, redone.doc
    assert len(creates(fake)) == 1 and redone.doc["shots"][1]["job_id"] == good_job
    history = manifest_of(redone.doc)["shots"][0]["previous_jobs"]
    assert history[0]["job_id"] == failed.doc["shots"][0]["job_id"] and history[0]["state"] == "failed"
    length, _ = streams(redone.doc["final"]["path"])
    assert abs(length - 8) < 0.5


def test_changed_shot_is_refused_until_redone_with_its_continuations(run, fake, omni_env, tmp_path) -> None:
    shots = [shot("s1", "a cat on a fence", 4), shot("s2", "it jumps down", 4, "continue"),
             shot("s3", "it walks off", 4, "continue"), shot("s4", "a bird flies", 4)]
    path = shot_list(tmp_path, shots)
    assert run(main, path, "--approve", env=omni_env).code == 0
    shots[1]["prompt"] = "it leaps down gracefully"
    path = shot_list(tmp_path, shots)
    changed = run(main, path, "--approve", env=omni_env)
    assert changed.code == 2 and "--redo 2" in changed.doc["error"]["hint"]
    fake.clear()
    redone = run(main, path, "--redo", "2", "--approve", env=omni_env)
    assert redone.code == 0, redone.doc
    assert len(creates(fake)) == 2                          # s2 and s3 (it continues from s2); s1 and s4 kept


# -- extension chains ----------------------------------------------------------------------------

def test_extension_containing_its_source_replaces_it_in_the_film(run, fake, omni_env, tmp_path) -> None:
    path = shot_list(tmp_path, [shot("s1", "a cat walks", 6), shot("s2", "it climbs a tree", 4, "extend")])
    result = run(main, path, "--approve", env=omni_env)
    assert result.code == 0, result.doc
    second = creates(fake)[1]
    sidecar = json.loads(Path(result.doc["shots"][0]["file"]).with_suffix(".json").read_text())
    assert second.json["previous_interaction_id"] == sidecar["omni"]["interaction_id"]
    assert STYLE in json.dumps(second.json) and "it climbs a tree" in json.dumps(second.json)
    extension = manifest_of(result.doc)["shots"][1]["extension"]
    assert extension["contains_source"] is True and extension["result_s"] == pytest.approx(10, abs=0.3)
    length, kinds = streams(result.doc["final"]["path"])
    assert abs(length - 10) < 0.5 and "audio" in kinds              # not 16: no duplicated footage


def test_extension_returning_only_the_new_segment_is_appended(run, fake, omni_env, tmp_path) -> None:
    fake.config.video_seconds = 4                                    # every clip is 4 s: the source is not inside
    path = shot_list(tmp_path, [shot("s1", "a cat walks", 6), shot("s2", "it climbs a tree", 4, "extend")])
    result = run(main, path, "--approve", env=omni_env)
    assert result.code == 0, result.doc
    assert manifest_of(result.doc)["shots"][1]["extension"]["contains_source"] is False
    length, _ = streams(result.doc["final"]["path"])
    assert abs(length - 8) < 0.5


def test_veo_extension_on_vertex(run, fake, vertex_env, tmp_path) -> None:
    path = shot_list(tmp_path, [shot("s1", "a cat walks", 8), shot("s2", "it keeps walking", 7, "extend")],
                     model="veo-3.1-generate-001")
    result = run(main, path, "--approve", env=vertex_env)
    assert result.code == 0, result.doc
    assert result.doc["cost"]["estimate_usd"] == pytest.approx(15 * 0.40)
    body = creates(fake)[1].json
    assert "bytesBase64Encoded" in body["instances"][0]["video"]
    length, _ = streams(result.doc["final"]["path"])
    assert abs(length - 15) < 0.5


# -- parallelism, keyframes and references --------------------------------------------------------

def test_independent_cuts_are_created_before_any_poll(run, fake, omni_env, tmp_path) -> None:
    fake.config.latency_s = 0.5
    path = shot_list(tmp_path, [shot(f"s{i}", f"scene number {i}", 4) for i in range(1, 4)])
    result = run(main, path, "--approve", "--concurrency", "3", env=omni_env)
    assert result.code == 0, result.doc
    order = [("create" if r.method == "POST" else "poll") for r in fake.requests if "/interactions" in r.path]
    assert order[:3] == ["create"] * 3


def test_keyframes_and_generated_references_are_made_first(run, fake, omni_env, tmp_path) -> None:
    path = shot_list(tmp_path, [shot("s1", "the hero looks up", 4, keyframe="close portrait of the hero"),
                                shot("s2", "the hero waves", 8, references=["hero"])],
                     references=[{"id": "hero", "prompt": "a red fox mascot, full body", "kind": "asset"}])
    budget = run(main, path, env=omni_env).doc["budget"]
    assert budget["shots"][0]["keyframe_usd"] > 0 and budget["references"][0]["estimate_usd"] > 0
    result = run(main, path, "--approve", env=omni_env)
    assert result.code == 0, result.doc
    images = [r for r in fake.requests if r.path.endswith(":generateContent")]
    assert len(images) == 2 and all(STYLE in json.dumps(r.json) for r in images)
    folder = Path(result.doc["folder"])
    manifest = manifest_of(result.doc)
    keyframe = folder / manifest["shots"][0]["keyframe"]
    video_creates = creates(fake)
    first = next(r for r in video_creates if "the hero looks up" in json.dumps(r.json))
    assert create_image_bytes(first) == keyframe.read_bytes()
    second = next(r for r in video_creates if "the hero waves" in json.dumps(r.json))
    reference = folder / manifest["references"]["hero"]["file"]
    assert create_image_bytes(second) == reference.read_bytes()
    assert manifest["shots"][0]["keyframe"] in (folder / "index.html").read_text()


# -- stitching ----------------------------------------------------------------------------------

def _clip(path: Path, size: str, rate: int, seconds: float, audio: bool) -> Path:
    command = [frames.require("ffmpeg"), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
    if audio:
        command += ["-f", "lavfi", "-i", "sine=sample_rate=44100", "-c:a", "aac", "-shortest"]
    command += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(command, check=True)
    return path


def test_stitch_reencodes_mixed_clips_and_adds_silence(tmp_path) -> None:
    clips = [_clip(tmp_path / "a.mp4", "320x180", 24, 2, True), _clip(tmp_path / "b.mp4", "640x360", 30, 1.5, False),
             _clip(tmp_path / "c.mp4", "180x320", 25, 1, True)]
    done = stitch.concat(clips, tmp_path / "out" / "film.mp4")
    assert done["method"] == "reencode" and done["has_audio"] is True
    info = stitch.clip_info(Path(done["path"]))
    assert (info.width, info.height, float(info.fps)) == (320, 180, 24.0) and info.sample_rate == 48000
    assert abs(info.duration - 4.5) < 0.2
    same = stitch.concat([clips[0], clips[0]], tmp_path / "out" / "copy.mp4")
    assert same["method"] == "copy" and abs(same["duration_s"] - 4) < 0.2


def test_shotlist_schema_accepts_the_agent_example() -> None:
    from mediagen.ops import storyboard
    from tests.bundle_lint import fenced_blocks
    from tests.conftest import ROOT

    text = (ROOT / ".claude" / "agents" / "media-navigator.md").read_text()
    example = next(yaml.safe_load("\n".join(b)) for info, _, b in fenced_blocks(text)
                   if info == "yaml" and any(line.startswith("shots:") for line in b))
    assert storyboard.schema_problems(example) == []
