"""batch_gen.py --via vertex-batch end to end against the fake: create, poll, results, and resuming after kills."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mediagen.cli.batch_gen import main
from mediagen.cli.jobs import main as jobs_main
from tests.conftest import ROOT

FAST_POLLS = {"MEDIAGEN_POLL_FIRST_S": "0", "MEDIAGEN_POLL_INTERVAL_S": "0.02"}
BUCKET = "gs://media-bkt/work"


@pytest.fixture
def env(vertex_env) -> dict:
    return {**vertex_env, **FAST_POLLS, "MEDIAGEN_GCS_BUCKET": BUCKET}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def creates(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/batchPredictionJobs")]


def input_lines(fake, create) -> list[dict]:
    uri = create.json["inputConfig"]["gcsSource"]["uris"][0]
    bucket, name = uri[5:].split("/", 1)
    return [json.loads(line) for line in fake.gcs_get(bucket, name).decode().splitlines()]


def result_lines(doc: dict) -> list[dict]:
    return [json.loads(line) for line in Path(doc["results_file"]).read_text().splitlines()]


def test_round_trip_saves_images_with_sidecars_at_the_batch_price(run, fake, env, tmp_path) -> None:
    source = write(tmp_path / "cat.csv", "prompt,count,name\na red fox,,fox\na blue whale,2,\n")
    result = run(main, str(source), "--via", "vertex-batch", "--approve", env=env)
    assert result.code == 0, result.doc
    [create] = creates(fake)
    assert "/projects/fake-project/locations/us-central1/batchPredictionJobs" in create.path
    body = create.json
    assert body["model"] == "publishers/google/models/gemini-3-pro-image"
    assert body["outputConfig"]["gcsDestination"]["outputUriPrefix"].startswith(f"{BUCKET}/mediagen-batch/")
    assert body["displayName"] == result.doc["job_ids"][0]
    lines = input_lines(fake, create)
    assert [line["request"]["labels"]["mediagen_key"] for line in lines] == ["r0", "r1", "r2"]
    assert [line["request"]["contents"][0]["parts"][0]["text"] for line in lines] == \
        ["a red fox", "a blue whale", "a blue whale"]
    assert result.doc["counts"]["succeeded"] == 2 and result.doc["via"] == "vertex-batch"
    assert result.doc["cost"]["actual_usd"] == pytest.approx(3 * 0.067)
    assert result.doc["cost"]["batch_usd"] == pytest.approx(3 * 0.067)
    files = [Path(f) for item in result.doc["items"] for f in item["files"]]
    assert len(files) == 3 and all(f.is_file() for f in files) and files[0].name == "fox.png"
    sidecar = json.loads(files[0].with_suffix(".json").read_text())
    assert sidecar["batch"]["via"] == "vertex-batch" and sidecar["cost"]["actual_usd"] == pytest.approx(0.067)
    assert sidecar["batch"]["name"].startswith("projects/fake-project/locations/us-central1/batchPredictionJobs/")
    assert {line["via"] for line in result_lines(result.doc)} == {"vertex-batch"}
    again = run(main, str(source), "--via", "vertex-batch", "--approve", env=env)
    assert again.code == 0 and again.doc["counts"]["skipped_done"] == 2 and len(creates(fake)) == 1


def test_a_job_runs_in_the_batch_location_and_jobs_py_waits_and_cancels(run, fake, env, tmp_path) -> None:
    fake.config.vertex_batch_polls_until_done = 100000
    env = {**env, "MEDIAGEN_BATCH_LOCATION": "europe-west4"}
    source = write(tmp_path / "p.txt", "a fox\na cat\n")
    first = run(main, str(source), "--via", "vertex-batch", "--approve", "--wait-timeout", "0.1", "-m",
                "nano-banana-pro", env=env)
    assert first.code == 8 and first.doc["counts"]["running"] == 2
    assert "/locations/europe-west4/batchPredictionJobs" in creates(fake)[0].path
    job_id = first.doc["job_ids"][0]
    listed = run(jobs_main, "list", env=env)
    assert any(j["job_id"] == job_id and j["state"] == "running" for j in listed.doc["jobs"])
    assert run(jobs_main, "status", job_id, env=env).code == 8
    fake.config.vertex_batch_polls_until_done = 0
    done = run(jobs_main, "wait", job_id, env=env)
    assert done.code == 0, done.doc
    assert done.doc["kind"] == "vertex-batch" and done.doc["counts"]["succeeded"] == 2
    rerun = run(main, str(source), "--via", "vertex-batch", "--approve", "-m", "nano-banana-pro", env=env)
    assert rerun.code == 0 and rerun.doc["counts"]["skipped_done"] == 2 and len(creates(fake)) == 1

    fake.config.vertex_batch_polls_until_done = 100000
    other = write(tmp_path / "other.txt", "a bird\n")
    pending = run(main, str(other), "--via", "vertex-batch", "--no-wait", env=env)
    assert pending.code == 8
    cancel = run(jobs_main, "cancel", pending.doc["job_ids"][0], env=env)
    assert cancel.code == 0 and cancel.doc["cancelled_remotely"] is True
    assert [r for r in fake.requests if r.path.endswith(":cancel")]
    retried = run(main, str(other), "--via", "vertex-batch", "--no-wait", "--retry-failed", env=env)
    assert retried.code == 8 and len(creates(fake)) == 3


def test_refusals_before_anything_is_sent(run, fake, env, vertex_env, fake_env, tmp_path) -> None:
    source = write(tmp_path / "p.txt", "a fox\n")
    undocumented = run(main, str(source), "--via", "vertex-batch", "--approve", "-m", "nano-banana", env=env)
    assert undocumented.code == 2 and "UNCERTAIN" in undocumented.doc["error"]["message"]
    assert "MEDIAGEN_CATALOG_OVERRIDE" in undocumented.doc["error"]["message"]
    no_bucket = run(main, str(source), "--via", "vertex-batch", "--approve", env={**vertex_env, **FAST_POLLS})
    assert no_bucket.code == 3 and "gcs_bucket" in no_bucket.doc["error"]["hint"]
    api_key = run(main, str(source), "--via", "vertex-batch", "--approve",
                  env={**fake_env, "GEMINI_API_KEY": "AIzaSyFAKE-test-key-000000000000000000", **FAST_POLLS})
    assert api_key.code == 2 and "Vertex feature" in api_key.doc["error"]["message"]
    videos = write(tmp_path / "v.jsonl", '{"prompt": "a cat", "kind": "video"}\n')
    assert run(main, str(videos), "--via", "vertex-batch", "--approve", env=env).code == 2
    assert not [r for r in fake.requests if r.service not in ("oauth",)]
    override = write(tmp_path / "override.yaml", "models:\n  - id: gemini-nano-banana-2.1\n    backend_capabilities:\n"
                                                 "      vertex: {supports: {batch: true}}\n")
    tried = run(main, str(source), "--via", "vertex-batch", "--approve", "-m", "nano-banana",
                env={**env, "MEDIAGEN_CATALOG_OVERRIDE": str(override)})
    assert len(creates(fake)) == 1 and tried.code == 4         # sent; the fake, like Vertex, refuses the model
    assert "does not support batch prediction" in tried.doc["error"]["message"]


def test_dry_run_and_estimate_show_the_batch_price_and_the_create(run, fake, env, tmp_path) -> None:
    source = write(tmp_path / "p.txt", "a fox\na cat\n")
    estimate = run(main, str(source), "--via", "vertex-batch", "--estimate-cost", env=env)
    assert estimate.code == 0 and estimate.doc["cost"]["estimate_usd"] == pytest.approx(2 * 0.067)
    assert estimate.doc["cost"]["standard_usd"] == pytest.approx(2 * 0.134)
    dry = run(main, str(source), "--via", "vertex-batch", "--dry-run", env=env)
    assert dry.code == 0, dry.doc
    [shown] = dry.doc["requests"]
    body = shown["request"]["json"]
    assert body["displayName"] == "<job id>" and body["inputConfig"]["gcsSource"]["uris"] == [
        f"{BUCKET}/mediagen-batch/<job id>/input.jsonl"]
    assert "/locations/us-central1/batchPredictionJobs" in shown["request"]["url"]
    assert not [r for r in fake.requests if r.service != "oauth"]


def test_partial_results_split_files_and_remote_failures(run, fake, env, tmp_path) -> None:
    fake.config.vertex_batch_outcome = "partial"
    fake.config.vertex_batch_output_files = 2
    source = write(tmp_path / "p.txt", "a fox\na cat\na bird\n")
    result = run(main, str(source), "--via", "vertex-batch", "--approve", env=env)
    assert result.code != 0
    assert [i["state"] for i in result.doc["items"]] == ["succeeded", "succeeded", "failed"]
    assert result.doc["cost"]["actual_usd"] == pytest.approx(2 * 0.067)
    outputs = [o for o in fake.gcs_objects() if "/prediction-model-" in o]
    assert sorted(o.rsplit("/", 1)[1] for o in outputs) == ["predictions_00001.jsonl", "predictions_00002.jsonl"]
    fake.config.vertex_batch_outcome = "ok"
    retried = run(main, str(source), "--via", "vertex-batch", "--approve", "--retry-failed", env=env)
    assert retried.code == 0 and retried.doc["counts"]["succeeded"] == 1 and retried.doc["counts"]["skipped_done"] == 2
    assert len(input_lines(fake, creates(fake)[-1])) == 1

    fake.config.vertex_batch_outcome = "failed"
    failed = run(main, str(write(tmp_path / "q.txt", "a whale\n")), "--via", "vertex-batch", "--approve", env=env)
    assert failed.code == 5 and failed.doc["items"][0]["state"] == "failed"
    assert failed.doc["cost"]["actual_usd"] == 0.0


# -- killed runs resume with no second create ------------------------------------------------------------

def start_batch(env: dict, source: Path, tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "scripts" / "batch_gen.py"), str(source), "--via",
                             "vertex-batch", "--approve", "-o", str(source.parent / "out")],
                            env={**env, "PYTHONPATH": str(ROOT)}, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_when(proc: subprocess.Popen, ready, what: str) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` holds."""
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not ready():
            if proc.poll() is not None:
                pytest.fail(f"the run ended before {what}: {proc.stderr.read().decode()[-800:]}")
            time.sleep(0.01)
        else:
            if not ready():
                pytest.fail(f"never saw {what}")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


def records(env: dict) -> list[dict]:
    folder = Path(env["XDG_STATE_HOME"]) / "mediagen" / "jobs"
    return [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.is_dir() else []


def resume_and_check(run, fake, env: dict, source: Path) -> dict:
    result = run(main, str(source), "--via", "vertex-batch", "--approve", "-o", str(source.parent / "out"), env=env)
    assert result.code == 0, result.doc
    assert result.doc["counts"]["succeeded"] == 2 and len(creates(fake)) == 1
    assert all(Path(f).is_file() for item in result.doc["items"] for f in item["files"])
    return result.doc


def test_killed_before_the_create_sends_it_once_on_resume(run, fake, env, tmp_path) -> None:
    # The JSONL upload (the last step before the create) hangs, then fails: the run is killed meanwhile.
    fake.add_fault(service="gcs", path_contains="input.jsonl", method="POST", delay_s=1.5, reset=True)
    source = write(tmp_path / "p.txt", "a fox\na cat\n")
    proc = start_batch(env, source, tmp_path)
    kill_when(proc, lambda: any("input.jsonl" in str(r.query) for r in fake.requests_for(service="gcs")),
              "the JSONL upload")
    [record] = records(env)
    assert record["state"] == "submitting" and "create_sent" not in record and not creates(fake)
    doc = resume_and_check(run, fake, env, source)
    assert doc["job_ids"] == [record["job_id"]]


def test_killed_after_the_create_arrived_finds_the_job_by_its_display_name(run, fake, env, tmp_path) -> None:
    fake.config.vertex_batch_create_delay_s = 2.0        # the job exists; its answer has not left yet
    source = write(tmp_path / "p.txt", "a fox\na cat\n")
    proc = start_batch(env, source, tmp_path)
    kill_when(proc, lambda: bool(fake.state.vertex_batches), "the create arriving")
    [record] = records(env)
    assert record.get("create_sent") and not record.get("handle")
    fake.config.vertex_batch_create_delay_s = 0.0
    doc = resume_and_check(run, fake, env, source)
    assert doc["job_ids"] == [record["job_id"]]
    assert [r for r in fake.requests if r.method == "GET" and "display_name" in str(r.query)]


def test_a_dropped_create_answer_is_found_in_the_same_run(run, fake, env, tmp_path) -> None:
    fake.config.vertex_batch_drop_create_reply = 1
    result = resume_and_check(run, fake, env, write(tmp_path / "p.txt", "a fox\na cat\n"))
    assert result["counts"]["succeeded"] == 2


def test_killed_while_polling_resumes_the_polls(run, fake, env, tmp_path) -> None:
    fake.config.vertex_batch_polls_until_done = 100000
    source = write(tmp_path / "p.txt", "a fox\na cat\n")
    proc = start_batch(env, source, tmp_path)
    kill_when(proc, lambda: any(r.get("handle") and r.get("polls", 0) >= 2 for r in records(env)), "two polls")
    fake.config.vertex_batch_polls_until_done = 0
    doc = resume_and_check(run, fake, env, source)
    assert doc["job_ids"] == [records(env)[0]["job_id"]]
