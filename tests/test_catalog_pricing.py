"""The model catalog's prices: list-price estimates and the cheapest valid alternative."""
from __future__ import annotations

import pytest

from mediagen.catalog import Catalog, CostEstimate, Problem

CATALOG = Catalog.load()


def _errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


# --------------------------------------------------------------------------- estimate

def test_estimate_veo_fast_720p_8s_on_vertex():
    cost = CATALOG.estimate({"kind": "video", "backend": "vertex", "model": "veo-3.1-fast-generate-001",
                             "duration": 8, "resolution": "720p"})
    assert cost.priced and cost.usd == pytest.approx(0.80) and cost.items == 1 and cost.unit == "video"
    assert cost.as_of == "2026-09-12" and cost.source.startswith("https://")
    assert cost.breakdown[0]["usd_per_second"] == pytest.approx(0.10)


def test_estimate_without_audio_and_defaults_and_extension():
    silent = CATALOG.estimate({"kind": "video", "backend": "vertex", "model": "veo-3.1-fast",
                               "duration": 8, "generate_audio": False})
    assert silent.usd == pytest.approx(0.64)
    default = CATALOG.estimate({"kind": "video", "backend": "vertex", "model": "veo-3.1-fast"})
    assert default.usd == pytest.approx(0.80)       # 8 s at 720p by default
    extend = CATALOG.estimate({"kind": "video", "backend": "vertex", "model": "veo-3.1-fast", "mode": "extend"})
    assert extend.usd == pytest.approx(0.70)        # Vertex extension adds 7 s
    four = CATALOG.estimate({"kind": "video", "backend": "vertex", "model": "veo-3.1-generate-001",
                             "duration": 8, "resolution": "4k", "count": 2})
    assert four.usd == pytest.approx(9.60) and four.per_item_usd == pytest.approx(4.80)


def test_estimate_gemini_images_and_batch():
    request = {"kind": "image", "backend": "gemini-api", "model": "gemini-3.1-flash-image",
               "image_size": "2K", "count": 4}
    cost = CATALOG.estimate(request)
    assert cost.usd == pytest.approx(0.404) and cost.per_item_usd == pytest.approx(0.101)
    assert cost.batch_usd == pytest.approx(0.202)
    batch = CATALOG.estimate({**request, "batch": True})
    assert batch.usd == pytest.approx(0.202) and batch.usd == pytest.approx(cost.usd * 0.5)
    vertex = CATALOG.estimate({**request, "backend": "vertex"})       # Vertex batch prediction: also 50% off
    assert vertex.usd == pytest.approx(0.404) and vertex.batch_usd == pytest.approx(0.202)
    undocumented = CATALOG.estimate({**request, "backend": "vertex", "model": "nano-banana"})
    assert undocumented.batch_usd is None


def test_estimate_pro_with_input_images_and_imagen():
    cost = CATALOG.estimate({"kind": "image", "backend": "gemini-api", "model": "nano-banana-pro",
                             "image_size": "4K", "count": 2, "input_images": 3})
    assert cost.usd == pytest.approx(2 * (0.24 + 3 * 0.0011))
    ultra = CATALOG.estimate({"kind": "image", "backend": "vertex", "model": "imagen-4-ultra"})
    assert ultra.usd == pytest.approx(0.06) and ultra.batch_usd is None
    flash = CATALOG.estimate({"kind": "image", "backend": "vertex", "model": "gemini-2.5-flash-image", "count": 2})
    assert flash.usd == pytest.approx(0.078)


def test_estimate_omni_from_tokens():
    cost = CATALOG.estimate({"kind": "video", "backend": "gemini-api", "model": "omni", "duration": 10})
    assert cost.usd == pytest.approx(5792 * 10 * 17.50 / 1_000_000)
    assert cost.breakdown[0]["tokens_per_second"] == 5792
    upscaled = CATALOG.estimate({"kind": "video", "backend": "gemini-api", "model": "omni",
                                 "duration": 8, "resolution": "1080p"})
    assert upscaled.usd == pytest.approx(8 * 0.152) and any("UNCERTAIN" in n for n in upscaled.notes)


def test_estimate_marks_uncertain_prices():
    cost = CATALOG.estimate({"kind": "image", "backend": "gemini-api", "model": "nano-banana"})
    assert cost.priced and cost.usd == pytest.approx(0.067)
    assert any("UNCERTAIN" in note for note in cost.notes)


def test_estimate_unknown_model_is_unpriced():
    cost = CATALOG.estimate({"kind": "image", "backend": "gemini-api", "model": "gemini-9-image", "count": 2})
    assert isinstance(cost, CostEstimate)
    assert cost.priced is False and cost.usd is None and cost.items == 2
    assert set(cost.to_dict()) == {"usd", "per_item_usd", "items", "unit", "breakdown", "as_of", "source",
                                   "batch_usd", "priced", "notes"}


# --------------------------------------------------------------------------- cheapest alternative

def test_cheapest_alternative_for_veo_quality():
    request = {"kind": "video", "backend": "vertex", "model": "veo-3.1-generate-001", "duration": 8,
               "resolution": "1080p"}
    model_id, changes, cost = CATALOG.cheapest_alternative(request)
    assert cost.usd < CATALOG.estimate(request).usd
    assert changes.get("model", request["model"]) == model_id
    assert _errors(CATALOG.validate({**request, **changes})) == []


def test_cheapest_alternative_for_images_and_none_when_cheapest():
    model_id, changes, cost = CATALOG.cheapest_alternative(
        {"kind": "image", "backend": "gemini-api", "model": "gemini-3-pro-image"})
    assert changes == {"model": model_id} and cost.usd < 0.134
    assert CATALOG.cheapest_alternative({"kind": "video", "backend": "gemini-api", "model": "omni",
                                         "duration": 4}) is None
    assert CATALOG.cheapest_alternative({"kind": "image", "backend": "gemini-api", "model": "nope"}) is None


def test_cheapest_alternative_keeps_the_request_valid():
    # Reference images: Lite cannot take them, so the answer must be a model that can.
    request = {"kind": "video", "backend": "vertex", "model": "veo-3.1-generate-001", "mode": "reference_to_video",
               "reference_assets": 2, "duration": 8}
    model_id, changes, _ = CATALOG.cheapest_alternative(request)
    assert model_id == "veo-3.1-fast-generate-001"
    assert _errors(CATALOG.validate({**request, **changes})) == []
