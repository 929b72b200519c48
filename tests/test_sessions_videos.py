"""Continuing Gemini Omni clips (``video_gen.py --continue``), the expired-interaction fallback, Veo's refusal,
and a session continued from a second process after the first was killed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mediagen.cli.image_gen import main as image_main
from mediagen.cli.sessions import main as sessions_main
from mediagen.cli.video_gen import main
from tests.conftest import GEMINI_KEY, ROOT


def creates(fake):
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/interactions")]


def made(run, env, *argv):
    result = run(main, *argv, env=env)
    assert result.code == 0, result.doc
    return result


def test_continue_sends_the_interaction_id_and_no_task(run, fake, omni_env) -> None:
    first = made(run, omni_env, "a cat walking", "--duration", "6", "-o", "cat.mp4")
    interaction = json.loads(Path(first.doc["videos"][0]["sidecar"]).read_text())["omni"]["interaction_id"]
    fake.clear()
    second = made(run, omni_env, "make it snow", "--continue", "cat.mp4", "-o", "snow.mp4")
    body = creates(fake)[0].json
    assert body["previous_interaction_id"] == interaction
    assert "generation_config" not in body and "video" not in json.dumps(body["input"])
    assert second.doc["continued"]["previous_interaction_id"] == interaction
    session = second.doc["videos"][0]["session"]
    assert session["turn"] == "2" and session["parent"] == "1"

    fake.clear()
    made(run, omni_env, "an edit", "--continue", "snow.mp4", "--mode", "edit", "-o", "edit.mp4")
    body = creates(fake)[0].json
    assert body["generation_config"] == {"video_config": {"task": "edit"}}
    assert body["previous_interaction_id"] == second.doc["operation"]

    shown = run(sessions_main, "show", session["id"], env=omni_env)
    assert shown.doc["chains"] == ["1 -> 2 -> 3"]
    assert [t.get("interaction_id") for t in shown.doc["session"]["turns"]][:2] == [interaction,
                                                                                    second.doc["operation"]]


def test_extend_video_on_an_omni_result_is_continue_with_mode_extend(run, fake, omni_env) -> None:
    made(run, omni_env, "a cat walking", "--duration", "4", "-o", "cat.mp4")
    fake.clear()
    made(run, omni_env, "it jumps", "--extend-video", "cat.mp4", "--duration", "4", "-o", "a.mp4")
    extended = creates(fake)[0].json
    fake.clear()
    made(run, omni_env, "it jumps", "--continue", "cat.mp4", "--mode", "extend", "--duration", "4", "-o", "b.mp4")
    continued = creates(fake)[0].json
    assert extended == continued
    assert continued["generation_config"] == {"video_config": {"task": "extend"}}


def test_an_expired_interaction_falls_back_to_the_clip_with_an_edit_task(run, fake, omni_env) -> None:
    first = made(run, omni_env, "a cat walking", "--duration", "4", "-o", "cat.mp4")
    assert fake.expire_interaction(first.doc["operation"])
    fake.clear()
    result = made(run, omni_env, "make it snow", "--continue", "cat.mp4", "-o", "snow.mp4", "--max-cost", "2")
    sent = creates(fake)
    assert [r.status for r in sent] == [404, 200]
    fallback = sent[1].json
    assert "previous_interaction_id" not in fallback
    assert fallback["generation_config"] == {"video_config": {"task": "edit"}}
    assert any(block.get("type") == "video" and block.get("data") for step in fallback["input"]
               for block in (step.get("content") or [step]))
    assert any("is gone" in w and "paid create" in w for w in result.doc["warnings"])
    assert result.doc["continued"]["fallback"].startswith("interaction ")


def test_the_fallback_is_refused_when_the_clip_is_too_long_to_edit(run, fake, omni_env) -> None:
    fake.config.video_seconds = 12                      # Omni 1.1 edits uploaded clips of at most 10 s
    made(run, omni_env, "a cat walking", "--model", "gemini-omni-1.1-flash", "--duration", "8", "-o", "cat.mp4")
    fake.config.video_seconds = None
    fake.expire_interaction(json.loads(Path("cat.json").read_text())["omni"]["interaction_id"])
    fake.clear()
    refused = run(main, "make it snow", "--continue", "cat.mp4", env=omni_env)
    assert refused.code == 2, refused.doc
    assert "10 s" in refused.doc["error"]["message"] or "1-10 s" in refused.doc["error"]["message"]
    assert [r.status for r in creates(fake)] == [404]            # nothing billable was sent


def test_a_continuation_over_the_cost_cap_sends_nothing(run, fake, omni_env) -> None:
    made(run, omni_env, "a cat walking", "--duration", "4", "-o", "cat.mp4")
    fake.expire_interaction(json.loads(Path("cat.json").read_text())["omni"]["interaction_id"])
    fake.clear()
    refused = run(main, "make it snow", "--continue", "cat.mp4", "--duration", "10", "--max-cost", "0.9",
                  env=omni_env)
    assert refused.code == 9, refused.doc                 # 10 s at $0.1014 / s: over the cap before any create
    assert creates(fake) == []


def test_a_veo_result_cannot_be_continued(run, fake, vertex_env) -> None:
    made(run, vertex_env, "a cat walking", "-o", "veo.mp4")
    fake.clear()
    refused = run(main, "make it snow", "--continue", "veo.mp4", env=vertex_env)
    assert refused.code == 2, refused.doc
    hint = refused.doc["error"]["hint"]
    assert "--extend-video" in hint and "--mask" in hint and "Omni" in hint
    assert not [r for r in fake.requests if r.method == "POST"]


def test_an_image_continued_from_a_second_process_after_kill_9(fake, fake_env, run, tmp_path) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    first = run(image_main, "a red fox in snow", "-m", "gemini-3-pro-image", "-o", "fox.png", env=env)
    assert first.code == 0, first.doc
    fake.config.latency_s = 30                           # the second turn hangs until it is killed
    script = ROOT / "scripts" / "image_gen.py"
    proc = subprocess.Popen([sys.executable, str(script), "make it night", "--continue", "fox.png", "-o", "n.png"],
                            env={**os.environ, **env}, cwd=Path.cwd(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not [r for r in fake.requests if r.path.endswith(":generateContent")][1:]:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    fake.config.latency_s = 0
    second = subprocess.run([sys.executable, str(script), "make it dusk", "--continue", "fox.png", "-o", "d.png"],
                            env={**os.environ, **env}, cwd=Path.cwd(), capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert fake.context_log[-1]["verdict"] == "kept" and fake.context_log[-1]["turns"] == 2
    session = json.loads(second.stdout)["images"][0]["session"]
    shown = run(sessions_main, "show", session["id"], env=env)
    assert [(t["turn"], t["parent"]) for t in shown.doc["session"]["turns"]] == [("1", None), ("2", "1")]


@pytest.mark.parametrize("action", ["list"])
def test_sessions_list_shows_costs_and_branches(run, fake, omni_env, action) -> None:
    made(run, omni_env, "a cat walking", "--duration", "4", "-o", "cat.mp4")
    made(run, omni_env, "make it snow", "--continue", "cat.mp4", "-o", "a.mp4")
    made(run, omni_env, "make it rain", "--continue", "cat.mp4", "-o", "b.mp4")
    listed = run(sessions_main, action, env=omni_env)
    entry = listed.doc["sessions"][0]
    assert entry["turns"] == 3 and entry["branches"] == 2 and entry["kind"] == "video"
    assert entry["cost_usd"] > 0 and entry["first_prompt"] == "a cat walking"
