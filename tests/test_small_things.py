"""Small things that add up: ffmpeg keeps off stdin, temp folders go, explicit names keep their format,
outputs follow the umask while records stay private, and the suite stays out of the real HOME."""
from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from PIL import Image

from mediagen.cli import estimate_cost, gallery, image_gen, video_gen
from tests.conftest import ROOT

needs_ffmpeg = pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
                                  reason="needs ffmpeg and ffprobe")


def make_clip(path: Path, seconds: int = 1) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size=64x64:rate=10",
                    "-pix_fmt", "yuv420p", str(path)], check=True, stdin=subprocess.DEVNULL)
    return path


# -- ffmpeg and stdin ----------------------------------------------------------------------------------

@needs_ffmpeg
def test_a_while_read_loop_keeps_every_line_while_scripts_run_ffmpeg(omni_env, tmp_path) -> None:
    make_clip(tmp_path / "clip.mp4")
    lines = [f"line {n}: the quick brown fox jumps over the lazy dog" for n in range(3)]
    (tmp_path / "lines.txt").write_text("\n".join(lines) + "\n")
    loop = ('while IFS= read -r line; do printf "%s\\n" "$line" >> seen.txt; '
            '"$PY" "$SCRIPT" "the fox turns" --remix clip.mp4 --remix-last-frame --dry-run >/dev/null 2>&1 '
            '|| echo "script failed: $?" >> seen.txt; done < lines.txt')
    env = {**omni_env, "PY": sys.executable, "SCRIPT": str(ROOT / "scripts" / "video_gen.py")}
    subprocess.run(["bash", "-c", loop], cwd=tmp_path, env=env, check=True, timeout=300)
    assert (tmp_path / "seen.txt").read_text().splitlines() == lines


@needs_ffmpeg
def test_remix_leaves_no_temp_folder_after_success_or_failure(run, fake, omni_env, tmp_path, monkeypatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    clip = make_clip(tmp_path / "clip.mp4", seconds=2)
    done = run(video_gen.main, "the fox turns", "--remix", str(clip), "--remix-last-frame", "--dry-run", env=omni_env)
    assert done.code == 0, done.doc
    outside = run(video_gen.main, "the fox turns", "--remix", str(clip), "--remix-start", "9", env=omni_env)
    assert outside.code == 2
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 300)
    failed = run(video_gen.main, "the fox turns", "--remix", str(broken), env=omni_env)
    assert failed.code == 5
    made = run(video_gen.main, "the fox turns", "--remix", str(clip), env=omni_env)
    assert made.code == 0, made.doc
    assert not list(scratch.glob("mediagen-remix-*"))


# -- explicit output names ---------------------------------------------------------------------------

def test_a_jpg_name_gets_a_jpeg_when_the_model_returns_png(run, fake, omni_env, hermetic) -> None:
    result = run(image_gen.main, "a red fox", "-o", "my fox.jpg", env=omni_env)
    assert result.code == 0, result.doc
    image = result.doc["images"][0]
    saved = Path(image["path"])
    assert saved.name == "my fox.jpg" and saved.parent == hermetic
    assert saved.read_bytes()[:3] == b"\xff\xd8\xff" and image["mime_type"] == "image/jpeg"
    assert image["transcoded_from"] == "image/png"
    assert json.loads(saved.with_suffix(".json").read_text())["mime_type"] == "image/jpeg"
    assert Image.open(io.BytesIO(saved.read_bytes())).size == (image["width"], image["height"])
    assert not list(hermetic.glob("*.png"))


def test_a_png_name_is_saved_as_returned(run, fake, omni_env, hermetic) -> None:
    result = run(image_gen.main, "a red fox", "-o", "fox.png", env=omni_env)
    assert result.code == 0 and "transcoded_from" not in result.doc["images"][0]
    assert Path(result.doc["images"][0]["path"]).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("name", ["fox.heic", "fox.mp4"])
def test_a_name_that_cannot_be_written_is_refused_before_sending(run, fake, omni_env, monkeypatch, name) -> None:
    from PIL import Image as PillowImage

    PillowImage.init()
    monkeypatch.delitem(PillowImage.SAVE, "HEIF", raising=False)     # as on a Pillow without a HEIF plugin
    result = run(image_gen.main, "a red fox", "-o", name, env=omni_env)
    assert result.code == 2 and result.doc["error"]["type"] == "usage"
    assert ".png" in result.doc["error"]["hint"]
    assert not fake.requests


# -- file modes ----------------------------------------------------------------------------------------

def _mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("umask, shared", [(0o002, 0o664), (0o022, 0o644), (0o077, 0o600)])
def test_media_follow_the_umask_while_ledger_and_jobs_stay_private(run, fake, omni_env, hermetic, umask,
                                                                    shared) -> None:
    previous = os.umask(umask)
    try:
        image = run(image_gen.main, "a red fox", env=omni_env)
        page = run(gallery.main, str(hermetic / "generated_images"), env=omni_env)
        job = run(video_gen.main, "a fox runs", "--no-wait", env=omni_env)
    finally:
        os.umask(previous)
    assert image.code == page.code == job.code == 0
    saved = image.doc["images"][0]
    assert _mode(saved["path"]) == _mode(saved["sidecar"]) == _mode(page.doc["path"]) == shared
    state = Path(omni_env["XDG_STATE_HOME"]) / "mediagen"
    assert _mode(state / "ledger.jsonl") == 0o600
    records = list((state / "jobs").glob("*.json"))
    assert records and all(_mode(record) == 0o600 for record in records)


# -- the real HOME ---------------------------------------------------------------------------------------

def _real_home() -> Path:
    """The account's home as the system records it (HOME is the test's own)."""
    try:
        import pwd

        return Path(pwd.getpwuid(os.getuid()).pw_dir)
    except (ImportError, KeyError):
        return Path(os.environ.get("USERPROFILE") or os.path.expanduser("~"))


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.rglob("*")} if folder.is_dir() else set()


def test_the_fixtures_keep_every_write_out_of_the_real_home(run, fake, omni_env, tmp_path) -> None:
    """A catalog override no other run has (so its schema marker is new) and a prompt no other run has: neither
    may show up in the real user folders, whichever way a script is run."""
    real = _real_home()
    if Path(omni_env["HOME"]) == real:
        pytest.fail("the fixtures use the real HOME")
    unique = uuid.uuid4().hex
    override = tmp_path / "override.yaml"
    override.write_text(f"# {unique}\nmodels: []\n")
    env = {**omni_env, "MEDIAGEN_CATALOG_OVERRIDE": str(override)}
    cache_before = _files(real / ".cache" / "mediagen")
    assert run(image_gen.main, f"a fox {unique}", env=env).code == 0
    assert run(estimate_cost.main, "image", env=env).code == 0
    subprocess.run([sys.executable, str(ROOT / "scripts" / "estimate_cost.py"), "video"], env=env, cwd=tmp_path,
                   capture_output=True, check=True, stdin=subprocess.DEVNULL, timeout=120)
    test_cache = _files(Path(env["XDG_CACHE_HOME"]) / "mediagen")
    assert test_cache, "the catalog marker went nowhere the test can see"
    assert not (test_cache & (_files(real / ".cache" / "mediagen") - cache_before))
    real_ledger = real / ".local" / "state" / "mediagen" / "ledger.jsonl"
    assert not real_ledger.is_file() or unique not in real_ledger.read_text(errors="replace")
    assert unique in (Path(env["XDG_STATE_HOME"]) / "mediagen" / "ledger.jsonl").read_text()
