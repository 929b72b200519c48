"""Every state ends: an expired result, an abandoned Veo job and a possibly-billed batch item each say what to do."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediagen.cli.batch_gen import main as batch_main
from mediagen.cli.jobs import main as jobs_main
from mediagen.cli.video_gen import main as video_main
from tests.money import VEO_MODEL, files_in, job_store, kill_mid_download, ledger_entries, veo_env


def test_a_file_that_expires_before_the_resumed_download_ends_the_job(run, fake, omni_env, tmp_path) -> None:
    env = veo_env(omni_env, fake, tmp_path)
    out = tmp_path / "videos"
    started = run(video_main, "a cat walking", "--model", VEO_MODEL, "-o", str(out), "--no-wait", env=env)
    job_id = started.doc["job_id"]
    fake.set_drip(0.05, chunk_bytes=2048)
    kill_mid_download(job_id, env, out, tmp_path)
    fake.set_drip(None)
    fake.config.file_expired = True
    result = run(jobs_main, "wait", job_id, env=env)
    assert result.code == 5, result.doc
    error = result.doc["error"]
    assert error["type"] == "expired" and job_id in error["message"]
    text = (error["message"] + " " + error["hint"]).lower()
    assert "billed" in text and "lost" in text and "generate" in text
    assert files_in(out) == []                                   # the partial file is gone too
    record = json.loads((job_store(env) / f"{job_id}.json").read_text())
    assert record["state"] == "expired"
    final = ledger_entries(env)[-1]
    assert final["run_id"] == job_id and final["status"] == "expired"
    assert final["actual_usd"] == pytest.approx(0.8)
    again = run(jobs_main, "status", job_id, env=env)
    assert again.code == 5 and again.doc["error"]["type"] == "expired"
    assert len([e for e in ledger_entries(env) if e["status"] == "expired"]) == 1


def test_cancelling_a_veo_job_abandons_it_but_it_can_still_be_fetched(run, fake, vertex_env) -> None:
    fake.config.operation_polls_until_done = 100000
    started = run(video_main, "a cat walking", "--no-wait", env=vertex_env)
    job_id = started.doc["job_id"]
    cancelled = run(jobs_main, "cancel", job_id, env=vertex_env)
    assert cancelled.code == 0, cancelled.doc
    assert cancelled.doc["state"] == "abandoned" and cancelled.doc["cancelled_remotely"] is False
    said = json.dumps(cancelled.doc).lower()
    assert "may still finish and be billed" in said and f"jobs.py\\\" wait {job_id}" in said
    assert "start a new generation" not in said
    listed = run(jobs_main, "list", "--state", "abandoned", env=vertex_env)
    assert [job["job_id"] for job in listed.doc["jobs"]] == [job_id]
    fake.config.operation_polls_until_done = 0
    fetched = run(jobs_main, "wait", job_id, env=vertex_env)
    assert fetched.code == 0 and fetched.doc["state"] == "succeeded", fetched.doc
    assert Path(fetched.doc["videos"][0]["path"]).is_file()


def items_file(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"prompt": "a red fox"}\n{"prompt": "a cat walking", "kind": "video", "duration": 4}\n')
    return path


def creates(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and (r.path.endswith(":generateContent")
                                                                 or r.path.endswith("/interactions"))]


def test_batch_items_that_may_have_been_billed_are_unknown_until_retried_with_approval(run, fake, omni_env,
                                                                                      tmp_path) -> None:
    source = items_file(tmp_path)
    fake.add_fault(service="gemini", path_contains=":generateContent", status=500)
    fake.add_fault(service="gemini", path_contains="/interactions", method="POST", status=500)
    first = run(batch_main, str(source), "--approve", env=omni_env)
    assert first.code == 5 and len(creates(fake)) == 2
    assert [item["state"] for item in first.doc["items"]] == ["unknown", "unknown"]
    rerun = run(batch_main, str(source), "--approve", "--retry-failed", env=omni_env)
    assert rerun.code == 5 and len(creates(fake)) == 2                       # never resent on its own
    assert [item["state"] for item in rerun.doc["items"]] == ["unknown", "unknown"]
    assert rerun.doc["counts"]["unknown"] == 2 and "--retry-unknown" in rerun.doc["error"]["hint"]
    refused = run(batch_main, str(source), "--retry-unknown", "--max-cost", "50", env=omni_env)
    assert refused.code == 9 and refused.doc["error"]["type"] == "approval_required"
    message = refused.doc["error"]["message"]
    assert "2 item(s) may be billed twice" in message and "$" in message and len(creates(fake)) == 2
    retried = run(batch_main, str(source), "--retry-unknown", "--approve", env=omni_env)
    assert retried.code == 0, retried.doc
    assert len(creates(fake)) == 4 and retried.doc["retry_unknown"]["items"] == 2
    assert retried.doc["retry_unknown"]["max_usd"] == pytest.approx(refused.doc["error"]["details"]["max_usd"])
    assert any("billed twice" in warning for warning in retried.doc["warnings"])


def test_a_storyboard_shot_that_may_have_been_billed_says_so_before_a_redo(run, fake, omni_env, tmp_path) -> None:
    from mediagen.cli.storyboard import main as storyboard_main

    board = tmp_path / "board.yaml"
    board.write_text("version: 1\ntitle: Cat\nshots:\n  - {id: s1, prompt: a cat walks, duration: 4, transition: cut}\n"
                     "  - {id: s2, prompt: a dog runs, duration: 4, transition: cut}\n")
    fake.add_fault(service="gemini", path_contains="/interactions", method="POST", status=500)
    argv = [str(board), "--approve", "-o", str(tmp_path / "film")]
    first = run(storyboard_main, *argv, env=omni_env)
    assert first.code == 5, first.doc
    error = first.doc["error"]
    assert "may have been billed" in error["message"] and "--redo" in error["hint"] and "twice" in error["hint"]
    again = run(storyboard_main, *argv, env=omni_env)
    assert again.code == 5 and "may have been billed" in again.doc["error"]["message"]
    assert len(creates(fake)) == 2                                          # never resent on its own
    assert sorted(e["status"] for e in ledger_entries(omni_env) if e["status"] != "submitted") == ["succeeded",
                                                                                                    "unknown"]
