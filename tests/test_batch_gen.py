"""batch_gen.py end to end against the fake: input formats, online runs, resume, the Batch API, jobs.py."""
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

from mediagen.ops import batch
from mediagen.cli.batch_gen import main
from mediagen.cli.jobs import main as jobs_main
from mediagen.core.errors import UsageError
from mediagen.transport.limiter import AdaptiveLimiter
from tests.conftest import GEMINI_KEY, ROOT

FAST_POLLS = {"MEDIAGEN_POLL_FIRST_S": "0", "MEDIAGEN_POLL_INTERVAL_S": "0.02",
              "MEDIAGEN_POLLS_PER_MINUTE": "60000"}


@pytest.fixture
def env(fake_env) -> dict:
    return {**fake_env, **FAST_POLLS, "GEMINI_API_KEY": GEMINI_KEY}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def prompts_file(tmp_path: Path, n: int, name: str = "prompts.txt") -> Path:
    lines = ["# a batch of test prompts", ""] + [f"prompt number {i} of a fox" for i in range(1, n + 1)]
    return write(tmp_path / name, "\n".join(lines) + "\n")


def generate_calls(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith(":generateContent")]


def prompt_of(recorded) -> str:
    return recorded.json["contents"][0]["parts"][0]["text"]


def result_lines(doc: dict) -> list[dict]:
    return [json.loads(line) for line in Path(doc["results_file"]).read_text().splitlines()]


def check_files(doc: dict, kind: str = "image") -> None:
    for item in doc["items"]:
        if item["state"] != "succeeded":
            continue
        assert item["files"]
        for name in item["files"]:
            path = Path(name)
            assert path.is_file()
            sidecar = json.loads(path.with_suffix(".json").read_text())
            assert sidecar["kind"] == kind and sidecar["prompt"] == item["prompt"] and sidecar["file"] == path.name
            assert sidecar["batch"]["key"] in (item["key"], None) or sidecar["batch"]["item_key"] == item["key"]


# -- input formats -------------------------------------------------------------------------------

def test_text_csv_jsonl_and_yaml_inputs(tmp_path) -> None:
    text = batch.read_input(write(tmp_path / "a.txt", "# c\n\na fox\na cat || aspect_ratio=16:9; count=2; "
                                                      "negative_prompt=blurry, dark\n"))
    assert [i.line for i in text.items] == [3, 4]
    assert text.items[1].values == {"prompt": "a cat", "aspect_ratio": "16:9", "count": 2,
                                    "negative_prompt": "blurry, dark"}
    csv_in = batch.read_input(write(tmp_path / "b.csv", "prompt,Aspect-Ratio,count,seed\n"
                                                        "a fox,1:1,,\n\"a cat, sleeping\",3:4,2,7\n"))
    assert [(i.line, i.values) for i in csv_in.items] == [
        (2, {"prompt": "a fox", "aspect_ratio": "1:1"}),
        (3, {"prompt": "a cat, sleeping", "aspect_ratio": "3:4", "count": 2, "seed": 7})]
    jsonl = batch.read_input(write(tmp_path / "c.jsonl", '"just a prompt"\n\n{"prompt": "a cat", "kind": "video", '
                                                         '"duration": "6", "name": "cat"}\n'))
    assert [i.line for i in jsonl.items] == [1, 3]
    assert jsonl.items[1].values == {"prompt": "a cat", "kind": "video", "duration": 6, "output": "cat"}
    yml = batch.read_input(write(tmp_path / "d.yaml", "defaults:\n  aspect_ratio: '16:9'\nitems:\n"
                                                      "  - a fox\n  - prompt: a cat\n    count: 3\n"))
    assert yml.defaults == {"aspect_ratio": "16:9"}
    assert [(i.line, i.values) for i in yml.items] == [(4, {"prompt": "a fox"}), (5, {"prompt": "a cat", "count": 3})]


@pytest.mark.parametrize("name, text, needle", [
    ("bad.txt", "a fox || aspect_ratio\n", "bad.txt:1"),
    ("bad.jsonl", "{\"prompt\": \"a\"}\n{nope\n", "bad.jsonl:2"),
    ("bad.csv", "text,count\na,1\n", "'prompt' column"),
    ("bad.yaml", "- prompt: a fox\n  colour: red\n", "unknown parameter 'colour'"),
    ("bad2.yaml", "- prompt: a fox\n  count: two\n", "whole number"),
    ("empty.txt", "# nothing\n", "no items"),
])
def test_input_errors_name_the_line(tmp_path, name, text, needle) -> None:
    with pytest.raises(UsageError) as caught:
        batch.read_input(write(tmp_path / name, text))
    assert needle in caught.value.message


# -- online ----------------------------------------------------------------------------------------

def test_online_batch_saves_every_item_with_sidecars(run, fake, env, tmp_path) -> None:
    source = write(tmp_path / "shots.yaml", "defaults: {aspect_ratio: '16:9'}\nitems:\n"
                                            "  - a red fox in snow\n"
                                            "  - {prompt: a blue whale, count: 2, aspect_ratio: '1:1'}\n"
                                            "  - {prompt: a green frog, name: frog}\n")
    result = run(main, str(source), "--approve", env=env)
    assert result.code == 0, result.doc
    doc = result.doc
    assert doc["counts"] == {"succeeded": 3, "failed": 0, "blocked": 0, "skipped_done": 0, "running": 0,
                             "not_sent": 0}
    assert [len(i["files"]) for i in doc["items"]] == [1, 2, 1]
    check_files(doc)
    assert Path(doc["items"][2]["files"][0]).name == "frog.png"
    assert Path(doc["output_dir"]) == (Path.cwd() / "generated_batch" / "shots").resolve()
    sent = generate_calls(fake)
    assert len(sent) == 4
    ratios = sorted(r.json["generationConfig"]["imageConfig"]["aspectRatio"] for r in sent)
    assert ratios == ["16:9", "16:9", "1:1", "1:1"]
    with Image.open(doc["items"][0]["files"][0]) as image:
        assert image.size == (1376, 768)
    assert doc["cost"]["estimate_usd"] == pytest.approx(4 * 0.067)
    assert doc["cost"]["actual_usd"] == pytest.approx(4 * 0.067)
    lines = result_lines(doc)
    assert sorted(e["key"] for e in lines) == sorted(i["key"] for i in doc["items"])
    assert all(e["state"] == "succeeded" for e in lines)
    assert "[3/3]" in result.stderr and GEMINI_KEY not in result.stdout + result.stderr

    again = run(main, str(source), "--approve", env=env)
    assert again.code == 0 and again.doc["counts"]["skipped_done"] == 3
    assert len(generate_calls(fake)) == 4 and all(i["previous"] for i in again.doc["items"])


def test_every_item_is_validated_before_anything_is_sent(run, fake, env, tmp_path) -> None:
    source = write(tmp_path / "p.jsonl", '{"prompt": "a fox"}\n{"prompt": "a cat", "aspect_ratio": "7:3"}\n'
                                         '{"prompt": "a dog", "image_size": "9K"}\n')
    result = run(main, str(source), "--approve", env=env)
    assert result.code == 2 and not fake.requests
    problems = result.doc["error"]["details"]["problems"]
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3"]
    assert "7:3" in problems[0]


def test_cost_gate_needs_approve_over_threshold_and_respects_max_cost(run, fake, env, tmp_path) -> None:
    source = prompts_file(tmp_path, 10)            # 10 x $0.067 = $0.67, over the default $0.50
    refused = run(main, str(source), env=env)
    assert refused.code == 9 and not fake.requests
    details = refused.doc["error"]["details"]
    assert details["estimate_usd"] == pytest.approx(0.67) and details["approve_above"] == 0.5
    assert "--approve" in refused.doc["error"]["hint"]
    capped = run(main, str(source), "--approve", "--max-cost", "0.5", env=env)
    assert capped.code == 9 and not fake.requests
    env_cap = run(main, str(source), env={**env, "MEDIAGEN_MAX_COST": "5"})      # a cap, not an approval
    assert env_cap.code == 9 and not fake.requests
    covered = run(main, str(source), "--max-cost", "0.70", "--dry-run", env=env)  # like storyboard: approves
    assert covered.code == 0 and covered.doc["pending"] == 10 and not fake.requests
    config = write(tmp_path / "mediagen.yaml", "version: 1\napprove_above: 1.0\n")
    under = run(main, str(prompts_file(tmp_path, 2, "two.txt")), "--config", str(config), "--dry-run", env=env)
    assert under.code == 0 and under.doc["pending"] == 2 and not fake.requests
    assert under.doc["items"][0]["requests"][0]["request"]["headers"]["x-goog-api-key"] == "***"


def test_one_failure_keeps_the_others_and_retry_failed_resends_only_it(run, fake, env, tmp_path) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", status=400)
    source = prompts_file(tmp_path, 4)
    result = run(main, str(source), "--approve", "--concurrency", "1", env=env)
    assert result.code == 4 and result.doc["ok"] is False
    assert result.doc["counts"]["succeeded"] == 3 and result.doc["counts"]["failed"] == 1
    failed = [i for i in result.doc["items"] if i["state"] == "failed"]
    assert failed[0]["error"]["type"] == "api_rejected" and "--retry-failed" in result.doc["error"]["hint"]
    check_files(result.doc)
    rerun = run(main, str(source), "--approve", env=env)
    assert rerun.code == 4 and rerun.doc["counts"]["skipped_done"] == 4 and len(generate_calls(fake)) == 4
    retried = run(main, str(source), "--approve", "--retry-failed", env=env)
    assert retried.code == 0 and retried.doc["counts"]["succeeded"] == 1
    assert retried.doc["counts"]["skipped_done"] == 3
    assert len(generate_calls(fake)) == 5 and prompt_of(generate_calls(fake)[-1]) == failed[0]["prompt"]


def test_blocked_item_exits_7_and_others_are_saved(run, fake, env, tmp_path) -> None:
    fake.config.image_outcome = "image_safety"
    result = run(main, str(prompts_file(tmp_path, 2)), "--approve", env=env)
    assert result.code == 7 and result.doc["counts"]["blocked"] == 2
    assert all(i["error"]["type"] == "blocked" for i in result.doc["items"])


def test_429s_lower_the_pace_and_lose_nothing(run, fake, env, tmp_path) -> None:
    fake.config.rate_limit_rps = 3
    source = prompts_file(tmp_path, 9)
    result = run(main, str(source), "--approve", "--concurrency", "9", env=env)
    assert result.code == 0, result.doc
    assert result.doc["counts"]["succeeded"] == 9
    statuses = [r.status for r in generate_calls(fake)]
    assert statuses.count(200) == 9 and 429 in statuses
    assert "pacing new requests to 3" in result.stderr
    assert sorted(prompt_of(r) for r in generate_calls(fake) if r.status == 200) == sorted(
        i["prompt"] for i in result.doc["items"])


def test_limiter_paces_to_the_observed_rate() -> None:
    now = [0.0]
    limiter = AdaptiveLimiter(8, clock=lambda: now[0], margin_s=0.0)
    starts = [limiter.pace() for _ in range(5)]
    for start in starts[3:]:
        limiter.throttled(start, 1.0)
    assert limiter.limit == 3                                         # what the server accepted
    assert limiter._wait_time(0.0, 0.0) == pytest.approx(1.0)         # those three fill this window
    now[0] = 1.0
    limiter.pace(), limiter.pace(), limiter.pace()
    assert limiter._wait_time(1.0, 0.0) == pytest.approx(1.0)         # three more in the next one
    now[0] = 2.5
    for start in starts[:3]:
        limiter.answered(start)
    limiter.throttled(limiter.pace(), 30.0)                           # a per-minute quota: everyone holds
    assert limiter._wait_time(2.5, 0.0) == pytest.approx(30.0)
    assert limiter.limit == 3
    late = AdaptiveLimiter(8, clock=lambda: now[0], margin_s=0.0)
    old = late.pace()                     # started long ago, still unanswered: the server may count it late
    now[0] = 5.0
    late.throttled(late.pace(), 1.0)
    assert late.limit == 1 and not old.answered
    late2 = AdaptiveLimiter(8, clock=lambda: now[0], margin_s=0.0)
    late2.pace(), late2.pace()
    now[0] = 9.0
    late2.throttled(late2.pace(), 1.0)
    assert late2.limit == 2                                           # the two unanswered ones still count
    fixed = AdaptiveLimiter(4, rate=0.5, clock=lambda: now[0], margin_s=0.0)
    fixed.pace()
    assert fixed._wait_time(now[0], 0.0) == pytest.approx(2.0)


def test_killed_run_resumes_without_resending_finished_items(run, fake, env, tmp_path) -> None:
    fake.config.latency_s = 0.25
    source = prompts_file(tmp_path, 12)
    out = tmp_path / "out"
    results = out / batch.RESULTS_NAME
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "batch_gen.py"), str(source), "--approve",
                             "--concurrency", "2", "-o", str(out)], env={**env, "PYTHONPATH": str(ROOT)},
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if results.is_file() and len(results.read_text().splitlines()) >= 4:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the batch never wrote results")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    done_before = {entry["prompt"] for entry in batch.ResultsFile(results).load().values()}   # torn line ignored
    sent_before = len(generate_calls(fake))
    assert 4 <= len(done_before) < 12
    fake.config.latency_s = 0.0
    result = run(main, str(source), "--approve", "-o", str(out), env=env)
    assert result.code == 0, result.doc
    assert result.doc["counts"]["skipped_done"] == len(done_before)
    assert result.doc["counts"]["succeeded"] == 12 - len(done_before)
    resent = [prompt_of(r) for r in generate_calls(fake)[sent_before:]]
    assert not set(resent) & done_before                       # nothing with a results line was sent again
    assert len(resent) == 12 - len(done_before)
    keys = [json.loads(line)["key"] for line in results.read_text().splitlines() if line.strip()]
    assert len(keys) == len(set(keys)) == 12
    check_files(result.doc)


# -- videos in a batch -----------------------------------------------------------------------------

def test_video_items_record_job_ids_and_resume_without_new_creates(run, fake, env, tmp_path) -> None:
    fake.config.interaction_polls_until_done = 100000
    source = write(tmp_path / "mixed.jsonl", '{"prompt": "a fox"}\n{"prompt": "a cat walking", "kind": "video", '
                                             '"duration": 4}\n')
    first = run(main, str(source), "--approve", "--wait-timeout", "0.2", env=env)
    assert first.code == 8 and first.doc["counts"]["running"] == 1 and first.doc["counts"]["succeeded"] == 1
    video = first.doc["items"][1]
    assert video["state"] == "running" and video["job_id"] in first.doc["job_ids"]
    assert [e["job_id"] for e in result_lines(first.doc) if e["kind"] == "video"][-1] == video["job_id"]
    fake.config.interaction_polls_until_done = 0
    second = run(main, str(source), "--approve", env=env)
    assert second.code == 0, second.doc
    assert second.doc["counts"] == {"succeeded": 1, "failed": 0, "blocked": 0, "skipped_done": 1, "running": 0,
                                    "not_sent": 0}
    clip = second.doc["items"][1]
    assert clip["job_id"] == video["job_id"] and Path(clip["files"][0]).suffix == ".mp4"
    assert json.loads(Path(clip["files"][0]).with_suffix(".json").read_text())["kind"] == "video"
    creates = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/interactions")]
    assert len(creates) == 1


# -- the Gemini Batch API --------------------------------------------------------------------------

def batch_creates(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith(":batchGenerateContent")]


def test_batch_api_inline_round_trip(run, fake, env, tmp_path) -> None:
    source = write(tmp_path / "cat.csv", "prompt,count,name\na red fox,,fox\na blue whale,2,\n")
    result = run(main, str(source), "--via", "batch-api", "--approve", env=env)
    assert result.code == 0, result.doc
    doc = result.doc
    assert doc["counts"]["succeeded"] == 2 and [len(i["files"]) for i in doc["items"]] == [1, 2]
    assert Path(doc["items"][0]["files"][0]).name == "fox.png"
    check_files(doc)
    cost = doc["cost"]
    assert cost["standard_usd"] == pytest.approx(3 * 0.067) and cost["batch_usd"] == pytest.approx(3 * 0.0335)
    assert cost["saving_usd"] == pytest.approx(3 * 0.0335) and cost["estimate_usd"] == cost["batch_usd"]
    assert cost["actual_usd"] == pytest.approx(3 * 0.0335)
    create = batch_creates(fake)[0]
    assert create.path == "/v1beta/models/gemini-nano-banana-2.1:batchGenerateContent"
    inline = create.json["batch"]["inputConfig"]["requests"]["requests"]
    keys = [r["metadata"]["key"] for r in inline]
    assert keys == [f"{doc['items'][0]['key']}-1", f"{doc['items'][1]['key']}-1", f"{doc['items'][1]['key']}-2"]
    assert inline[0]["request"]["contents"][0]["parts"][0]["text"] == "a red fox"
    assert not generate_calls(fake)
    polls = [r for r in fake.requests if r.method == "GET" and "/batches/" in r.path]
    assert len(polls) == 3                    # PENDING, RUNNING, SUCCEEDED
    job = json.loads((Path(env["XDG_STATE_HOME"]) / "mediagen" / "jobs" / f"{doc['job_ids'][0]}.json").read_text())
    assert job["kind"] == "image-batch" and job["handle"].startswith("batches/") and job["state"] == "succeeded"
    sidecar = json.loads(Path(doc["items"][1]["files"][1]).with_suffix(".json").read_text())
    assert sidecar["batch"]["via"] == "batch-api" and sidecar["cost"]["actual_usd"] == pytest.approx(0.0335)
    again = run(main, str(source), "--via", "batch-api", "--approve", env=env)
    assert again.code == 0 and again.doc["counts"]["skipped_done"] == 2 and len(batch_creates(fake)) == 1


def test_batch_api_file_input_uploads_in_chunks(run, fake, env, tmp_path) -> None:
    source = prompts_file(tmp_path, 3)
    result = run(main, str(source), "--via", "batch-api", "--batch-input", "file", "--upload-chunk-bytes", "200",
                 "--approve", env=env)
    assert result.code == 0, result.doc
    assert result.doc["counts"]["succeeded"] == 3
    check_files(result.doc)
    uploads = [r for r in fake.requests if r.path.startswith("/upload/")]
    start = uploads[0]
    assert start.headers["x-goog-upload-protocol"] == "resumable" and start.headers["x-goog-upload-command"] == "start"
    total = int(start.headers["x-goog-upload-header-content-length"])
    chunks = uploads[1:]
    assert len(chunks) == -(-total // 200) and all(len(c.body) <= 200 for c in chunks)
    assert [c.headers["x-goog-upload-command"] for c in chunks][-1] == "upload, finalize"
    assert {c.headers["x-goog-upload-command"] for c in chunks[:-1]} == {"upload"}
    assert [int(c.headers["x-goog-upload-offset"]) for c in chunks] == list(range(0, total, 200))
    lines = b"".join(c.body for c in chunks).decode().splitlines()
    assert [json.loads(line)["key"].rsplit("-", 1)[0] for line in lines] == [i["key"] for i in result.doc["items"]]
    create = batch_creates(fake)[0]
    assert create.json["batch"]["inputConfig"]["fileName"].startswith("files/")
    downloads = [r for r in fake.requests if r.path.startswith("/download/v1beta/files/")]
    assert downloads and downloads[0].query.get("alt") == ["media"]


def test_batch_api_auto_switches_to_a_file_above_the_inline_limit(run, fake, env, tmp_path) -> None:
    result = run(main, str(prompts_file(tmp_path, 2)), "--via", "batch-api", "--inline-limit-mb", "0.0001",
                 "--approve", env=env)
    assert result.code == 0, result.doc
    assert "fileName" in batch_creates(fake)[0].json["batch"]["inputConfig"]


def test_batch_api_refuses_what_it_cannot_take(run, fake, env, fake_env, tmp_path) -> None:
    key_file = fake.write_service_account(tmp_path / "sa.json")
    vertex = {**fake_env, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}
    source = write(tmp_path / "p.txt", "a fox\n")
    result = run(main, str(source), "--via", "batch-api", "--approve", env=vertex)
    assert result.code == 2 and "Gemini API feature" in result.doc["error"]["message"]
    assert not [r for r in fake.requests if r.service != "oauth"]
    videos = write(tmp_path / "v.jsonl", '{"prompt": "a cat", "kind": "video"}\n')
    refused = run(main, str(videos), "--via", "batch-api", "--approve", env=env)
    assert refused.code == 2 and "line 1" in refused.doc["error"]["message"] and not fake.requests


def test_jobs_py_waits_lists_and_cancels_batch_jobs(run, fake, env, tmp_path) -> None:
    fake.config.batch_polls_until_done = 100000
    source = prompts_file(tmp_path, 2)
    first = run(main, str(source), "--via", "batch-api", "--approve", "--wait-timeout", "0.1", env=env)
    assert first.code == 8 and first.doc["counts"]["running"] == 2
    job_id = first.doc["job_ids"][0]
    listed = run(jobs_main, "list", env=env)
    assert any(j["job_id"] == job_id for j in listed.doc["jobs"])
    status = run(jobs_main, "status", job_id, env=env)
    assert status.code == 8
    fake.config.batch_polls_until_done = 0
    done = run(jobs_main, "wait", job_id, env=env)
    assert done.code == 0, done.doc
    assert done.doc["kind"] == "image-batch" and done.doc["counts"]["succeeded"] == 2
    assert all(Path(f).is_file() for i in done.doc["items"] for f in i["files"])
    rerun = run(main, str(source), "--via", "batch-api", "--approve", env=env)
    assert rerun.code == 0 and rerun.doc["counts"]["skipped_done"] == 2 and len(batch_creates(fake)) == 1

    fake.config.batch_polls_until_done = 100000
    other = prompts_file(tmp_path, 1, "other.txt")
    pending = run(main, str(other), "--via", "batch-api", "--no-wait", env=env)
    assert pending.code == 8
    cancel = run(jobs_main, "cancel", pending.doc["job_ids"][0], env=env)
    assert cancel.code == 0 and cancel.doc["cancelled_remotely"] is True
    assert [r for r in fake.requests if r.method == "POST" and r.path.endswith(":cancel")]
    retried = run(main, str(other), "--via", "batch-api", "--no-wait", "--retry-failed", env=env)
    assert retried.code == 8 and len(batch_creates(fake)) == 3


def test_estimate_cost_shows_batch_and_standard_prices_without_credentials(run, fake, fake_env, tmp_path) -> None:
    result = run(main, str(prompts_file(tmp_path, 4)), "--estimate-cost", env=fake_env)
    assert result.code == 0 and not fake.requests
    assert result.doc["cost"]["estimate_usd"] == pytest.approx(4 * 0.067)
    assert result.doc["cost"]["batch_usd"] == pytest.approx(4 * 0.0335)


def test_failed_upload_chunk_resumes_from_what_the_server_holds(run, fake, env, tmp_path) -> None:
    fake.add_fault(service="gemini", path_contains="upload_id=", method="POST", status=400)
    result = run(main, str(prompts_file(tmp_path, 2)), "--via", "batch-api", "--batch-input", "file",
                 "--upload-chunk-bytes", "300", "--approve", env=env)
    assert result.code == 0, result.doc
    commands = [r.headers.get("x-goog-upload-command") for r in fake.requests if "upload_id" in r.query]
    assert commands[:3] == ["upload", "query", "upload"] and commands[-1] == "upload, finalize"


def test_batch_create_500_is_never_resent(run, fake, env, tmp_path) -> None:
    fake.add_fault(service="gemini", path_contains=":batchGenerateContent", status=500)
    source = prompts_file(tmp_path, 2)
    result = run(main, str(source), "--via", "batch-api", "--approve", env=env)
    assert result.code == 5 and len(batch_creates(fake)) == 1
    job_id = result.doc["job_ids"][0]
    assert result.doc["items"][0]["job_id"] == job_id and "not re-sent" in result.doc["error"]["hint"]
    again = run(main, str(source), "--via", "batch-api", "--approve", "--retry-failed", env=env)
    assert again.code == 5 and again.doc["counts"]["skipped_done"] == 2 and len(batch_creates(fake)) == 1
    resumed = run(jobs_main, "wait", job_id, env=env)
    assert resumed.code == 5 and "will not resend" in resumed.doc["error"]["hint"]
    assert len(batch_creates(fake)) == 1
