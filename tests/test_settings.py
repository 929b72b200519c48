"""Settings precedence: CLI > run layers > config project > config top level > env > defaults."""
from __future__ import annotations

from pathlib import Path

import pytest

from mediagen.core import errors
from mediagen.config.settings import Layer, resolve_settings


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence_cli_over_config_over_env_over_default(hermetic: Path) -> None:
    write_config(hermetic / "mediagen.yaml", """
version: 1
projects:
  main:
    backend: vertex
    project_id: from-config
    location: europe-west4
image:
  model: config-image-model
""")
    env = {"GOOGLE_CLOUD_PROJECT": "from-env", "GOOGLE_CLOUD_LOCATION": "asia-east1", "MEDIAGEN_BACKEND": "gemini-api"}
    settings = resolve_settings({"location": "us-central1"}, env, kind="image")
    assert settings["location"] == "us-central1" and settings.source("location") == "cli"
    assert settings["project_id"] == "from-config"
    assert settings.source("project_id").endswith("#projects/main/project_id")
    assert settings["backend"] == "vertex"                      # config beats env
    assert settings["model"] == "config-image-model"            # the image: section, flattened
    assert settings["cliproxy_url"] == "http://127.0.0.1:8317" and settings.source("cliproxy_url") == "default"
    assert settings.project == "main"


def test_env_used_when_config_silent_and_empty_strings_are_unset() -> None:
    settings = resolve_settings({"location": ""}, {"GOOGLE_CLOUD_LOCATION": "us-east1", "GOOGLE_CLOUD_PROJECT": " "})
    assert settings["location"] == "us-east1" and settings.source("location") == "env:GOOGLE_CLOUD_LOCATION"
    assert settings["project_id"] is None


def test_google_api_key_wins_and_differing_keys_warn() -> None:
    settings = resolve_settings({}, {"GOOGLE_API_KEY": "AIzaGoogleKey000000", "GEMINI_API_KEY": "AIzaGeminiKey00000"})
    assert settings["api_key"] == "AIzaGoogleKey000000"
    assert settings.source("api_key") == "env:GOOGLE_API_KEY"
    assert any("differ" in w for w in settings.warnings)
    same = resolve_settings({}, {"GOOGLE_API_KEY": "AIzaSame00000000", "GEMINI_API_KEY": "AIzaSame00000000"})
    assert same.warnings == []


def test_run_layers_sit_between_cli_and_config(hermetic: Path) -> None:
    write_config(hermetic / "mediagen.yaml", "video:\n  duration: 4\n  resolution: 720p\n")
    base = resolve_settings({"resolution": "1080p"}, {}, kind="video")
    layered = base.with_layers([Layer("preset:quality", {"duration": 8, "resolution": "4k"})])
    assert layered["duration"] == 8 and layered.source("duration") == "preset:quality"
    assert layered["resolution"] == "1080p" and layered.source("resolution") == "cli"
    defaults = layered.with_defaults({"aspect_ratio": "16:9", "duration": 6}, "catalog")
    assert defaults["aspect_ratio"] == "16:9" and defaults.source("aspect_ratio") == "catalog"
    assert defaults["duration"] == 8


def test_api_key_env_indirection_and_show_masks_secrets(hermetic: Path) -> None:
    write_config(hermetic / "mediagen.yaml", "projects:\n  p:\n    api_key_env: MY_KEY\n")
    settings = resolve_settings({}, {"MY_KEY": "AIzaIndirect0000000000"})
    assert settings["api_key"] == "AIzaIndirect0000000000"
    assert settings.source("api_key").startswith("env:MY_KEY (named by config:")
    shown = settings.show(["api_key", "backend"])
    assert "AIza" not in str(shown) and shown["api_key"]["value"].startswith("***")
    assert shown["backend"] == {"value": "auto", "source": "default"}


def test_several_projects_need_a_choice(hermetic: Path) -> None:
    write_config(hermetic / "mediagen.yaml", "projects:\n  a: {backend: vertex}\n  b: {backend: gemini-api}\n")
    with pytest.raises(errors.ConfigError) as caught:
        resolve_settings({}, {})
    assert "--project" in caught.value.hint and "a, b" in caught.value.hint
    assert resolve_settings({}, {}, project="b")["backend"] == "gemini-api"
    with pytest.raises(errors.ConfigError) as unknown:
        resolve_settings({}, {}, project="c")
    assert "a, b" in unknown.value.hint


def test_schema_errors_name_file_and_field(hermetic: Path) -> None:
    path = write_config(hermetic / "bad.yaml", "projects:\n  p:\n    backend: mars\n    colour: red\n")
    with pytest.raises(errors.ConfigError) as caught:
        resolve_settings({}, {"MEDIAGEN_CONFIG": str(path)})
    assert str(path) in caught.value.message
    problems = caught.value.details["problems"]
    assert any(p.startswith("/projects/p") and "colour" in p for p in problems)
    assert any(p.startswith("/projects/p/backend") for p in problems)


def test_missing_explicit_config_is_an_error(hermetic: Path) -> None:
    with pytest.raises(errors.ConfigError):
        resolve_settings({}, {"MEDIAGEN_CONFIG": str(hermetic / "nope.yaml")})


def test_user_config_dir_is_found(tmp_path: Path) -> None:
    cfg = tmp_path / "xdg" / "mediagen"
    cfg.mkdir(parents=True)
    (cfg / "config.yaml").write_text("max_cost: 2.5\n")
    settings = resolve_settings({}, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert settings["max_cost"] == 2.5 and "config:" in settings.source("max_cost")
