"""Hints point the right way: the value meant, the file and field at fault, Vertex first when Vertex was
asked for, shot-list fields rather than flags, PowerShell beside POSIX, and script paths that work anywhere."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mediagen.catalog.rules import _nearest
from mediagen.cli import check_api, image_gen, storyboard, video_gen
from mediagen.core.resources import SCRIPTS_DIR, script_command
from tests.conftest import EXPRESS_KEY, GEMINI_KEY


@pytest.mark.parametrize("given, allowed, meant", [
    ("16x9", ["1:1", "3:4", "4:3", "9:16", "16:9", "21:9"], "16:9"),
    ("16/9", ["1:1", "16:9"], "16:9"),
    ("9 x 16", ["1:1", "16:9", "9:16"], "9:16"),
    ("15:10", ["1:1", "3:2", "16:9"], "3:2"),
    ("2k", ["1K", "2K", "4K"], "2K"),
    ("1080", ["720p", "1080p"], "1080p"),
    (7, [4, 6, 8], 8),
])
def test_the_nearest_value_is_the_nearest_in_meaning(given, allowed, meant) -> None:
    assert _nearest(given, allowed) == meant


def test_aspect_ratio_with_an_x_suggests_the_colon_form(run, fake, fake_env) -> None:
    result = run(image_gen.main, "a fox", "--aspect-ratio", "16x9", "--dry-run",
                 env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 2
    assert "--aspect-ratio 16:9" in result.doc["error"]["hint"] and "1:1" not in result.doc["error"]["hint"]


def test_a_config_files_credentials_file_names_the_file_and_the_field(run, fake_env, hermetic) -> None:
    config = hermetic / "mediagen.yaml"
    config.write_text("version: 1\nprojects:\n  studio:\n    backend: vertex\n    project_id: p\n"
                      "    credentials_file: ./keys/missing.json\n")
    result = run(image_gen.main, "a fox", "--dry-run", env=fake_env)
    assert result.code == 3 and result.doc["error"]["type"] == "credentials"
    hint = result.doc["error"]["hint"]
    assert str(config) in hint and "credentials_file" in hint and "projects/studio" in hint
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in hint


def test_the_variables_credentials_file_names_the_variable(run, fake_env, tmp_path) -> None:
    env = {**fake_env, "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "gone.json")}
    result = run(image_gen.main, "a fox", "--dry-run", env=env)
    assert result.code == 3 and "GOOGLE_APPLICATION_CREDENTIALS" in result.doc["error"]["hint"]


def test_use_vertexai_lists_vertex_credentials_first(run, base_env) -> None:
    result = run(image_gen.main, "a fox", env={**base_env, "GOOGLE_GENAI_USE_VERTEXAI": "true"})
    hint = result.doc["error"]["hint"]
    assert result.code == 3
    assert hint.index("GOOGLE_APPLICATION_CREDENTIALS") < hint.index("GEMINI_API_KEY")
    assert hint.index("GOOGLE_API_KEY=AQ") < hint.index("GEMINI_API_KEY")
    plain = run(image_gen.main, "a fox", env=base_env).doc["error"]["hint"]
    assert plain.index("GEMINI_API_KEY") < plain.index("GOOGLE_APPLICATION_CREDENTIALS")


def test_credential_hints_give_powershell_beside_export(run, base_env) -> None:
    hint = run(check_api.main, env=base_env).doc["error"]["hint"]
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT", "GOOGLE_APPLICATION_CREDENTIALS"):
        assert f"export {name}=" in hint and f'$env:{name}="' in hint, name
    assert "$env:GOOGLE_OAUTH_ACCESS_TOKEN=(gcloud auth print-access-token)" in hint


def test_shot_list_errors_name_yaml_fields_not_flags(run, fake, fake_env, tmp_path) -> None:
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "title": "t", "shots": [
        {"id": "a", "prompt": "a cat", "duration": 6, "transition": "cut"},
        {"id": "b", "prompt": "a dog", "duration": 5, "transition": "cut"}]}))
    result = run(storyboard.main, str(path), "--backend", "vertex",
                 env={**fake_env, "GOOGLE_API_KEY": EXPRESS_KEY})
    assert result.code == 2, result.doc
    error = result.doc["error"]
    assert error["message"].startswith("shot 2 (b):")
    assert "shots[1].duration: 6" in error["hint"] and "--duration" not in error["hint"]
    assert all("--duration" not in p["fix"] for p in error["details"]["problems"])


def test_script_command_is_an_absolute_quoted_path() -> None:
    command = script_command("jobs.py", "wait", "JOB")
    assert command == f'python3 "{SCRIPTS_DIR / "jobs.py"}" wait JOB'
    assert Path(shlex.split(command)[1]).is_absolute() and Path(shlex.split(command)[1]).is_file()


def test_the_next_step_of_a_video_job_runs_from_any_folder(run, fake, omni_env, tmp_path) -> None:
    started = run(video_gen.main, "a cat walking", "--no-wait", env=omni_env)
    assert started.code == 0 and started.doc["state"] == "running"
    words = shlex.split(started.doc["next"])
    assert words[0] == "python3" and Path(words[1]).is_absolute()
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    done = subprocess.run([sys.executable, *words[1:]], cwd=elsewhere, env=omni_env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["videos"]
