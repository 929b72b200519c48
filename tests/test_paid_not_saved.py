"""Check before paying, and keep what was paid for when it cannot be saved (exit 3 before, exit 10 after).

Tests may run as root, so nothing relies on file permissions: an unwritable path is one under a regular
file (ENOTDIR), a full disk is a child process whose file size limit is small (EFBIG).
"""
from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from mediagen.cli.image_gen import main as image_main
from mediagen.cli.jobs import main as jobs_main
from mediagen.cli.video_gen import main as video_main
from tests.conftest import GEMINI_KEY
from tests.money import VEO_MODEL, blocker, files_in, job_store, ledger_entries, hinted, run_child, veo_env


@pytest.fixture
def env(omni_env) -> dict:
    return omni_env


def creates(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and (r.path.endswith(":generateContent")
                                                                 or r.path.endswith("/interactions")
                                                                 or r.path.endswith(":predictLongRunning"))]


# -- before paying ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["image output", "image ledger", "video output", "video job store",
                                  "video ledger"])
def test_unwritable_paths_are_refused_before_paying(run, fake, env, tmp_path, case) -> None:
    under = blocker(tmp_path) / "sub"
    kind, what = case.split(" ", 1)
    argv = ["a red fox"]
    if what == "output":
        argv += ["-o", str(under / "out")]
    elif what == "ledger":
        env = {**env, "MEDIAGEN_LEDGER": str(under / "ledger.jsonl")}
    else:
        env = {**env, "MEDIAGEN_JOB_STORE": str(under / "jobs")}
    result = run(image_main if kind == "image" else video_main, *argv, env=env)
    assert result.code == 3, result.doc
    assert str(tmp_path / "blocker") in result.doc["error"]["message"]
    assert not creates(fake)


def test_wrong_kind_paths_exit_3_naming_the_path(run, fake, env, tmp_path) -> None:
    folder = tmp_path / "ledger-folder"
    folder.mkdir()
    ledger_is_folder = run(image_main, "a red fox", env={**env, "MEDIAGEN_LEDGER": str(folder)})
    assert ledger_is_folder.code == 3 and str(folder) in ledger_is_folder.doc["error"]["message"]
    store = blocker(tmp_path, "store-file")
    for main, argv in ((video_main, ["a cat"]), (jobs_main, ["list"]), (jobs_main, ["status", "vid-1"])):
        result = run(main, *argv, env={**env, "MEDIAGEN_JOB_STORE": str(store)})
        assert result.code == 3 and str(store) in result.doc["error"]["message"], (argv, result.doc)
    output = blocker(tmp_path, "output-file")
    result = run(image_main, "a red fox", "-o", str(output), env=env)
    assert result.code == 3 and str(output) in result.doc["error"]["message"]
    assert not creates(fake)


# -- paid, then the write fails -------------------------------------------------------------------

def swap_for_a_file_during_the_create(fake, folder: Path) -> threading.Thread:
    """Replace ``folder`` with a regular file while the (delayed) create call is in flight."""
    fake.add_fault(service="gemini", path_contains=":generateContent", delay_s=1.0)

    def swap() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not creates(fake):
            time.sleep(0.01)
        shutil.rmtree(folder, ignore_errors=True)
        folder.write_text("the disk changed under us\n")

    thread = threading.Thread(target=swap, daemon=True)
    thread.start()
    return thread


def test_a_paid_image_that_cannot_be_written_is_rescued(run, fake, env, tmp_path) -> None:
    out = tmp_path / "out"
    swapper = swap_for_a_file_during_the_create(fake, out)
    result = run(image_main, "a red fox", "-o", str(out), env=env)
    swapper.join(5)
    assert result.code == 10, result.doc
    error = result.doc["error"]
    assert error["type"] == "paid_not_saved" and str(out) in error["message"]
    rescued = [Path(p) for p in error["rescued"]]
    rescue_folder = Path(env["XDG_STATE_HOME"]) / "mediagen" / "rescue"
    assert len(rescued) == 1 and rescued[0].parent == rescue_folder
    with Image.open(rescued[0]) as image:
        assert image.format == "PNG"
    assert str(rescued[0]) in error["hint"]
    final = ledger_entries(env)[-1]
    assert final["status"] == "paid_not_saved" and final["actual_usd"] == pytest.approx(0.067)
    assert final["run_id"] == result.doc["run_id"] and final["rescued"] == [str(rescued[0])]
    assert len(creates(fake)) == 1


def test_a_full_disk_loses_the_image_but_says_so_and_bills_the_ledger(fake, env, tmp_path) -> None:
    fake.config.image_noise = True
    fake.config.image_pixels_override = (400, 400)          # ~480 KB: past the 64 KB "disk"
    out = tmp_path / "out"
    result = run_child("image_gen", "a red fox", "-o", str(out), env=env, cwd=tmp_path, limit_bytes=64 * 1024)
    assert result.code == 10, (result.doc, result.stderr)
    error = result.doc["error"]
    assert error["type"] == "paid_not_saved" and error["rescued"] == []
    assert "lost" in error["message"] and result.doc["run_id"] in error["message"]
    assert "rerun" not in (error["message"] + error["hint"]).lower()
    final = ledger_entries(env)[-1]
    assert final["status"] == "paid_not_saved" and final["actual_usd"] == pytest.approx(0.067)
    assert not [n for n in files_in(out) if n.endswith(".png")]
    assert len(creates(fake)) == 1


def test_a_video_download_onto_a_full_disk_exits_10_and_resumes(run, fake, env, tmp_path) -> None:
    env = veo_env(env, fake, tmp_path)
    out = tmp_path / "videos"
    first = run_child("video_gen", "a cat walking", "--model", VEO_MODEL, "-o", str(out), env=env, cwd=tmp_path,
                      limit_bytes=32 * 1024)
    assert first.code == 10, (first.doc, first.stderr)
    error = first.doc["error"]
    job_id = error["details"]["job_id"]
    assert error["type"] == "paid_not_saved"
    assert f"{hinted('jobs')} download {job_id}" in error["hint"]
    assert [p.name for p in job_store(env).glob("*.json")] == [f"{job_id}.json"]
    resumed = run(jobs_main, "download", job_id, env=env)
    assert resumed.code == 0, resumed.doc
    video = Path(resumed.doc["videos"][0]["path"])
    assert video.parent == out and video.is_file()
    assert [n for n in files_in(out) if n.endswith(".part")] == []
    assert len(creates(fake)) == 1
    finals = [e for e in ledger_entries(env) if e["run_id"] == job_id and e["status"] == "succeeded"]
    assert len(finals) == 1


def test_probe_files_leave_nothing_behind(run, fake, env, tmp_path) -> None:
    out = tmp_path / "out"
    result = run(image_main, "a red fox", "-o", str(out), env={**env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 0, result.doc
    assert [n for n in files_in(out) if not n.endswith((".png", ".json"))] == []
    assert [n for n in files_in(job_store(env)) if "probe" in n] == []


def batch_onto_a_full_disk(fake, env, tmp_path):
    """A one-item Batch API run whose result (400x400 noise) cannot be written: 64 KiB of disk."""
    fake.config.image_noise = True
    fake.config.image_pixels_override = (400, 400)
    fake.config.batch_polls_until_done = 0
    source = tmp_path / "prompts.txt"
    source.write_text("a red fox\n")
    out = tmp_path / "batch"
    result = run_child("batch_gen", str(source), "--via", "batch-api", "--approve", "-o", str(out), env=env,
                       cwd=tmp_path, limit_bytes=64 * 1024)
    assert result.code == 10, (result.doc, result.stderr)
    return result


def test_a_batch_api_result_onto_a_full_disk_exits_10_naming_the_job(fake, env, tmp_path) -> None:
    result = batch_onto_a_full_disk(fake, env, tmp_path)
    error = result.doc["error"]
    assert error["type"] == "paid_not_saved" and error["details"]["job_id"].startswith("imgb-")
    assert f"{hinted('jobs')} download {error['details']['job_id']}" in error["hint"]


def test_a_batch_api_result_onto_a_full_disk_is_billed_in_the_ledger_then_saved_once(run, fake, env, tmp_path) -> None:
    result = batch_onto_a_full_disk(fake, env, tmp_path)
    job_id = result.doc["error"]["details"]["job_id"]
    final = ledger_entries(env)[-1]
    assert final["run_id"] == job_id and final["status"] == "paid_not_saved", final
    assert final["actual_usd"] == pytest.approx(0.0335)
    fake.config.image_noise = False
    resumed = run(jobs_main, "download", job_id, env=env)
    assert resumed.code == 0, resumed.doc
    lines = [e for e in ledger_entries(env) if e["run_id"] == job_id]
    assert [e["status"] for e in lines] == ["submitted", "paid_not_saved", "succeeded"]
    assert len([r for r in fake.requests if r.path.endswith(":batchGenerateContent")]) == 1


# -- --upload-gcs: checked before paying; a refusal after paying keeps the video -------------------------

@pytest.mark.parametrize("target, credential", [("not-gs", "vertex"), ("gs://", "vertex"), ("gs:///x", "vertex"),
                                                ("gs://bucket/out/", "api key")])
def test_an_upload_target_that_cannot_work_is_refused_before_paying(run, fake, env, vertex_env, target,
                                                                    credential) -> None:
    result = run(video_main, "a cat walking", "--upload-gcs", target, env=vertex_env if credential == "vertex" else env)
    assert result.code == 2 and "--upload-gcs" in result.doc["error"]["message"], result.doc
    assert not creates(fake) and not [r for r in fake.requests if r.path.endswith(":predictLongRunning")]


def test_an_upload_refused_after_paying_keeps_the_video_and_ends_the_job(run, fake, vertex_env) -> None:
    fake.add_fault(service="gcs", path_contains="/upload/", method="POST", status=403)
    result = run(video_main, "a cat walking", "--upload-gcs", "gs://bucket/out/", env=vertex_env)
    assert result.code == 0, result.doc
    video = result.doc["videos"][0]
    assert Path(video["path"]).is_file() and "gcs_uri" not in video
    warning = next(w for w in result.doc["warnings"] if "gs://bucket/out/" in w)
    assert video["path"] in warning and "billed again" in warning
    final = ledger_entries(vertex_env)[-1]
    assert final["run_id"] == result.doc["job_id"] and final["status"] == "succeeded"
