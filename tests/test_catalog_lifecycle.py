"""Lifecycle as data: firm shutdown dates retire, "not before" dates warn, defaults stay current, 404s name
the replacement. Dates are read against an injectable day (``today=`` / ``MEDIAGEN_TODAY``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from mediagen.catalog import BACKENDS, KINDS, Catalog
from mediagen.cli.check_api import main as check_main
from mediagen.cli.image_gen import main as image_main
from mediagen.cli.video_gen import main as video_main
from mediagen.core.errors import CatalogError, ExitCode, ModelUnavailable
from tests.conftest import TODAY

CATALOG = Catalog.load(today=TODAY)


def _override(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "override.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- Imagen: deprecated everywhere, with Google's replacement table -----------------------------------

IMAGEN_REPLACEMENTS = [
    ("imagen-4.0-fast-generate-001", "--model gemini-nano-banana-2.1 --thinking-level minimal"),
    ("imagen-4.0-generate-001", "--model gemini-nano-banana-2.1 --thinking-level high"),
    ("imagen-4.0-ultra-generate-001", "--model gemini-3-pro-image"),
    ("imagen-3.0-capability-001", "--model gemini-nano-banana-2.1"),
]


@pytest.mark.parametrize("model,use", IMAGEN_REPLACEMENTS)
def test_imagen_is_deprecated_on_vertex_with_a_not_before_date_and_its_replacement(model, use) -> None:
    entry = CATALOG.get(model).backends["vertex"]
    assert entry.status == "deprecated" and entry.shutdown is None and entry.shutdown_not_before == "2026-08-17"
    [warning] = CATALOG.resolve(model, "vertex").warnings
    assert f"{model} is deprecated on Vertex AI" in warning and "2026-08-17" in warning
    assert warning.endswith(f"use {use}")


@pytest.mark.parametrize("model", [m.id for m in CATALOG.models() if m.family == "imagen"])
def test_every_imagen_model_is_deprecated_on_vertex_and_gone_from_the_gemini_api(model) -> None:
    imagen = CATALOG.get(model)
    assert imagen.backends["vertex"].status == "deprecated" and imagen.backends["vertex"].replacement
    assert "gemini-api" not in imagen.served_on()


def test_a_not_before_date_warns_but_never_refuses() -> None:
    before = Catalog.load(today="2026-08-01").resolve("imagen-4", "vertex").warnings[0]
    assert "may shut down from 2026-08-17" in before
    after = Catalog.load(today="2030-01-01").resolve("imagen-4", "vertex")
    assert after.wire_id == "imagen-4.0-generate-001"
    assert "can stop answering any day" in after.warnings[0]


def test_the_schema_tells_a_firm_date_from_a_not_before_date(tmp_path) -> None:
    bad = _override(tmp_path, 'models: [{id: imagen-4, backends: {vertex: {shutdown_not_before: "soon"}}}]\n')
    with pytest.raises(CatalogError, match="shutdown_not_before"):
        Catalog.load(override_path=bad, today=TODAY)


# -- firm dates that have come ---------------------------------------------------------------------------

def test_a_firm_date_that_has_come_retires_the_model_and_names_the_replacement() -> None:
    assert "shuts down on 2027-03-15" in Catalog.load(today="2027-03-14").resolve(
        "gemini-2.5-flash-image", "vertex").warnings[0]
    later = Catalog.load(today="2027-03-15")
    assert later.get("gemini-2.5-flash-image").backends["vertex"].retired_by_date
    with pytest.raises(ModelUnavailable) as caught:
        later.resolve("gemini-2.5-flash-image", "vertex")
    assert caught.value.exit_code == ExitCode.USAGE
    assert "shut down on Vertex AI on 2027-03-15" in caught.value.message
    assert "--model gemini-3.1-flash-image" in caught.value.hint
    assert "still_served: true" in caught.value.hint and "MEDIAGEN_CATALOG_OVERRIDE" in caught.value.hint


def test_the_override_file_can_keep_a_model_the_date_retired(tmp_path) -> None:
    override = _override(tmp_path, "models: [{id: gemini-2.5-flash-image, backends: {vertex: {still_served: true}}}]\n")
    catalog = Catalog.load(override_path=override, today="2027-06-01")
    resolution = catalog.resolve("gemini-2.5-flash-image", "vertex")
    assert resolution.wire_id == "gemini-2.5-flash-image"
    assert "2027-03-15 has passed" in resolution.warnings[0]


def test_a_retired_model_is_refused_before_sending(run, fake, vertex_env) -> None:
    result = run(image_main, "a fox", "--model", "gemini-2.5-flash-image",
                 env={**vertex_env, "MEDIAGEN_TODAY": "2027-03-16"})
    assert result.code == 2 and result.doc["error"]["type"] == "model_unavailable"
    assert "gemini-3.1-flash-image" in result.doc["error"]["hint"]
    assert not [r for r in fake.requests if r.method == "POST"]


def test_a_bad_today_is_a_config_error(run, fake, vertex_env) -> None:
    result = run(image_main, "a fox", env={**vertex_env, "MEDIAGEN_TODAY": "next tuesday"})
    assert result.code == 3 and "MEDIAGEN_TODAY" in result.doc["error"]["message"]


def test_check_api_says_retired_not_deprecated_after_a_firm_date(run, fake, vertex_env) -> None:
    before = run(check_main, env=vertex_env)
    [row] = [m for m in before.doc["models"] if m["id"] == "gemini-2.5-flash-image"]
    assert row["status"] == "deprecated" and "shuts down on 2027-03-15" in row["warnings"][0]
    after = run(check_main, env={**vertex_env, "MEDIAGEN_TODAY": "2027-03-16"})
    assert after.code == 0, after.doc
    [row] = [m for m in after.doc["models"] if m["id"] == "gemini-2.5-flash-image"]
    assert row["status"] == "retired" and row["shutdown"] == "2027-03-15"
    assert "was shut down on Vertex AI on 2027-03-15" in row["warnings"][0]
    assert not any("deprecated" in w for w in row["warnings"] + after.doc["warnings"]
                   if "gemini-2.5-flash-image" in w)


# -- defaults are never deprecated or retired ------------------------------------------------------------

DEFAULTS = [(kind, backend) for kind in KINDS for backend in BACKENDS if CATALOG.defaults().get(kind, {}).get(backend)]


def test_every_backend_has_its_defaults() -> None:
    """Images everywhere, videos on the Google backends (the proxy serves images only)."""
    assert sorted(DEFAULTS) == sorted([(k, b) for k in KINDS for b in BACKENDS if (k, b) != ("video", "cliproxy")])


@pytest.mark.parametrize("kind, backend", DEFAULTS)
def test_no_default_resolves_to_a_deprecated_or_retired_model(kind, backend) -> None:
    name = CATALOG.defaults()[kind][backend]
    resolution = CATALOG.resolve(name, backend)
    entry = resolution.entry
    assert entry.status in ("ga", "preview") and entry.declared_status in ("ga", "preview")
    assert resolution.warnings == []
    assert entry.shutdown is None and entry.shutdown_not_before is None


def test_a_deprecated_default_is_a_catalog_error(tmp_path) -> None:
    override = _override(tmp_path, "defaults: {image: {vertex: imagen-4}}\n")
    with pytest.raises(CatalogError, match="defaults.image.vertex: imagen-4.0-generate-001 is deprecated"):
        Catalog.load(override_path=override, today=TODAY)


# -- a 404 from a model with a known replacement ----------------------------------------------------------

def test_a_404_from_imagen_names_its_replacement(run, fake, vertex_env) -> None:
    fake.add_fault(service="vertex", path_contains="imagen-4.0-generate-001:predict", status=404)
    result = run(image_main, "a fox", "--model", "imagen-4", env=vertex_env)
    assert result.code == 4 and result.doc["error"]["type"] == "not_found"
    hint = result.doc["error"]["hint"]
    assert hint.startswith("imagen-4.0-generate-001 may have been shut down on Vertex AI")
    assert "use --model gemini-nano-banana-2.1 --thinking-level high" in hint


def test_a_404_from_a_deprecated_video_model_names_its_replacement(run, fake, vertex_env) -> None:
    fake.add_fault(service="vertex", path_contains="/interactions", method="POST", status=404)
    result = run(video_main, "a fox", "--model", "gemini-omni-flash-preview", env=vertex_env)
    assert result.code == 4
    assert "use --model gemini-omni-1.2-flash" in result.doc["error"]["hint"]
