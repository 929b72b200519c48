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


# -- damage no parser survives: nesting too deep, bytes that are not UTF-8, the wrong shape --------------------

DEEP = "[" * 100_000 + "]" * 100_000           # valid JSON, deeper than Python's parser recurses


def test_a_record_nested_too_deep_is_damaged_not_a_crash(run, fake, omni_env) -> None:
    store = job_store(omni_env)
    store.mkdir(parents=True)
    path = store / "vid-deep.json"
    path.write_text(DEEP)
    listed = run(jobs_main, "list", env=omni_env)
    assert listed.code == 0 and [entry["file"] for entry in listed.doc["damaged"]] == [str(path)], listed.doc
    status = run(jobs_main, "status", "vid-deep", env=omni_env)
    assert status.code == 3 and status.doc["error"]["type"] == "damaged_record", status.doc
    assert str(path) in status.doc["error"]["message"]


def test_a_sidecar_nested_too_deep_is_damaged_not_a_crash(run, fake, omni_env, tmp_path) -> None:
    from mediagen.cli.gallery import main as gallery_main

    clip = tmp_path / "clips" / "clip.mp4"
    clip.parent.mkdir()
    clip.write_bytes(media.mp4_bytes(2.0))
    clip.with_suffix(".json").write_text(DEEP)
    extended = run(video_main, "it goes on", "--extend-video", str(clip), env=omni_env)
    assert extended.code == 2 and str(clip.with_suffix(".json")) in extended.doc["error"]["message"], extended.doc
    page = run(gallery_main, str(clip.parent), env=omni_env)
    assert page.code == 0, page.doc
    assert not [r for r in fake.requests if r.method == "POST"]


@pytest.mark.parametrize("garbage", [b"\xff\xfe\x00 not text\n", DEEP.encode() + b"\n", b'[1, 2]\n"x"\n{"key": 5}\n'])
def test_a_damaged_batch_results_file_keeps_the_lines_it_can_read(run, fake, omni_env, tmp_path, garbage) -> None:
    from mediagen.cli.batch_gen import main as batch_main

    source = tmp_path / "prompts.txt"
    source.write_text("a red fox\na blue bird\n")
    out = tmp_path / "batch"
    first = run(batch_main, str(source), "--approve", "-o", str(out), env=omni_env)
    assert first.code == 0, first.doc
    results = out / "batch-results.jsonl"
    results.write_bytes(garbage + results.read_bytes() + garbage)
    again = run(batch_main, str(source), "--approve", "-o", str(out), env=omni_env)
    assert again.code == 0 and again.doc["counts"]["skipped_done"] == 2, again.doc
    assert len([r for r in fake.requests if r.path.endswith(":generateContent")]) == 2


@pytest.mark.parametrize("content", ["[1, 2]", '{"shots": "x"}', '{"version": 1, "shots": [7], "references": {}}',
                                     '{"version": 1, "shots": [], "references": true}', DEEP])
def test_a_damaged_storyboard_manifest_is_named(run, fake, omni_env, tmp_path, content) -> None:
    from mediagen.cli.storyboard import main as storyboard_main

    board = tmp_path / "board.yaml"
    board.write_text("version: 1\ntitle: Cat\nshots:\n  - {id: s1, prompt: a cat walks, duration: 4, transition: cut}\n")
    folder = tmp_path / "film"
    folder.mkdir()
    (folder / "manifest.json").write_text(content)
    result = run(storyboard_main, str(board), "-o", str(folder), "--approve", env=omni_env)
    assert result.code == 3 and str(folder / "manifest.json") in result.doc["error"]["message"], result.doc
    assert not [r for r in fake.requests if r.method == "POST"]


@pytest.mark.parametrize("job_id", ["vid\x00x", "\x00"])
def test_a_job_id_with_a_control_character_is_not_a_job_id(run, omni_env, job_id) -> None:
    result = run(jobs_main, "status", job_id, env=omni_env)
    assert result.code == 2 and result.doc["error"]["type"] == "usage", result.doc
