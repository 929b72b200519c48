"""Start-up: what a script's --help imports, the parsed-YAML cache, image sizes without Pillow, the ledger lock."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from mediagen.core import yamlfile
from mediagen.core.errors import ConfigError
from mediagen.ops.ledger import Ledger
from mediagen.ops.pixelsize import header_size
from tests.conftest import ROOT

SCRIPTS = ("image_gen", "video_gen", "batch_gen", "storyboard", "jobs", "gallery", "estimate_cost", "check_api")
HEAVY = ("requests", "urllib3", "jsonschema", "yaml", "PIL", "filelock", "google.auth")


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_imports_none_of_the_heavy_libraries(script: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "scripts" / f"{script}.py"), "--help"],
                          capture_output=True, text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin",
                                                                              "HOME": str(tmp_path)})
    assert done.returncode == 0 and "usage:" in done.stdout
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert not {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_a_yaml_file_is_parsed_once_per_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    path = tmp_path / "data.yaml"
    path.write_text("models:\n  - {id: a, sizes: {4: x}, since: 2026-01-02}\n")
    first = yamlfile.read_yaml(path, error=ConfigError, what="test", cache_dir=cache)
    assert first == {"models": [{"id": "a", "sizes": {4: "x"}, "since": "2026-01-02"}]}
    assert len(list(cache.glob("yaml-*.marshal"))) == 1
    monkeypatch.setattr(yamlfile, "parse_yaml", lambda *a, **k: pytest.fail("parsed again"))
    assert yamlfile.read_yaml(path, error=ConfigError, what="test", cache_dir=cache) == first   # int keys kept
    monkeypatch.undo()
    path.write_text("models: []\n")                                    # new content: parsed, a second copy
    assert yamlfile.read_yaml(path, error=ConfigError, what="test", cache_dir=cache) == {"models": []}
    for copy in cache.glob("yaml-*.marshal"):
        copy.write_bytes(b"\x00damaged")                              # a damaged copy is parsed over
    assert yamlfile.read_yaml(path, error=ConfigError, what="test", cache_dir=cache) == {"models": []}
    with pytest.raises(ConfigError, match="not valid YAML"):
        path.write_text("models: [\n")
        yamlfile.read_yaml(path, error=ConfigError, what="test", cache_dir=cache)


@pytest.mark.parametrize("fmt,options,mode", [("PNG", {}, "RGB"), ("PNG", {}, "RGBA"), ("JPEG", {}, "RGB"),
                                              ("JPEG", {"progressive": True}, "RGB"),
                                              ("JPEG", {"exif": b"Exif\0\0" + bytes(9000)}, "RGB"),
                                              ("WEBP", {}, "RGB"), ("WEBP", {"lossless": True}, "RGB"),
                                              ("WEBP", {}, "RGBA"), ("GIF", {}, "RGB")])
def test_image_sizes_are_read_from_the_header_as_pillow_reads_them(fmt, options, mode, tmp_path: Path) -> None:
    for size in ((1, 1), (37, 19), (2048, 1152)):
        path = tmp_path / f"image.{fmt.lower()}"
        Image.new(mode, size).save(path, fmt, **options)
        assert header_size(path) == size
    (tmp_path / "other.bin").write_bytes(b"II*\0 a TIFF, read by Pillow instead")
    assert header_size(tmp_path / "other.bin") is None and header_size(tmp_path / "missing.png") is None


def test_the_ledger_lock_is_the_one_filelock_takes(tmp_path: Path) -> None:
    from filelock import FileLock

    ledger = Ledger(tmp_path / "ledger.jsonl")
    held = FileLock(str(ledger.path) + ".lock")
    held.acquire()
    done: list[float] = []
    writer = threading.Thread(target=lambda: done.append(ledger.append({"run_id": "r1"}) and time.monotonic()))
    writer.start()
    time.sleep(0.3)
    assert not done and not ledger.path.exists()                     # waits for the other process's lock
    held.release()
    writer.join(5)
    assert done and [e["run_id"] for e in ledger.entries()] == ["r1"]


def test_a_busy_lock_times_out_with_timeout_error(tmp_path: Path) -> None:
    from filelock import FileLock

    from mediagen.core.files import file_lock

    held = FileLock(str(tmp_path / "x.lock"))
    held.acquire()
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="stayed busy"):
        with file_lock(tmp_path / "x.lock", timeout=0.2):
            pass
    assert time.monotonic() - started >= 0.2
    held.release()
    with file_lock(tmp_path / "x.lock", timeout=0):                 # free again: taken at once
        pass
