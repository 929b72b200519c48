"""Bad input in the money path: an unreadable Retry-After, a URL input that drips, a batch output outside its folder."""
from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from mediagen.cli.batch_gen import main as batch_main
from mediagen.cli.image_gen import main as image_main
from mediagen.cli.video_gen import main as video_main
from tests.conftest import ROOT


class _Drip(http.server.BaseHTTPRequestHandler):
    """Promises a 1 MB PNG and sends one byte every 0.1 s for about four seconds."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
        try:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(1 << 20))
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"\x89")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def dripping_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/fox.png"
    server.shutdown()
    server.server_close()


def creates(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith(":generateContent")]


def test_an_unreadable_retry_after_falls_back_to_backoff(run, fake, omni_env) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", status=429, retry_after="soon-ish")
    result = run(image_main, "a red fox", env=omni_env)
    assert result.code == 0, result.doc
    assert [r.status for r in creates(fake)] == [429, 200]


def test_the_url_input_deadline_is_a_setting(run, fake, omni_env, dripping_url) -> None:
    began = time.monotonic()
    result = run(image_main, "a red fox", "-i", dripping_url, "--dry-run",
                 env={**omni_env, "MEDIAGEN_URL_DEADLINE_S": "0.5"})
    elapsed = time.monotonic() - began
    assert result.code == 2, result.doc
    assert "0.5" in result.doc["error"]["message"] + result.doc["error"]["hint"]
    assert elapsed < 3.0 and not fake.requests


@pytest.mark.parametrize("output", ["../../x.png", "{outside}/x.png", "sub/../../y.png"])
def test_batch_outputs_stay_inside_the_batch_folder(run, fake, omni_env, tmp_path, output) -> None:
    outside = tmp_path / "elsewhere"
    source = tmp_path / "items.yaml"
    source.write_text(f"- prompt: a red fox\n  output: {output.format(outside=outside)}\n- prompt: a blue bird\n")
    out = tmp_path / "deep" / "batch"
    result = run(batch_main, str(source), "--approve", "-o", str(out), env=omni_env)
    assert result.code == 2, result.doc
    problems = result.doc["error"]["details"]["problems"]
    assert len(problems) == 1 and problems[0].startswith("line 1:") and str(out) in problems[0]
    assert not creates(fake)
    assert not list(tmp_path.glob("*.png")) and not list((tmp_path / "deep").glob("*.png"))
    assert not outside.exists()


def test_a_batch_output_inside_the_folder_is_fine(run, fake, omni_env, tmp_path) -> None:
    source = tmp_path / "items.yaml"
    source.write_text("- prompt: a red fox\n  output: foxes/red.png\n")
    out = tmp_path / "batch"
    result = run(batch_main, str(source), "--approve", "-o", str(out), env=omni_env)
    assert result.code == 0, result.doc
    assert Path(result.doc["items"][0]["files"][0]) == out / "foxes" / "red.png"


# -- prompts that are not text ---------------------------------------------------------------------

@pytest.mark.parametrize("main", [image_main, video_main])
def test_a_prompt_file_that_is_not_utf8_is_a_usage_error_naming_it(run, fake, omni_env, tmp_path, main) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_bytes("un café crème".encode("cp1252"))
    result = run(main, "--prompt-file", str(prompt), env=omni_env)
    assert result.code == 2 and result.doc["error"]["type"] == "usage", result.doc
    assert str(prompt) in result.doc["error"]["message"] and "UTF-8" in result.doc["error"]["message"]
    assert not fake.requests


def test_prompt_bytes_that_are_not_utf8_are_refused_from_argv_and_stdin(run, fake, omni_env, tmp_path) -> None:
    from_argv = run(image_main, os.fsdecode(b"un caf\xe9"), env=omni_env)       # how Python hands such bytes over
    assert from_argv.code == 2 and "not UTF-8" in from_argv.doc["error"]["message"], from_argv.doc
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "image_gen.py"), "-", "--dry-run"],
                          input=b"un caf\xe9", capture_output=True, cwd=tmp_path, timeout=60,
                          env={**omni_env, "PYTHONPATH": str(ROOT)})
    doc = json.loads(done.stdout)
    assert done.returncode == 2 and "stdin" in doc["error"]["message"] and "not UTF-8" in doc["error"]["message"]
    assert not fake.requests


@pytest.mark.parametrize("model", ["../../x", "x?key=1", "a b", "x/y", "x#frag", "x:generateContent", "x\ny"])
def test_a_model_id_that_cannot_be_one_is_refused_before_it_reaches_a_url(run, fake, omni_env, model) -> None:
    for main in (image_main, video_main):
        result = run(main, "a red fox", "--model", model, "--allow-unknown-model", env=omni_env)
        assert result.code == 2 and result.doc["error"]["type"] == "invalid_request", result.doc
    assert not fake.requests


def test_a_model_id_the_catalog_does_not_know_still_goes_out_unpriced(run, fake, omni_env) -> None:
    result = run(image_main, "a red fox", "--model", "zz-new-model@001", "--dry-run", env=omni_env)
    assert result.code == 0 and result.doc["cost"]["priced"] is False, result.doc


# -- numbers and paths the flags cannot use ---------------------------------------------------------------

@pytest.mark.parametrize("script, argv", [
    ("video_gen", ["a cat walking", "--wait-timeout", "nan"]),
    ("jobs", ["wait", "vid-1", "--wait-timeout", "nan"]),
    ("storyboard", ["{board}", "--approve", "--wait-timeout", "nan"]),
    ("batch_gen", ["{prompts}", "--approve", "--rate", "nan"]),
    ("batch_gen", ["{prompts}", "--approve", "--rate", "inf"]),
    ("batch_gen", ["{prompts}", "--approve", "--via", "batch-api", "--inline-limit-mb", "nan"]),
    ("batch_gen", ["{prompts}", "--approve", "--via", "batch-api", "--inline-limit-mb", "-1"]),
])
def test_a_number_flag_that_cannot_be_used_is_a_usage_error(run, fake, omni_env, tmp_path, script, argv) -> None:
    from mediagen.cli import batch_gen, jobs, storyboard, video_gen

    board = tmp_path / "board.yaml"
    board.write_text("version: 1\ntitle: Cat\nshots:\n  - {id: s1, prompt: a cat walks, duration: 4, transition: cut}\n")
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red fox\n")
    main = {"video_gen": video_gen.main, "jobs": jobs.main, "storyboard": storyboard.main,
            "batch_gen": batch_gen.main}[script]
    result = run(main, *[a.format(board=board, prompts=prompts) for a in argv], env=omni_env)
    assert result.code == 2 and result.doc["error"]["type"] == "usage", result.doc
    assert argv[-2] in result.doc["error"]["message"]
    assert not [r for r in fake.requests if r.method == "POST"]


def test_storyboard_and_gallery_outputs_under_a_file_are_refused_naming_it(run, fake, omni_env, tmp_path) -> None:
    from mediagen.cli import gallery, storyboard

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    board = tmp_path / "board.yaml"
    board.write_text("version: 1\ntitle: Cat\nshots:\n  - {id: s1, prompt: a cat walks, duration: 4, transition: cut}\n")
    film = run(storyboard.main, str(board), "--approve", "-o", str(blocker), env=omni_env)
    assert film.code == 3 and str(blocker) in film.doc["error"]["message"], film.doc
    page = run(gallery.main, str(tmp_path), "-o", str(blocker / "gallery.html"), env=omni_env)
    assert page.code == 3 and str(blocker) in page.doc["error"]["message"], page.doc
    assert not [r for r in fake.requests if r.method == "POST"]
