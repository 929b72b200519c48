"""One exit code per cause, whichever script meets it: a refused credential is 3, a missing ffmpeg is 3,
ffmpeg failing on a file is 5."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mediagen.cli import batch_gen, check_api, image_gen, storyboard, video_gen
from mediagen.core.resources import SCRIPTS_DIR

WRONG_KEY = "AIzaSyWRONG-key-00000000000000000000"
CHECK_API = f'python3 "{SCRIPTS_DIR / "check_api.py"}"'


def assert_refused_credential(result) -> None:
    assert result.code == 3 and result.doc["exit_code"] == 3, result.doc
    assert result.doc["error"]["type"] == "credentials"
    hint = result.doc["error"]["hint"]
    assert "https://aistudio.google.com/apikey" in hint, hint


@pytest.mark.parametrize("main, argv", [
    (image_gen.main, ("a red fox",)),
    (video_gen.main, ("a red fox runs",)),
    (check_api.main, ()),
])
def test_a_wrong_gemini_key_is_exit_3_everywhere(run, fake, fake_env, main, argv) -> None:
    result = run(main, *argv, env={**fake_env, "GEMINI_API_KEY": WRONG_KEY, "MEDIAGEN_POLL_FIRST_S": "0"})
    assert_refused_credential(result)
    if main is not check_api.main:
        assert CHECK_API in result.doc["error"]["hint"]         # a path that works from any folder


def test_a_batch_of_items_refused_for_the_key_is_exit_3(run, fake, fake_env, tmp_path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red fox\na blue bird\n")
    result = run(batch_gen.main, str(prompts), env={**fake_env, "GEMINI_API_KEY": WRONG_KEY})
    assert result.code == 3 and result.doc["error"]["type"] == "credentials", result.doc


@pytest.mark.parametrize("main, argv", [(image_gen.main, ("a red fox",)), (video_gen.main, ("a red fox runs",))])
def test_a_refused_vertex_token_is_exit_3(run, fake, fake_env, main, argv) -> None:
    env = {**fake_env, "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.not-a-valid-token", "GOOGLE_CLOUD_PROJECT": "fake-project"}
    result = run(main, *argv, env=env)
    assert result.code == 3 and result.doc["error"]["type"] == "credentials", result.doc
    assert result.doc["error"]["status"] == 401 and "check_api.py" in result.doc["error"]["hint"]


# -- local tools ---------------------------------------------------------------------------------------

def _no_ffmpeg(monkeypatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def _board(tmp_path: Path, *shots: dict) -> str:
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "title": "Fox", "shots": list(shots)}))
    return str(path)


def _shot(ident: str, duration: int, transition: str = "cut") -> dict:
    return {"id": ident, "prompt": f"a fox, {ident}", "duration": duration, "transition": transition}


def test_a_missing_ffmpeg_is_exit_3_from_storyboard_and_remix(run, fake, omni_env, tmp_path, monkeypatch) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 64)
    _no_ffmpeg(monkeypatch, tmp_path)
    board = run(storyboard.main, _board(tmp_path, _shot("s1", 4)), "--approve", env=omni_env)
    remix = run(video_gen.main, "the fox turns", "--remix", str(clip), env=omni_env)
    for result in (board, remix):
        assert result.code == 3 and result.doc["error"]["type"] == "config", result.doc
        assert "ffmpeg" in result.doc["error"]["message"] and "winget" in result.doc["error"]["hint"]
    assert not fake.requests


def test_ffmpeg_failing_on_a_file_is_exit_5_from_remix_and_storyboard(run, fake, omni_env, tmp_path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not really a video" * 20)
    remix = run(video_gen.main, "the fox turns", "--remix", str(broken), env=omni_env)
    assert remix.code == 5 and remix.doc["error"]["type"] == "local_tool_failed", remix.doc
    assert "ffprobe" in remix.doc["error"]["message"] and not fake.requests

    path = _board(tmp_path, _shot("s1", 4), _shot("s2", 4))
    made = run(storyboard.main, path, "--approve", env=omni_env)
    assert made.code == 0, made.doc
    Path(made.doc["shots"][1]["file"]).write_bytes(b"damaged on disk")       # the film must be joined again
    again = run(storyboard.main, path, "--approve", env=omni_env)
    assert again.code == 5 and again.doc["error"]["type"] in ("local_tool_failed", "stitch_failed"), again.doc
