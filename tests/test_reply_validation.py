"""A billed reply that cannot be used is a bad reply (exit 5) that names the request and may have been billed.

Never exit 1, never "blocked", never "rerun"; the ledger says ``unknown`` with ``actual_usd: null`` for
every failure Google may bill, images and videos alike.
"""
from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from mediagen.cli.image_gen import main as image_main
from mediagen.cli.jobs import main as jobs_main
from mediagen.cli.video_gen import main as video_main
from tests.money import ledger_entries

GENERATE = ":generateContent"


def _png_b64() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(out, format="PNG")
    return base64.b64encode(out.getvalue())


BAD_REPLIES = {
    "html page": b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>captive portal</body></html>",
    "truncated json": b'{"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "da',
    "empty list": b"[]",
    "null": b"null",
    "a number": b"42",
    "candidates not a list": b'{"candidates": "yes"}',
    "parts of the wrong type": b'{"candidates": [{"content": {"parts": [7, "x"]}}]}',
    "data not a string": b'{"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", '
                         b'"data": 5}}]}}]}',
    "invalid base64": b'{"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", '
                      b'"data": "!!not*base64??"}}]}, "finishReason": "STOP"}]}',
    "not utf-8": b'{"candidates": [{"content": {"parts": [{"text": "\xff\xfe\xfa"}]}}]}',
    "empty body": b"",
    "error inside a 200": b'{"error": {"code": 500, "message": "backend error", "status": "INTERNAL"}}',
    "mime type that is a path": b'{"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": '
                                b'"../../etc/x", "data": "' + _png_b64() + b'"}}]}, "finishReason": "STOP"}]}',
}


def creates(fake, suffix: str) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith(suffix)]


def check_possibly_billed(result, *names: str) -> None:
    """Exit 5, a bad-reply or network error that says the request may have been billed and names it."""
    assert result.code == 5, result.doc
    error = result.doc["error"]
    text = error["message"] + " " + error["hint"]
    assert error["type"] in ("bad_reply", "network", "server_error"), error
    assert "may have been billed" in text
    for name in names:
        assert name in text, (name, text)
    assert "rerun" not in text.lower() and "retry" not in error["hint"].lower()


@pytest.mark.parametrize("case", list(BAD_REPLIES))
def test_a_bad_200_to_an_image_create_is_a_possibly_billed_bad_reply(run, fake, omni_env, case) -> None:
    fake.add_fault(service="gemini", path_contains=GENERATE, body=BAD_REPLIES[case])
    result = run(image_main, "a red fox", env=omni_env)
    check_possibly_billed(result, "request 1 of 1", result.doc.get("run_id", "run id missing"))
    final = ledger_entries(omni_env)[-1]
    assert final["status"] == "unknown" and final["actual_usd"] is None
    assert len(creates(fake, GENERATE)) == 1


def test_a_connection_closed_before_its_content_length_is_possibly_billed(run, fake, omni_env) -> None:
    fake.add_cut(service="gemini", path_contains=GENERATE, after_bytes=120)
    result = run(image_main, "a red fox", env=omni_env)
    check_possibly_billed(result, "request 1 of 1")
    assert ledger_entries(omni_env)[-1]["status"] == "unknown"
    assert len(creates(fake, GENERATE)) == 1


@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 502}, {"reset": True}])
def test_an_image_create_that_may_have_started_is_unknown_in_the_ledger(run, fake, omni_env, fault) -> None:
    fake.add_fault(service="gemini", path_contains=GENERATE, **fault)
    result = run(image_main, "a red fox", env=omni_env)
    assert result.code == 5, result.doc
    final = ledger_entries(omni_env)[-1]
    assert final["status"] == "unknown" and final["actual_usd"] is None
    assert len(creates(fake, GENERATE)) == 1


def test_a_bad_reply_to_a_video_create_records_the_job_as_unknown(run, fake, omni_env) -> None:
    fake.add_fault(service="gemini", path_contains="/interactions", method="POST", body=b"<html>busy</html>")
    result = run(video_main, "a cat walking", env=omni_env)
    job_id = result.doc["error"]["details"]["job_id"]
    check_possibly_billed(result, job_id, "jobs.py")
    assert ledger_entries(omni_env)[-1]["status"] == "unknown"
    status = run(jobs_main, "status", job_id, env=omni_env)
    assert status.doc["error"]["details"]["job_id"] == job_id and "will not resend" in status.doc["error"]["hint"]
    assert len(creates(fake, "/interactions")) == 1


@pytest.mark.parametrize("body", [b"", b'{"id": 5, "status": ["done"]}', b'{"error": {"code": 500}}',
                                  b'{"id": "x", "status": "completed", "steps": [{"type": "model_output", '
                                  b'"content": [{"type": "video", "mime_type": "video/mp4", "data": "%%%"}]}]}'])
def test_a_bad_reply_to_a_video_poll_names_the_job_and_how_to_resume(run, fake, omni_env, body) -> None:
    fake.add_fault(service="gemini", path_contains="/interactions/", method="GET", body=body)
    result = run(video_main, "a cat walking", env=omni_env)
    job_id = result.doc["error"]["details"]["job_id"]
    check_possibly_billed(result, job_id, f"jobs.py\" wait {job_id}")
    resumed = run(jobs_main, "wait", job_id, env=omni_env)
    assert resumed.code == 0, resumed.doc
    assert len(creates(fake, "/interactions")) == 1


def test_vertex_replies_are_checked_too(run, fake, vertex_env) -> None:
    fake.add_fault(service="vertex", path_contains=":predict", body=b'{"predictions": [{"bytesBase64Encoded": '
                                                                     b'"@@@", "mimeType": "image/png"}]}')
    imagen = run(image_main, "a red fox", "-m", "imagen-4.0-generate-001", env=vertex_env)
    check_possibly_billed(imagen, "request 1 of 1")
    fake.add_fault(service="vertex", path_contains=":fetchPredictOperation", body=b'{"done": "yes"}')
    veo = run(video_main, "a cat walking", env=vertex_env)
    check_possibly_billed(veo, veo.doc["error"]["details"]["job_id"])


def test_a_create_that_never_connected_is_failed_not_unknown(run, fake, omni_env) -> None:
    result = run(image_main, "a red fox", env={**omni_env, "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:9"})
    assert result.code == 5 and result.doc["error"]["type"] == "network", result.doc
    final = ledger_entries(omni_env)[-1]
    assert final["status"] == "failed" and final["actual_usd"] == 0.0
