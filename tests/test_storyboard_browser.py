"""The storyboard's index.html renders in headless Chromium (skipped without Chromium, except in CI)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from PIL import Image, ImageStat

from mediagen.cli.storyboard import main
from tests.conftest import GEMINI_KEY

FAST_POLLS = {"MEDIAGEN_POLL_FIRST_S": "0", "MEDIAGEN_POLL_INTERVAL_S": "0.05",
              "MEDIAGEN_POLLS_PER_MINUTE": "60000"}
PROMPTS = ["Hands grind coffee beans in a sunbeam", "The barista pours <latte> art & smiles",
           "The first customer steps in"]


def chromium() -> str:
    """The Chromium binary; a missing one fails in CI and skips elsewhere."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed (CI installs it: .ci/run)")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def test_contact_sheet_renders_in_headless_chromium(run, fake, fake_env, tmp_path) -> None:
    browser = chromium()
    shots = [{"id": f"s{i}", "prompt": p, "duration": 4, "transition": "cut" if i == 1 else "continue"}
             for i, p in enumerate(PROMPTS, start=1)]
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "title": "Coffee & co", "style": "warm light", "shots": shots}))
    env = {**fake_env, **FAST_POLLS, "GEMINI_API_KEY": GEMINI_KEY}
    result = run(main, str(path), "--approve", env=env)
    assert result.code == 0, result.doc
    page = Path(result.doc["html"])
    screenshot = tmp_path / "page.png"
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={screenshot}", "--window-size=1280,900",
               page.resolve().as_uri()]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert screenshot.is_file(), done.stderr[-2000:]
    with Image.open(screenshot) as image:
        image.load()
        assert image.size == (1280, 900)
        variance = ImageStat.Stat(image.convert("L")).var[0]
    assert variance > 100, f"the screenshot looks blank (variance {variance:.1f})"
    text = page.read_text(encoding="utf-8")
    for prompt in PROMPTS:
        assert prompt.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in text
    for name in ("final.mp4", "frames/01-s1-thumb.png", "shots/02-s2.mp4"):
        assert f'"{name}"' in text and (page.parent / name).is_file()
