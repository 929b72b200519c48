"""``check_api.py --drift``: the catalog against what the credential can see, for free; exit 11 on drift."""
from __future__ import annotations

import pytest

from mediagen.app.requests import CheckRequest, field_meta
from mediagen.cli.check_api import main
from mediagen.core.errors import EXIT_CODE_MEANINGS, ExitCode
from mediagen.mcp.toolset import build_specs
from mediagen.ops.drift import media_kind
from tests.conftest import GEMINI_KEY


def _gemini(fake_env):
    return {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}


def test_a_catalog_in_step_with_the_gemini_api_is_no_drift(run, fake, fake_env) -> None:
    result = run(main, "--drift", env=_gemini(fake_env))
    assert result.code == 0, result.doc
    drift = result.doc["drift"]
    assert drift["found"] is False and drift["backend"] == "gemini-api" and drift["today"] == "2026-12-05"
    assert drift["not_served"] == [] and drift["unlisted"] == [] and drift["passed_shutdowns"] == []


def test_without_drift_the_document_has_none(run, fake, fake_env) -> None:
    result = run(main, env=_gemini(fake_env))
    assert result.code == 0 and "drift" not in result.doc


def test_gemini_drift_reads_every_page_and_lists_each_kind(run, fake, fake_env) -> None:
    fake.config.gemini_extra_models = {
        "gemini-4-flash-image": ["generateContent", "countTokens"],      # image by its id
        "veo-4.0-generate-001": ["predictLongRunning"],                  # video by id and method
        "mystery-model-x": ["predict"],                                  # image by its method only
        "gemini-9-pro": ["generateContent"],                             # a text model: not ours to track
    }
    fake.config.gemini_hidden_models = ("gemini-3.1-flash-lite-image",)
    fake.config.gemini_imagen_served = True          # Imagen still listed although the catalog retired it
    result = run(main, "--drift", env=_gemini(fake_env))
    assert result.code == ExitCode.DRIFT == 11, result.doc
    assert result.doc["ok"] is False and result.doc["error"]["type"] == "drift"
    drift = result.doc["drift"]
    assert {(m["id"], m["kind"]) for m in drift["unlisted"]} == {
        ("gemini-4-flash-image", "image"), ("veo-4.0-generate-001", "video"), ("mystery-model-x", "image")}
    assert [m["id"] for m in drift["not_served"]] == ["gemini-3.1-flash-lite-image"]
    assert {m["id"] for m in drift["retired_but_listed"]} >= {"imagen-4.0-generate-001"}
    assert "1 not served, 3 unlisted" in result.doc["error"]["message"]
    assert "presets/models.yaml" in result.doc["error"]["hint"]


def test_every_page_of_models_list_is_read(run, fake, fake_env, monkeypatch) -> None:
    from tests.fake_google import common

    real = common.page
    monkeypatch.setattr("tests.fake_google.gemini.page", lambda items, req: real(items, req, max_size=2))
    fake.config.gemini_extra_models = {"veo-4.0-generate-001": ["predictLongRunning"]}
    result = run(main, "--drift", env=_gemini(fake_env))
    assert result.code == 11 and [m["id"] for m in result.doc["drift"]["unlisted"]] == ["veo-4.0-generate-001"]
    assert len([r for r in fake.requests if "pageToken" in r.query]) >= 3


def test_vertex_404_is_not_served_403_cannot_tell_and_unlisted_is_unknowable(run, fake, vertex_env) -> None:
    clean = run(main, "--drift", env=vertex_env)
    assert clean.code == 0, clean.doc["drift"]
    assert clean.doc["drift"]["unlisted"] is None
    assert any(n["id"] == "imagen-4.0-generate-001" for n in clean.doc["drift"]["notices"])
    fake.add_fault(service="vertex", path_contains="models/veo-3.1-lite-generate-001", method="GET", status=404,
                   times=None)
    fake.add_fault(service="vertex", path_contains="models/imagen-4.0-ultra-generate-001", method="GET",
                   status=403, times=None)
    result = run(main, "--drift", env=vertex_env)
    assert result.code == 11, result.doc
    drift = result.doc["drift"]
    assert [m["id"] for m in drift["not_served"]] == ["veo-3.1-lite-generate-001"]
    assert "imagen-4.0-ultra-generate-001" in [m["id"] for m in drift["cannot_tell"]]


def test_a_passed_firm_shutdown_date_is_drift(run, fake, vertex_env) -> None:
    result = run(main, "--drift", env={**vertex_env, "MEDIAGEN_TODAY": "2027-03-16"})
    assert result.code == 11
    drift = result.doc["drift"]
    assert [(m["id"], m["shutdown"]) for m in drift["passed_shutdowns"]] == [("gemini-2.5-flash-image", "2027-03-15")]
    assert [m["id"] for m in drift["retired_but_listed"]] == ["gemini-2.5-flash-image"]


def test_the_proxy_listing_is_compared_too(run, fake, base_env) -> None:
    result = run(main, "--drift", env={**base_env, "CLIPROXY_URL": fake.urls["cliproxy"]})
    assert result.code == 0, result.doc.get("drift")
    assert result.doc["drift"]["backend"] == "cliproxy" and result.doc["drift"]["unlisted"] == []


@pytest.mark.parametrize("wire_id,methods,kind", [
    ("gemini-3-pro-image", ["generateContent"], "image"), ("imagen-5.0-generate-001", ["predict"], "image"),
    ("gemini-omni-2-flash", ["generateContent"], "video"), ("some-model", ["predictLongRunning"], "video"),
    ("gemini-2.5-pro", ["generateContent", "countTokens"], None),
])
def test_media_kind_by_id_then_method(wire_id, methods, kind) -> None:
    assert media_kind(wire_id, methods) == kind


def test_the_flag_the_request_field_and_the_mcp_tool_agree() -> None:
    assert EXIT_CODE_MEANINGS[ExitCode.DRIFT].startswith("`check_api.py --drift`")
    assert "Exit 11" in field_meta(CheckRequest, "drift")["help"]
    prop = build_specs({"image": {}, "video": {}})["check_setup"].input_schema()["properties"]["drift"]
    assert prop["type"] == "boolean"
