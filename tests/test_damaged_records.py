"""Corrupt records never crash the job commands: the damaged file is named, the rest keeps working."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediagen.cli.jobs import main as jobs_main
from mediagen.cli.video_gen import main as video_main
from tests.fake_google import media
from tests.money import job_store

DAMAGED = {
    "vid-a-list": [1, 2],
    "vid-wrong-types": {"job_id": "vid-wrong-types", "kind": "video", "state": ["running"], "model": "veo",
                        "backend": {"name": "gemini-api"}, "polls": "many", "outputs": [3]},
    "vid-no-model": {"job_id": "vid-no-model", "kind": "video", "state": "running", "handle": "interactions/x",
                     "backend": {"name": "gemini-api"}, "provider": "omni"},
}


def damage(store: Path) -> dict[str, Path]:
    store.mkdir(parents=True, exist_ok=True)
    paths = {}
    for job_id, content in DAMAGED.items():
        paths[job_id] = store / f"{job_id}.json"
        paths[job_id].write_text(json.dumps(content))
    return paths


def test_list_shows_the_good_jobs_and_names_the_damaged_files(run, fake, omni_env) -> None:
    fake.config.interaction_polls_until_done = 1000
    started = run(video_main, "a cat walking", "--no-wait", env=omni_env)
    paths = damage(job_store(omni_env))
    listed = run(jobs_main, "list", env=omni_env)
    assert listed.code == 0, listed.doc
    assert [job["job_id"] for job in listed.doc["jobs"]] == [started.doc["job_id"]]
    assert sorted(entry["file"] for entry in listed.doc["damaged"]) == sorted(str(p) for p in paths.values())
    assert all(entry["problem"] for entry in listed.doc["damaged"])
    assert any(str(paths["vid-a-list"]) in warning for warning in listed.doc["warnings"])


@pytest.mark.parametrize("action", ["status", "wait", "download", "cancel"])
def test_job_commands_on_a_damaged_record_exit_3_naming_the_file(run, fake, omni_env, action) -> None:
    paths = damage(job_store(omni_env))
    for job_id, path in paths.items():
        result = run(jobs_main, action, job_id, "--wait-timeout", "0", env=omni_env)
        assert result.code == 3, (job_id, result.doc)
        assert str(path) in result.doc["error"]["message"] and result.doc["error"]["hint"]
    assert not [r for r in fake.requests if r.method == "POST"]


@pytest.mark.parametrize("sidecar", [[1, 2], {"kind": "video", "parameters": "none", "backend": 7},
                                     {"kind": "video", "parameters": {"model": {"value": 5}}}])
def test_extending_a_clip_whose_sidecar_is_damaged_refuses_clearly(run, fake, omni_env, tmp_path, sidecar) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(media.mp4_bytes(2.0))
    clip.with_suffix(".json").write_text(json.dumps(sidecar))
    result = run(video_main, "it goes on", "--extend-video", str(clip), env=omni_env)
    assert result.code == 2, result.doc
    assert str(clip.with_suffix(".json")) in result.doc["error"]["message"]
    assert not [r for r in fake.requests if r.method == "POST"]
