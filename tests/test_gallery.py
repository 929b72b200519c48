"""gallery.py: the static HTML gallery over sidecars, checked as JSON, as HTML and in headless Chromium."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from mediagen.cli.batch_gen import main as batch_main
from mediagen.cli.gallery import main
from mediagen.cli.image_gen import main as image_main
from mediagen.cli.video_gen import main as video_main
from tests.conftest import GEMINI_KEY

FAST_POLLS = {"MEDIAGEN_POLL_FIRST_S": "0", "MEDIAGEN_POLL_INTERVAL_S": "0.02",
              "MEDIAGEN_POLLS_PER_MINUTE": "60000"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def media(run, fake, fake_env, tmp_path) -> Path:
    """A folder with two image models, a video and a batch sub-folder, plus JSON that is not a sidecar."""
    folder = tmp_path / "outputs"
    env = {**fake_env, **FAST_POLLS, "GEMINI_API_KEY": GEMINI_KEY}
    assert run(image_main, "a red fox <b>in</b> snow & ice", "-o", str(folder), env=env).code == 0
    assert run(image_main, "a blue whale", "-m", "gemini-3-pro-image", "-o", str(folder), env=env).code == 0
    assert run(video_main, "a cat walking on a fence", "--duration", "4", "-o", str(folder), env=env).code == 0
    prompts = tmp_path / "more.txt"
    prompts.write_text("a green frog on a leaf\n", encoding="utf-8")
    assert run(batch_main, str(prompts), "-o", str(folder / "batch"), env=env).code == 0
    (folder / "notes.json").write_text(json.dumps({"file": "missing.png", "prompt": "ghost"}))
    (folder / "list.json").write_text("[1, 2, 3]")
    return folder


class Cards(HTMLParser):
    """Collects each ``article.card`` with its attributes (``hidden`` included)."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, str | None]] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        if tag == "article" and "card" in (values.get("class") or ""):
            self.cards.append(values)
        if tag in ("img", "video") and values.get("src"):
            self.sources.append(values["src"])


def parse(text: str) -> Cards:
    cards = Cards()
    cards.feed(text)
    return cards


def visible(cards: Cards) -> list[tuple[str, str]]:
    return sorted((c["data-kind"], c["data-model"]) for c in cards.cards if "hidden" not in c)


def test_gallery_lists_every_sidecar_with_relative_paths(run, media) -> None:
    result = run(main, str(media), env={"HOME": str(media.parent)})
    assert result.code == 0, result.doc
    page = Path(result.doc["path"])
    assert page == (media / "gallery.html").resolve() and page.is_file()
    assert result.doc["counts"] == {"items": 4, "images": 3, "videos": 1}
    assert result.doc["pages"] == [str(page)] and "items" not in result.doc       # a summary, not every item
    text = page.read_text(encoding="utf-8")
    cards = parse(text)
    assert sorted(c["data-model"] for c in cards.cards) == ["gemini-3-pro-image", "gemini-nano-banana-2.1",
                                                            "gemini-nano-banana-2.1", "gemini-omni-1.2-flash"]
    files = sorted(cards.sources)
    assert any(f.startswith("batch/") for f in files) and all(not f.startswith("/") for f in files)
    assert all((media / f).is_file() for f in files)
    video = next(c for c in cards.cards if c["data-kind"] == "video")
    assert video["data-text"].split()[-3].endswith(".mp4") and re.search(r"\$0\.\d*[1-9]", text)
    assert "a red fox &lt;b&gt;in&lt;/b&gt; snow &amp; ice" in text and "<b>in</b>" not in text
    assert not re.search(r"https?://", text)                         # nothing to fetch from the network
    assert '<video src="' in text and 'preload="metadata"' in text
    if shutil.which("ffmpeg"):                                        # a cached poster frame next to the page
        posters = re.findall(r'poster="([^"]+)"', text)
        assert len(posters) == 1 and posters[0].startswith("gallery-posters/") and (media / posters[0]).is_file()
    assert len(cards.cards) == 4 and 'class="pages"' not in text     # one page: no page links
    assert "ghost" not in text


def test_a_large_folder_is_written_in_pages_of_the_page_size(run, media, tmp_path) -> None:
    env = {"HOME": str(tmp_path)}
    result = run(main, str(media), "--page-size", "3", env=env)
    assert result.code == 0 and result.doc["page_size"] == 3 and result.doc["counts"]["items"] == 4
    first, second = (Path(p) for p in result.doc["pages"])
    assert first == media.resolve() / "gallery.html" and second == media.resolve() / "gallery-2.html"
    pages = [parse(first.read_text()), parse(second.read_text())]
    assert [len(p.cards) for p in pages] == [3, 1]
    assert len(set(pages[0].sources + pages[1].sources)) == 4                   # each card on one page
    assert 'href="gallery-2.html"' in first.read_text() and 'href="gallery.html"' in second.read_text()
    assert "page 2 of 2" in second.read_text() and "4 items in all: 3 images, 1 videos" in second.read_text()
    assert run(main, str(media), env={**env, "MEDIAGEN_GALLERY_PAGE_SIZE": "2"}).doc["page_size"] == 2
    again = run(main, str(media), env=env)                            # default 200: one page, the stale one goes
    assert again.doc["pages"] == [str(first)] and not second.exists()
    assert run(main, str(media), "--page-size", "0", env=env).code == 2


def test_output_elsewhere_keeps_paths_relative_to_the_page(run, media, tmp_path) -> None:
    target = tmp_path / "site" / "index.html"
    result = run(main, str(media), "-o", str(target), "--title", "Shots", env={"HOME": str(tmp_path)})
    assert result.code == 0 and Path(result.doc["path"]) == target.resolve()
    sources = parse(target.read_text()).sources
    assert sources and all(s.startswith("../outputs/") for s in sources)
    assert all((target.parent / s).resolve().is_file() for s in sources)
    missing = run(main, str(tmp_path / "nope"), env={"HOME": str(tmp_path)})
    assert missing.code == 2 and "not a folder" in missing.doc["error"]["message"]


# -- headless Chromium ---------------------------------------------------------------------------

def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is required in CI (apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)


def test_gallery_renders_in_headless_chromium(run, media, tmp_path) -> None:
    page = Path(run(main, str(media), env={"HOME": str(tmp_path)}).doc["path"])
    shot = tmp_path / "gallery.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", page.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size == (1280, 900)
        pixels = image.convert("RGB")
        colors = pixels.getcolors(maxcolors=1 << 20) or []
    assert len(colors) > 20                                           # text, cards and thumbnails, not blank
    assert max(count for count, _ in colors) < 0.9 * 1280 * 900
    thumbs = {rgb for count, rgb in colors if count > 5000 and rgb not in ((255, 255, 255), (244, 244, 246))}
    assert len(thumbs) >= 3                                           # the solid-colour images were drawn


def test_url_presets_filter_the_cards(run, media, tmp_path) -> None:
    page = Path(run(main, str(media), env={"HOME": str(tmp_path)}).doc["path"])

    def dom(suffix: str) -> Cards:
        done = chromium(tmp_path, "--dump-dom", page.as_uri() + suffix)
        assert "article" in done.stdout, done.stderr[-2000:]
        return parse(done.stdout)

    everything = dom("")
    assert len(visible(everything)) == 4
    videos = dom("#kind=video")
    assert visible(videos) == [("video", "gemini-omni-1.2-flash")] and len(videos.cards) == 4
    pro = dom("?model=gemini-3-pro-image")
    assert visible(pro) == [("image", "gemini-3-pro-image")]
    frogs = dom("#q=green%20frog&kind=image")
    assert visible(frogs) == [("image", "gemini-nano-banana-2.1")]
    assert 'data-shown="1"' in chromium(tmp_path, "--dump-dom", page.as_uri() + "#q=frog").stdout
