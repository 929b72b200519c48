"""Presets: the shipped files are valid against the catalog; bad files and names fail clearly."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from mediagen.catalog import Catalog
from mediagen.core.errors import ModelUnavailable, PresetError
from mediagen.config.presets import PRESETS_DIR, Preset, get_preset, load_presets

CATALOG = Catalog.load()
CASES = [(kind, preset, backend)
         for kind in ("image", "video")
         for preset in load_presets(kind).values()
         for backend in preset.backends]


def test_shipped_presets_exist():
    assert {"icon", "product-shot", "poster", "thumbnail", "social-story", "draft"} <= set(load_presets("image"))
    assert {"quick", "quality", "extend", "budget"} <= set(load_presets("video"))
    for kind in ("image", "video"):
        for preset in load_presets(kind).values():
            assert preset.kind == kind and len(preset.description) > 20


@pytest.mark.parametrize("kind,preset,backend", CASES, ids=[f"{k}:{p.name}@{b}" for k, p, b in CASES])
def test_every_preset_is_valid_for_each_backend_it_names(kind, preset, backend):
    request = {"kind": kind, "backend": backend, **preset.values_for(backend)}
    try:
        request.setdefault("model", CATALOG.default_model(kind, backend))
    except ModelUnavailable:
        pytest.fail(f"{preset.name} names {backend}, which serves no {kind} model")
    model = CATALOG.get(request["model"])
    assert model is not None and model.kind == kind, f"{preset.name}: unknown model {request['model']}"
    assert CATALOG.validate(request) == [], f"{preset.name}@{backend}: {CATALOG.validate(request)}"
    assert CATALOG.estimate(request).priced


def test_video_presets_map_models_per_backend_and_skip_the_proxy():
    for preset in load_presets("video").values():
        assert preset.backends == ("gemini-api", "vertex")
        assert CATALOG.get(preset.values_for("vertex")["model"]).family == "veo"
        assert CATALOG.get(preset.values_for("gemini-api")["model"]).family == "omni"
    # The original's 5-second quick/budget presets were invalid for Veo 3.1.
    assert get_preset("video", "quick").values_for("vertex")["duration"] in (4, 6, 8)


def test_values_for_flattens_backend_maps():
    budget = get_preset("video", "budget")
    assert budget.values_for("gemini-api") == {"model": "gemini-omni-1.1-flash", "duration": 4, "resolution": "360p"}
    assert budget.values_for("vertex")["resolution"] == "720p"
    assert "model" not in budget.values_for("cliproxy")
    icon = get_preset("image", "icon")
    assert icon.backends == ("gemini-api", "vertex", "cliproxy")
    assert icon.values_for("vertex") == {"aspect_ratio": "1:1", "image_size": "1K"}


def test_preset_is_frozen():
    preset = get_preset("image", "draft")
    assert isinstance(preset, Preset)
    with pytest.raises(Exception):
        preset.name = "other"


def test_unknown_preset_name_lists_the_available_ones():
    with pytest.raises(PresetError) as caught:
        get_preset("video", "fast")
    assert "unknown video preset 'fast'" in caught.value.message
    assert "budget, extend, quality, quick" in caught.value.message
    assert get_preset("image", "Poster").name == "poster"


def _edited_copy(tmp_path: Path, kind: str, edit) -> Path:
    data = yaml.safe_load((PRESETS_DIR / f"{kind}.yaml").read_text())
    edit(data)
    path = tmp_path / f"my-{kind}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_unknown_key_names_file_and_field(tmp_path):
    path = _edited_copy(tmp_path, "image", lambda d: d["presets"]["icon"].update(colour="red"))
    with pytest.raises(PresetError) as caught:
        load_presets("image", path)
    assert str(path) in caught.value.message
    assert "presets.icon.colour" in caught.value.message and "unknown key 'colour'" in caught.value.message


def test_video_key_in_an_image_preset_is_unknown(tmp_path):
    path = _edited_copy(tmp_path, "image", lambda d: d["presets"]["poster"].update(duration=8))
    with pytest.raises(PresetError, match=r"presets\.poster\.duration: unknown key 'duration'"):
        load_presets("image", path)


def test_bad_backend_in_a_map_and_wrong_types(tmp_path):
    path = _edited_copy(tmp_path, "video", lambda d: d["presets"]["quick"].update(duration={"moon": 4}))
    with pytest.raises(PresetError, match=r"presets\.quick\.duration: 'moon'"):
        load_presets("video", path)
    path = _edited_copy(tmp_path, "video", lambda d: d["presets"]["quick"].update(duration="four"))
    with pytest.raises(PresetError, match=r"presets\.quick\.duration"):
        load_presets("video", path)
    path = _edited_copy(tmp_path, "video", lambda d: d["presets"]["quick"].pop("description"))
    with pytest.raises(PresetError, match="description"):
        load_presets("video", path)


def test_wrong_kind_invalid_yaml_and_missing_file(tmp_path):
    copy = tmp_path / "image.yaml"
    shutil.copy(PRESETS_DIR / "image.yaml", copy)
    with pytest.raises(PresetError, match="holds image presets, not video presets"):
        load_presets("video", copy)
    bad = tmp_path / "bad.yaml"
    bad.write_text("presets: [\n")
    with pytest.raises(PresetError, match=f"{bad}: not valid YAML"):
        load_presets("image", bad)
    with pytest.raises(PresetError, match="cannot read"):
        load_presets("image", tmp_path / "absent.yaml")
    with pytest.raises(PresetError, match="unknown preset kind"):
        load_presets("audio")


def test_a_user_preset_file_can_add_presets(tmp_path):
    def edit(data):
        data["presets"]["banner"] = {"description": "Wide web banner for headers.", "aspect_ratio": "21:9",
                                     "model": {"vertex": "gemini-3-pro-image"}}
    path = _edited_copy(tmp_path, "image", edit)
    banner = get_preset("image", "banner", path)
    assert banner.backends == ("vertex",)
    request = {"kind": "image", "backend": "vertex", **banner.values_for("vertex")}
    assert CATALOG.validate(request) == []


def test_a_checked_preset_file_is_not_checked_again_until_it_changes(tmp_path, monkeypatch):
    import mediagen.config.presets as presets

    cache = tmp_path / "cache"
    path = tmp_path / "image.yaml"
    shutil.copy(PRESETS_DIR / "image.yaml", path)
    checked: list[Path] = []
    original = presets._validate
    monkeypatch.setattr(presets, "_validate", lambda data, where: checked.append(where) or original(data, where))
    assert "icon" in load_presets("image", path, cache_dir=cache)
    assert len(list(cache.glob("preset-valid-*"))) == 1
    load_presets("image", path, cache_dir=cache)
    assert checked == [path]                                         # the marker of these bytes skips the check
    data = yaml.safe_load(path.read_text())
    data["presets"]["icon"]["colour"] = "red"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PresetError, match="colour"):                 # changed bytes: checked again, and refused
        load_presets("image", path, cache_dir=cache)
    assert checked == [path, path] and len(list(cache.glob("preset-valid-*"))) == 1
