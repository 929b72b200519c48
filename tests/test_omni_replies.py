"""Omni interaction replies read as Google's SDK reads them: every shape, every status."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediagen.cli.video_gen import main
from mediagen.ops.providers import OmniProvider
from mediagen.wire import interactions

VIDEO = {"type": "video", "mime_type": "video/mp4", "data": "AAAA"}
TEXT = {"type": "text", "text": "Here is your video."}
THOUGHT = {"type": "thought", "signature": "c2ln", "summary": [{"type": "text", "text": "planning"}]}
USER = {"type": "user_input", "content": [{"type": "text", "text": "a cat walking"}]}
# google-genai 3.6.1, _gaos/types/interactions/interaction.py: InteractionStatus.
SDK_STATUSES = ("in_progress", "requires_action", "completed", "failed", "cancelled", "incomplete",
                "budget_exceeded", "queued", "idle", "requires_continuation")


def reply(status: str = "completed", **fields) -> dict:
    return {"id": "v1_abc", "status": status, "model": "gemini-omni-1.1-flash", **fields}


def test_the_video_is_found_in_any_model_output_step_after_the_last_user_input() -> None:
    state = interactions.parse_interaction(reply(steps=[USER, {"type": "model_output", "content": [VIDEO]}, THOUGHT,
                                                        {"type": "model_output", "content": [TEXT]}]))
    assert [m.data for m in state.outcome.media] == ["AAAA"] and state.outcome.text == "Here is your video."
    earlier_turn = [{"type": "model_output", "content": [VIDEO]}, USER, {"type": "model_output", "content": [TEXT]}]
    assert interactions.parse_interaction(reply(steps=earlier_turn)).outcome.media == []
    uri = {"type": "video", "mime_type": "video/mp4", "uri": "gs://b/v.mp4"}
    two = [USER, {"type": "model_output", "content": [VIDEO]}, {"type": "model_output", "content": [TEXT, uri]}]
    assert [(m.data, m.uri) for m in interactions.parse_interaction(reply(steps=two)).outcome.media] == \
        [("AAAA", None), (None, "gs://b/v.mp4")]


def test_the_legacy_outputs_list_is_one_model_output() -> None:
    state = interactions.parse_interaction(reply(outputs=[TEXT, VIDEO]))
    assert [m.data for m in state.outcome.media] == ["AAAA"] and state.outcome.text == "Here is your video."
    assert interactions.latest_model_outputs(reply(outputs=[])) == []
    assert interactions.latest_model_outputs(reply(steps=[USER], outputs=[VIDEO])) == []   # steps win


@pytest.mark.parametrize("status", [*SDK_STATUSES, "paused_for_review"])
def test_every_status_is_running_completed_or_a_failure_naming_it(status: str) -> None:
    state = interactions.parse_interaction(reply(status, steps=[USER, {"type": "model_output", "content": [VIDEO]}]))
    if status in ("in_progress", "queued"):
        assert not state.done and not state.failed and state.outcome is None
        return
    result = OmniProvider.result_of(state)
    if status == "completed":
        assert result.state == "succeeded" and result.error is None
    else:
        assert result.done and result.state == "failed"
        assert result.error["status"] == status and f"'{status}'" in result.error["message"]
        assert ("does not know" in result.error["message"]) == (status not in SDK_STATUSES)


def test_a_failed_status_keeps_the_interactions_own_error_and_safety_means_blocked() -> None:
    state = interactions.parse_interaction(reply("failed", errors=[{"code": "SAFETY", "message": "blocked"}]))
    result = OmniProvider.result_of(state)
    assert result.state == "blocked" and result.error == {"code": "SAFETY", "message": "blocked", "status": "failed"}


# -- through the fake -------------------------------------------------------------------------------

def test_a_video_before_the_closing_text_is_saved(run, fake, omni_env) -> None:
    fake.config.interaction_reply = "video_then_text"
    result = run(main, "a cat walking", env=omni_env)
    assert result.code == 0, result.doc
    poll = [r for r in fake.requests if r.method == "GET" and "/interactions/" in r.path][-1]
    assert poll.status == 200
    assert Path(result.doc["videos"][0]["path"]).stat().st_size > 1000


def test_a_legacy_outputs_reply_is_saved(run, fake, omni_env) -> None:
    fake.config.interaction_reply = "legacy_outputs"
    result = run(main, "a cat walking", env=omni_env)
    assert result.code == 0, result.doc
    assert Path(result.doc["videos"][0]["path"]).stat().st_size > 1000


@pytest.mark.parametrize("status", ["idle", "requires_continuation", "paused_for_review"])
def test_idle_continuation_and_unknown_statuses_fail_naming_the_status(run, fake, omni_env, status) -> None:
    fake.config.interaction_status = status          # the reply still carries a video: it is not a success
    result = run(main, "a cat walking", env=omni_env)
    assert result.code == 5 and result.doc["error"]["type"] == "generation_failed", result.doc
    assert f"'{status}'" in result.doc["error"]["message"] and "usage" in result.doc["error"]["hint"]
    assert not list(Path.cwd().rglob("*.mp4"))
    ledger = Path(omni_env["XDG_STATE_HOME"]) / "mediagen" / "ledger.jsonl"
    final = json.loads(ledger.read_text().splitlines()[-1])
    assert final["status"] == "failed" and final["actual_usd"] == 0.0
