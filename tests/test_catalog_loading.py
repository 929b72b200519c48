"""Loading the model catalog: bad files, cross-reference checks and the user's override file."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mediagen import catalog as catalog_module
from mediagen.catalog import DEFAULT_CATALOG_PATH, Catalog
from mediagen.core.errors import CatalogError, ModelUnavailable

CATALOG = Catalog.load()


# --------------------------------------------------------------------------- loading, errors, overrides

def _copy_catalog(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text())
    data.pop("x-anchors", None)
    edit(data)
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _model(data, model_id):
    return next(m for m in data["models"] if m["id"] == model_id)


def test_bad_field_names_file_and_json_path(tmp_path):
    path = _copy_catalog(tmp_path, lambda d: _model(d, "veo-3.1-fast-generate-001")["backends"]["vertex"]
                         .update(status="gone"))
    with pytest.raises(CatalogError) as caught:
        Catalog.load(path)
    message = caught.value.message
    assert str(path) in message
    assert "(veo-3.1-fast-generate-001).backends.vertex.status" in message and "gone" in message


def test_missing_price_source_is_rejected(tmp_path):
    path = _copy_catalog(tmp_path, lambda d: _model(d, "imagen-4.0-generate-001")["pricing"].pop("source"))
    with pytest.raises(CatalogError, match=r"imagen-4.0-generate-001\)\.pricing.*'source' is a required"):
        Catalog.load(path)


def test_unknown_replacement_and_duplicate_alias_are_rejected(tmp_path):
    path = _copy_catalog(tmp_path, lambda d: _model(d, "veo-2.0-generate-001")["backends"]["vertex"]
                         .update(replacement="veo-9"))
    with pytest.raises(CatalogError, match="unknown model 'veo-9'"):
        Catalog.load(path)
    path = _copy_catalog(tmp_path, lambda d: _model(d, "imagen-3.0-generate-002")["aliases"].append("omni"))
    with pytest.raises(CatalogError, match="'omni' is also used"):
        Catalog.load(path)


def test_rule_with_unknown_field_is_rejected(tmp_path):
    def edit(data):
        data["rule_sets"]["imagen"][0]["when"]["colour"] = {"present": True}
    with pytest.raises(CatalogError, match="colour"):
        Catalog.load(_copy_catalog(tmp_path, edit))


def test_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [\n  - id: x\n    kind: [\n")
    with pytest.raises(CatalogError, match="not valid YAML at line"):
        Catalog.load(bad)
    with pytest.raises(CatalogError, match="cannot read"):
        Catalog.load(tmp_path / "absent.yaml")


def test_override_deep_merges_by_model_id(tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text(
        "models:\n"
        "  - id: veo-3.1-fast-generate-001\n"
        "    pricing: {per_second: {720p: 0.2}, as_of: 2026-12-01}\n"
        "  - id: gemini-3.1-flash-image\n"
        "    backends: {gemini-api: {status: retired}}\n")
    cat = Catalog.load(override_path=override)
    fast = {"kind": "video", "backend": "vertex", "model": "veo-3.1-fast", "duration": 8}
    assert cat.estimate(fast).usd == pytest.approx(1.6)
    assert cat.estimate(fast).as_of == "2026-12-01"          # unquoted YAML date coerced
    assert cat.estimate({**fast, "resolution": "1080p"}).usd == pytest.approx(0.96)    # untouched
    with pytest.raises(ModelUnavailable, match="gemini-nano-banana-2.1"):
        cat.resolve("nano-banana-2", "gemini-api")
    assert CATALOG.estimate(fast).usd == pytest.approx(0.8)   # the shipped catalog is unchanged


def test_override_can_add_a_model(tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text(yaml.safe_dump({"models": [{
        "id": "gemini-4-image", "kind": "image", "family": "gemini-image", "display_name": "Gemini 4 Image",
        "aliases": ["g4"],
        "backends": {"gemini-api": {"id": "gemini-4-image", "surface": "generateContent", "status": "preview",
                                    "shutdown": None, "replacement": None, "locations": []}},
        "capabilities": {"aspect_ratios": ["1:1"], "image_sizes": ["1K"], "count": {"min": 1, "max": 1}},
        "pricing": {"as_of": "2026-12-01", "source": "https://example.com", "unit": "image",
                    "per_image": {"1K": 0.01}}}]}))
    cat = Catalog.load(override_path=override)
    assert cat.resolve("g4", "gemini-api").wire_id == "gemini-4-image"
    assert cat.estimate({"kind": "image", "backend": "gemini-api", "model": "g4"}).usd == pytest.approx(0.01)


def test_bad_override_names_the_override_file(tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text("models:\n  - pricing: {}\n")
    with pytest.raises(CatalogError) as caught:
        Catalog.load(override_path=override)
    assert str(override) in caught.value.message and "models[0].id" in caught.value.message
    override.write_text("models:\n  - id: omni\n    pricing: {per_second: {720p: cheap}}\n")
    with pytest.raises(CatalogError) as caught:
        Catalog.load(override_path=override)
    assert str(override) in caught.value.message and "per_second" in caught.value.message


def test_catalog_errors_are_config_errors():
    from mediagen.core.errors import ExitCode
    assert CatalogError("x").exit_code == ExitCode.CONFIG
    assert catalog_module.SCHEMA_PATH.exists()
