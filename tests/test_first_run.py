"""A fresh machine: Python and no ffmpeg. Every ffmpeg-dependent mode says so early and spends nothing.

The scripts run as subprocesses whose PATH is a folder holding only a ``python3`` link, so ffmpeg
and ffprobe are missing exactly as on a machine where they were never installed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import GEMINI_KEY, ROOT

INSTALLS = ("apt install ffmpeg", "brew install ffmpeg", "winget install")


@pytest.fixture
def bare_path(tmp_path: Path) -> str:
    """A PATH with a python3 and nothing else (no ffmpeg, no ffprobe)."""
    folder = tmp_path / "bare-bin"
    folder.mkdir()
    (folder / "python3").symlink_to(sys.executable)
    return str(folder)


@pytest.fixture
def fresh_env(omni_env: dict[str, str], bare_path: str) -> dict[str, str]:
    """A Gemini API key against the fake, on a machine without ffmpeg."""
    return {**omni_env, "PATH": bare_path}


def script(name: str, *argv: str, env: dict[str, str], cwd: Path) -> tuple[int, dict]:
    """Run ``scripts/NAME`` with the bare PATH's python3; return the exit code and the one JSON document."""
    python = str(Path(env["PATH"].split(os.pathsep)[0]) / "python3")
    done = subprocess.run([python, str(ROOT / "scripts" / name), *argv], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    return done.returncode, json.loads(done.stdout)


def board(tmp_path: Path) -> str:
    doc = {"version": 1, "title": "Fence cat", "references": [{"id": "cat", "prompt": "a tabby cat"}], "shots": [
        {"id": "s1", "prompt": "a cat on a fence", "duration": 4, "transition": "cut", "keyframe": "a cat, still",
         "references": ["cat"]},
        {"id": "s2", "prompt": "it jumps down", "duration": 6, "transition": "continue"}]}
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def assert_missing_ffmpeg(code: int, doc: dict) -> None:
    assert code == 3 and doc["exit_code"] == 3, doc
    assert doc["error"]["type"] == "config" and "ffprobe" in doc["error"]["message"]
    assert "nothing was sent" in doc["error"]["message"]
    assert all(install in doc["error"]["hint"] for install in INSTALLS), doc["error"]["hint"]


@pytest.mark.parametrize("approve", [["--approve"], ["--max-cost", "20"], []])
def test_storyboard_refuses_before_any_create_keyframe_or_reference(fake, fresh_env, tmp_path, approve) -> None:
    code, doc = script("storyboard.py", board(tmp_path), *approve, env=fresh_env, cwd=tmp_path)
    assert_missing_ffmpeg(code, doc)
    assert doc["budget"]["to_make"] == 3                        # the budget is still shown
    assert not fake.requests


def test_remix_refuses_before_anything_is_sent(fake, fresh_env, tmp_path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    code, doc = script("video_gen.py", "the cat turns", "--remix", str(clip), env=fresh_env, cwd=tmp_path)
    assert_missing_ffmpeg(code, doc)
    dry_code, dry = script("video_gen.py", "the cat turns", "--remix", str(clip), "--dry-run", env=fresh_env,
                           cwd=tmp_path)
    assert_missing_ffmpeg(dry_code, dry)
    assert not fake.requests


@pytest.mark.parametrize("command", [
    ("storyboard.py", "{board}", "--estimate-cost"),
    ("storyboard.py", "{board}", "--dry-run"),
    ("estimate_cost.py", "shotlist", "{board}"),
    ("video_gen.py", "the cat turns", "--remix", "{clip}", "--estimate-cost"),
    ("estimate_cost.py", "video", "--remix", "{clip}"),
])
def test_estimates_and_dry_runs_warn(fake, fresh_env, tmp_path, command) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not a video")
    argv = [a.format(board=board(tmp_path), clip=clip) for a in command[1:]]
    code, doc = script(command[0], *argv, env=fresh_env, cwd=tmp_path)
    assert code == 0, doc
    warning = next(w for w in doc["warnings"] if "ffmpeg" in w)
    assert "not installed" in warning and "apt install ffmpeg" in warning
    assert not fake.requests


def test_check_api_reports_python_and_the_missing_tools(fake, fresh_env, tmp_path) -> None:
    code, doc = script("check_api.py", env=fresh_env, cwd=tmp_path)
    assert code == 0, doc
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["python"]["ok"] is True and checks["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert checks["ffmpeg"]["ok"] is False and checks["ffprobe"]["ok"] is False
    assert "storyboards" in checks["ffmpeg"]["detail"] and "brew install ffmpeg" in checks["ffmpeg"]["detail"]
    assert any("ffmpeg is not installed" in w for w in doc["warnings"])


def test_check_api_without_credentials_still_reports_the_machine(base_env, bare_path, tmp_path) -> None:
    code, doc = script("check_api.py", env={**base_env, "PATH": bare_path}, cwd=tmp_path)
    assert code == 3 and doc["error"]["type"] == "credentials"
    assert {c["name"]: c["ok"] for c in doc["checks"]} == {"python": True, "ffmpeg": False, "ffprobe": False}


def test_check_api_reports_ffmpeg_versions_when_installed(run, fake, omni_env) -> None:
    if not all(map(__import__("shutil").which, ("ffmpeg", "ffprobe"))):
        pytest.skip("ffmpeg is not installed here")
    from mediagen.cli.check_api import main

    result = run(main, env={**omni_env, "GEMINI_API_KEY": GEMINI_KEY})
    checks = {c["name"]: c for c in result.doc["checks"]}
    assert checks["ffmpeg"]["ok"] and checks["ffmpeg"]["version"] and checks["ffprobe"]["version"]
    assert checks["api-key"]["ok"]
