"""The gallery's poster frames (made once, skipped without ffmpeg), a storyboard's film, and links across drives."""
from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
import yaml

from mediagen.cli.gallery import main
from mediagen.cli.storyboard import main as storyboard_main
from mediagen.cli.video_gen import main as video_main
from mediagen.ops.gallery import href, scan

needs_ffmpeg = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs ffmpeg")


def posters_on(page: str | Path) -> list[str]:
    """The poster frames the page shows (its JSON answer is a summary, not every item)."""
    return re.findall(r'poster="([^"]+)"', Path(page).read_text(encoding="utf-8"))


@pytest.mark.parametrize("media, base, link", [
    (PureWindowsPath("D:/renders/fox.png"), PureWindowsPath("C:/Users/me/site"), "file:///D:/renders/fox.png"),
    (PureWindowsPath("D:/renders/my fox.png"), PureWindowsPath("C:/site"), "file:///D:/renders/my%20fox.png"),
    (PureWindowsPath("C:/Out/a/fox.png"), PureWindowsPath("c:/out/site"), "../a/fox.png"),
    (PureWindowsPath("C:/out/fox.png"), PureWindowsPath("C:/out"), "fox.png"),
    (PurePosixPath("/data/out/x y/fox.png"), PurePosixPath("/data/site"), "../out/x%20y/fox.png"),
    (PurePosixPath("/data/Out/fox.png"), PurePosixPath("/data/out"), "../Out/fox.png"),
])
def test_links_are_relative_or_file_uris_across_drives(media, base, link) -> None:
    assert href(media, base) == link


@pytest.fixture
def videos(run, fake, omni_env, tmp_path) -> Path:
    folder = tmp_path / "outputs"
    for prompt in ("a cat walking on a fence", "a dog in the rain"):
        assert run(video_main, prompt, "--duration", "4", "-o", str(folder), env=omni_env).code == 0
    return folder


@needs_ffmpeg
def test_posters_are_made_once_and_reused(run, videos, base_env) -> None:
    first = run(main, str(videos), env=base_env)
    assert first.code == 0 and first.doc["posters"]["count"] == 2
    posters = [videos / poster for poster in posters_on(first.doc["path"])]
    assert len(posters) == 2
    assert all(p.is_file() and p.read_bytes()[:3] == b"\xff\xd8\xff" for p in posters)
    assert all(p.parent == videos / "gallery-posters" for p in posters)
    made = {p: p.stat().st_mtime_ns for p in posters}
    again = run(main, str(videos), env=base_env)
    assert [videos / poster for poster in posters_on(again.doc["path"])] == posters
    assert {p: p.stat().st_mtime_ns for p in posters} == made                  # cached, not cut again


def test_without_ffmpeg_the_gallery_is_written_without_posters(run, videos, base_env, tmp_path,
                                                               monkeypatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = run(main, str(videos), env=base_env)
    assert result.code == 0 and result.doc["counts"]["videos"] == 2
    assert result.doc["posters"]["count"] == 0 and "poster" not in Path(result.doc["path"]).read_text()
    assert any("ffmpeg" in w for w in result.doc["warnings"])


@needs_ffmpeg
def test_a_storyboard_folder_lists_its_film(run, fake, omni_env, base_env, tmp_path) -> None:
    shots = tmp_path / "board.yaml"
    shots.write_text(yaml.safe_dump({"version": 1, "title": "Fox morning", "shots": [
        {"id": "a", "prompt": "a fox wakes", "duration": 4, "transition": "cut"},
        {"id": "b", "prompt": "it stretches", "duration": 4, "transition": "cut"}]}))
    board = run(storyboard_main, str(shots), "--approve", env=omni_env)
    assert board.code == 0, board.doc
    folder = Path(board.doc["folder"])
    result = run(main, str(folder), env=base_env)
    assert result.code == 0 and result.doc["counts"] == {"items": 3, "images": 0, "videos": 3}
    assert result.doc["films"] == 1
    film = next(item for item in scan(folder) if item.role == "film")
    assert film.media.name == "final.mp4" and "Fox morning" in film.prompt
    assert film.cost_usd == pytest.approx(board.doc["cost"]["actual_usd"])
    assert len(posters_on(result.doc["path"])) == 3 and all((folder / p).is_file() for p in posters_on(result.doc["path"]))
    assert '<span class="film">film</span>' in Path(result.doc["path"]).read_text()
