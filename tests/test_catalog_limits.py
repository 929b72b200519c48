"""Per-model limits as catalog data: Omni 1.2 is validated with its own numbers, not 1.1's, and a refusal
caused by an uncertain limit says so and names the override key that lifts it."""
from __future__ import annotations

import pytest

from mediagen.catalog import Catalog
from mediagen.core.errors import CatalogError
from tests.conftest import TODAY

CATALOG = Catalog.load(today=TODAY)


def _errors(**request):
    return [p for p in CATALOG.validate({"kind": "video", "backend": "gemini-api", **request})
            if p.severity == "error"]


def test_every_limit_names_its_sources_and_omni_12_marks_them_uncertain():
    with_limits = [m for m in CATALOG.models() if m.limits]
    assert {m.id for m in with_limits} >= {"gemini-omni-1.1-flash", "gemini-omni-1.2-flash"}
    for model in with_limits:
        assert all(limit["sources"] for limit in model.limits.values()), model.id
    omni12 = CATALOG.get("gemini-omni-1.2-flash").limits
    assert set(omni12) == {"duration", "frame_mode_max_duration", "reference_images", "extension_step",
                           "extension_total"}
    assert all(limit["uncertain"] for limit in omni12.values())


def test_clip_length_is_each_models_own():
    assert _errors(model="omni-1.2", duration=15) == []
    [too_long] = _errors(model="omni-1.2", duration=16)
    assert "choose one of 3, 4, 5" in too_long.message and "UNCERTAIN" in too_long.message
    assert "limits.duration.max" in too_long.message and "MEDIAGEN_CATALOG_OVERRIDE" in too_long.message
    [eleven] = _errors(model="gemini-omni-1.1-flash", duration=11)
    assert "UNCERTAIN" not in eleven.message          # 1.1's 3-10 s is Google's own figure


def test_frames_cap_omni_12_at_ten_seconds():
    assert _errors(model="omni-1.2", duration=12) == []
    for mode, frames in (("image_to_video", {"first_frame": True}),
                         ("first_last_frame", {"first_frame": True, "last_frame": True})):
        [capped] = _errors(model="omni-1.2", mode=mode, duration=12, **frames)
        assert capped.field == "duration" and "limits.frame_mode_max_duration.value" in capped.message
        assert _errors(model="omni-1.2", mode=mode, duration=10, **frames) == []


def test_reference_images_cap_is_six_on_12_and_ten_on_11():
    refs = {"mode": "reference_to_video", "duration": 8}
    assert _errors(model="omni-1.2", reference_assets=6, **refs) == []
    refused = _errors(model="omni-1.2", reference_assets=7, **refs)
    assert refused and all("limits.reference_images.value" in p.message for p in refused)
    assert "--model gemini-omni-1.1-flash" in refused[0].fix
    assert _errors(model="gemini-omni-1.1-flash", reference_assets=7, **refs) == []


def test_extensions_stop_at_30_s_on_12_and_40_s_on_11():
    extend = {"mode": "extend", "duration": 10, "backend": "vertex"}
    assert _errors(model="omni-1.2", source_seconds=20, **extend) == []
    [over] = _errors(model="omni-1.2", source_seconds=25, **extend)
    assert "stops at 30 s" in over.message and "limits.extension_total.value" in over.message
    assert _errors(model="gemini-omni-1.1-flash", source_seconds=25, **extend) == []
    [step] = _errors(model="omni-1.2", mode="extend", source_seconds=5, duration=12)
    assert "limits.extension_step.max" in step.message


def test_the_override_key_named_in_the_refusal_lifts_the_limit(tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text("models: [{id: gemini-omni-1.2-flash, limits: {reference_images: {value: 10}, "
                        "frame_mode_max_duration: {value: 15}}}]\n")
    lifted = Catalog.load(override_path=override, today=TODAY)
    request = {"kind": "video", "backend": "gemini-api", "model": "omni-1.2"}
    assert lifted.validate({**request, "mode": "reference_to_video", "reference_assets": 9, "duration": 8}) == []
    assert lifted.validate({**request, "mode": "image_to_video", "first_frame": True, "duration": 14}) == []


def test_a_limit_needs_its_sources(tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text("models: [{id: veo-3.1-fast, limits: {duration: {min: 4, max: 8}}}]\n")
    with pytest.raises(CatalogError, match="sources"):
        Catalog.load(override_path=override, today=TODAY)
