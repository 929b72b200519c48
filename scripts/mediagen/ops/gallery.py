"""A static HTML gallery over an output folder's sidecars (no server, no network).

Every ``*.json`` file under the folder that is a sidecar (a JSON object whose
``file`` names a media file next to it, with the same stem) becomes a card:
thumbnail (``<img>``, or ``<video preload="metadata">`` with a poster frame),
prompt, model, kind, size, cost and date. Sidecars come from image_gen,
video_gen and batch_gen alike; a storyboard folder's ``manifest.json`` adds
its stitched film. Paths are relative to the HTML file, so the folder can be
moved or zipped with it; a file on another drive (Windows), which no relative
path reaches, is linked by its ``file://`` URI.

Poster frames are cut with ffmpeg into ``gallery-posters/`` next to the page
and reused while the video is unchanged; without ffmpeg the cards simply have
no poster.

Filters (model, kind, text) are plain inline JavaScript; they can be preset
from the URL: ``gallery.html#kind=video&model=veo-3.1&q=fox`` (or ``?``
query parameters). The page also works with JavaScript off (no filtering).
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import html
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from mediagen.core import errors
from mediagen.core.files import atomic_path, atomic_write_text
from mediagen.ops import frames
from mediagen.ops import gallery_sessions
from mediagen.ops.output import sidecar_path

GALLERY_NAME = "gallery.html"
POSTERS_DIR = "gallery-posters"
FILM_MANIFEST = "manifest.json"          # a storyboard folder's record (ops.storyboard.manifest)
MAX_SIDECAR_BYTES = 4 * 1024 * 1024
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".webm", ".m4v"})
SKIP_DIRS = frozenset({".git", "__pycache__", "node_modules"})


@dataclass
class GalleryItem:
    """One card: the media file and what its sidecar says about it."""

    media: Path
    kind: str
    prompt: str
    model: str
    cost_usd: float | None
    created: str
    width: int | None
    height: int | None
    duration_s: float | None
    backend: str
    role: str = ""                       # "film": a storyboard's stitched film
    poster: Path | None = None

    def describe(self, base: Path) -> dict[str, Any]:
        doc = {"file": relative(self.media, base), "kind": self.kind, "prompt": self.prompt, "model": self.model,
               "cost_usd": self.cost_usd, "created": self.created, "width": self.width, "height": self.height}
        if self.kind == "video":
            doc["poster"] = relative(self.poster, base) if self.poster else None
        if self.role:
            doc["role"] = self.role
        return doc


def scan(folder: Path) -> list[GalleryItem]:
    """Every sidecar under ``folder`` (newest first); other JSON files are ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise errors.UsageError(f"{folder} is not a folder", "Pass the folder holding the images/videos and "
                                                             "their .json sidecars.")
    items = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".json"):
                item = _item(Path(root) / name)
                if item is not None:
                    items.append(item)
    return sorted(items, key=lambda i: (i.created, str(i.media)), reverse=True)


def _item(path: Path) -> GalleryItem | None:
    doc = _read(path)
    if doc is not None and path.name == FILM_MANIFEST:
        return _film(path, doc)
    if doc is None or not isinstance(doc.get("file"), str):
        return None
    media = path.parent / doc["file"]
    if media.parent != path.parent or not media.is_file() or sidecar_path(media) != path:
        return None
    return GalleryItem(media=media, kind=_kind(doc, media), prompt=str(doc.get("prompt") or ""),
                       model=_model(doc.get("model")), cost_usd=_cost(doc.get("cost")),
                       created=str(doc.get("created") or ""), width=_int(doc.get("width")),
                       height=_int(doc.get("height")), duration_s=_float(doc.get("duration_s")),
                       backend=_backend(doc.get("backend")))


def _film(path: Path, doc: dict[str, Any]) -> GalleryItem | None:
    """The stitched film a storyboard's manifest records (None until one was made)."""
    final = doc.get("final")
    if not isinstance(final, dict) or not isinstance(final.get("file"), str):
        return None
    media = path.parent / final["file"]
    if media.parent != path.parent or not media.is_file():
        return None
    shots = [s for s in doc.get("shots") or [] if isinstance(s, dict)]
    models = sorted({str(s["model"]) for s in shots if s.get("model")})
    return GalleryItem(media=media, kind="video", prompt=f"{doc.get('title') or path.parent.name}: the film "
                                                         f"({len(shots)} shots)",
                       model=models[0] if len(models) == 1 else "storyboard", cost_usd=_cost(doc.get("cost")),
                       created=str(final.get("stitched") or ""), width=_int(final.get("width")),
                       height=_int(final.get("height")), duration_s=_float(final.get("duration_s")),
                       backend=_backend(doc.get("backend")), role="film")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def _kind(doc: dict[str, Any], media: Path) -> str:
    kind = str(doc.get("kind") or "")
    if kind in ("image", "video"):
        return kind
    mime = str(doc.get("mime_type") or "")
    return "video" if mime.startswith("video/") or media.suffix.lower() in VIDEO_SUFFIXES else "image"


def _model(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or value.get("wire_id") or value.get("requested") or "unknown")
    return str(value or "unknown")


def _cost(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("actual_usd") if value.get("actual_usd") is not None else value.get("estimate_usd")
    return _float(value)


def _backend(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or "")
    return str(value or "")


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def relative(media: Path, base: Path) -> str:
    """How the page at ``base`` (its folder) links ``media``: see ``href``."""
    return href(media.resolve(), base.resolve())


def href(media: PurePath, base: PurePath) -> str:
    """A URL path from folder ``base`` to ``media`` (both absolute), or ``media``'s ``file://`` URI when no
    relative path exists: on Windows across drives, where ``os.path.relpath`` raises."""
    fold = str.lower if isinstance(media, PureWindowsPath) else str     # Windows paths ignore case
    if fold(media.anchor) != fold(base.anchor):
        return media.as_uri()
    common = 0
    for ours, theirs in zip(media.parts, base.parts):
        if fold(ours) != fold(theirs):
            break
        common += 1
    steps = [".."] * (len(base.parts) - common) + list(media.parts[common:])
    return quote("/".join(steps))


# -- poster frames ------------------------------------------------------------------------------

def add_posters(items: list[GalleryItem], cache: Path) -> dict[str, Any]:
    """A poster frame for every video, cut with ffmpeg into ``cache`` (reused while the video is unchanged)."""
    videos = [item for item in items if item.kind == "video"]
    if not videos:
        return {"count": 0}
    if "ffmpeg" in frames.missing_tools():
        return {"count": 0, "skipped": "ffmpeg is not installed: videos are shown without poster frames"}
    cache.mkdir(parents=True, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:     # ffmpeg start-up dominates: overlap
        posters = list(pool.map(lambda item: poster_for(item.media, cache), videos))
    for item, poster in zip(videos, posters, strict=True):
        item.poster = poster
    return {"count": sum(1 for p in posters if p), "folder": str(cache.resolve())}


def poster_for(video: Path, cache: Path) -> Path | None:
    """The cached poster of ``video`` (a frame 1 s in, or the first), made when missing; None when ffmpeg fails."""
    info = video.stat()
    key = hashlib.sha256(f"{video.resolve()}|{info.st_size}|{info.st_mtime_ns}".encode()).hexdigest()[:16]
    dest = cache / f"{video.stem[:40]}-{key}.jpg"
    if dest.is_file() and dest.stat().st_size:
        return dest
    for at in (1.0, 0.0):
        try:
            with atomic_path(dest, suffix=".jpg") as tmp:
                frames.extract_frame(video, at, tmp)
            return dest
        except errors.MediagenError:
            continue
    return None


# -- HTML ------------------------------------------------------------------------------------

def write_gallery(folder: Path, output: Path | None = None, *, title: str | None = None) -> dict[str, Any]:
    """Scan ``folder`` and write the gallery (``folder/gallery.html`` by default); return {path, items}."""
    folder = Path(folder).expanduser()
    items = scan(folder)
    target = Path(output).expanduser() if output else folder / GALLERY_NAME
    if target.is_dir():
        target = target / GALLERY_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    posters = add_posters(items, target.parent / POSTERS_DIR)
    page = render(items, target.parent, title or f"mediagen gallery: {folder.resolve().name}")
    page, sessions = gallery_sessions.with_sessions(page, items, target.parent, relative)
    atomic_write_text(target, page)
    return {"path": str(target.resolve()), "items": [i.describe(target.parent) for i in items],
            "counts": {"items": len(items), "images": sum(i.kind == "image" for i in items),
                       "videos": sum(i.kind == "video" for i in items)},
            "films": sum(i.role == "film" for i in items), "posters": posters, "sessions": sessions}


def render(items: list[GalleryItem], base: Path, title: str) -> str:
    """The whole page: head with inline CSS, filters, cards, inline script."""
    models = sorted({i.model for i in items})
    total = sum(i.cost_usd or 0.0 for i in items)
    cards = "\n".join(_card(i, base) for i in items) or '<p class="empty">No sidecars found in this folder.</p>'
    options = "".join(f'<option value="{_attr(m)}">{_text(m)}</option>' for m in models)
    return _PAGE.format(title=_text(title), css=_CSS, script=_SCRIPT, cards=cards, model_options=options,
                        count=len(items), images=sum(i.kind == "image" for i in items),
                        videos=sum(i.kind == "video" for i in items), total=f"{total:.4f}")


def _card(item: GalleryItem, base: Path) -> str:
    src = relative(item.media, base)
    if item.kind == "video":
        poster = f' poster="{_attr(relative(item.poster, base))}"' if item.poster else ""
        thumb = (f'<video src="{_attr(src)}"{poster} preload="metadata" controls muted playsinline '
                 f'aria-label="{_attr(item.prompt)}"></video>')
    else:
        thumb = f'<a href="{_attr(src)}"><img src="{_attr(src)}" loading="lazy" alt="{_attr(item.prompt)}"></a>'
    size = f"{item.width}x{item.height}" if item.width and item.height else ""
    if item.duration_s:
        size = f"{size} {item.duration_s:g}s".strip()
    cost = f"${item.cost_usd:.4f}" if item.cost_usd is not None else "unpriced"
    badge = ' <span class="film">film</span>' if item.role == "film" else ""
    search = " ".join([item.prompt, item.model, item.media.name, item.kind, item.backend, item.role]).lower()
    return (f'<article class="card" data-kind="{_attr(item.kind)}" data-model="{_attr(item.model)}" '
            f'data-text="{_attr(search)}">\n  <div class="thumb">{thumb}</div>\n'
            f'  <div class="meta"><p class="prompt">{_text(item.prompt) or "<em>(no prompt)</em>"}</p>\n'
            f'  <p class="facts"><span class="model">{_text(item.model)}</span> <span class="kind">{item.kind}</span>'
            f'{badge} <span class="size">{_text(size)}</span> <span class="cost">{cost}</span></p>\n'
            f'  <p class="file"><a href="{_attr(src)}">{_text(item.media.name)}</a> '
            f'<time>{_text(item.created[:19].replace("T", " "))}</time></p></div>\n</article>')


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


_CSS = """
:root { color-scheme: light; font-family: system-ui, sans-serif; }
body { margin: 0; background: #f4f4f6; color: #1d1d22; }
header { position: sticky; top: 0; z-index: 1; background: #fff; border-bottom: 1px solid #ddd;
         padding: 10px 16px; display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
header h1 { font-size: 16px; margin: 0 12px 0 0; }
header label { font-size: 13px; }
header select, header input { font-size: 13px; padding: 3px 6px; }
#f-count { font-size: 13px; color: #555; margin-left: auto; }
.totals { font-size: 13px; color: #555; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 14px; padding: 16px; }
.card { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.15); overflow: hidden;
        display: flex; flex-direction: column; }
[hidden] { display: none !important; }
.thumb { background: #2b2b33; height: 200px; display: flex; align-items: center; justify-content: center; }
.thumb img, .thumb video { max-width: 100%; max-height: 200px; object-fit: contain; display: block; }
.meta { padding: 8px 10px; font-size: 12px; }
.prompt { margin: 0 0 6px; font-size: 13px; line-height: 1.35; max-height: 5.4em; overflow: auto; }
.facts span { display: inline-block; background: #eef; border-radius: 4px; padding: 1px 5px; margin: 0 3px 3px 0; }
.facts .kind { background: #efe; } .facts .cost { background: #fee; } .facts .film { background: #ffd; }
.file { margin: 4px 0 0; color: #666; word-break: break-all; } .file time { float: right; }
.empty { padding: 24px; }
"""

_SCRIPT = """
(function () {
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.card"));
  var model = document.getElementById("f-model"), kind = document.getElementById("f-kind");
  var text = document.getElementById("f-text"), count = document.getElementById("f-count");
  function wanted() {
    var found = {};
    [location.search.replace(/^\\?/, ""), location.hash.replace(/^#/, "")].forEach(function (part) {
      part.split("&").forEach(function (pair) {
        if (!pair) { return; }
        var at = pair.indexOf("="), key = at < 0 ? pair : pair.slice(0, at);
        var value = at < 0 ? "" : pair.slice(at + 1);
        try { found[decodeURIComponent(key)] = decodeURIComponent(value.replace(/\\+/g, " ")); } catch (e) {}
      });
    });
    return found;
  }
  function choose(select, value) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === value) { select.selectedIndex = i; return; }
    }
    select.selectedIndex = 0;
  }
  function apply() {
    var m = model.value, k = kind.value, t = text.value.trim().toLowerCase(), shown = 0;
    cards.forEach(function (card) {
      var ok = (!m || card.getAttribute("data-model") === m) && (!k || card.getAttribute("data-kind") === k) &&
               (!t || card.getAttribute("data-text").indexOf(t) >= 0);
      if (ok) { card.removeAttribute("hidden"); shown++; } else { card.setAttribute("hidden", ""); }
    });
    count.textContent = shown + " of " + cards.length + " shown";
    document.body.setAttribute("data-shown", String(shown));
  }
  function remember() {
    var parts = [];
    if (model.value) { parts.push("model=" + encodeURIComponent(model.value)); }
    if (kind.value) { parts.push("kind=" + encodeURIComponent(kind.value)); }
    if (text.value.trim()) { parts.push("q=" + encodeURIComponent(text.value.trim())); }
    var target = parts.length ? "#" + parts.join("&") : location.pathname + location.search;
    if (history.replaceState) { history.replaceState(null, "", target); }
  }
  function load() {
    var w = wanted();
    choose(model, w.model || "");
    choose(kind, w.kind || "");
    text.value = w.q || w.text || "";
    apply();
  }
  [model, kind].forEach(function (el) { el.addEventListener("change", function () { apply(); remember(); }); });
  text.addEventListener("input", function () { apply(); remember(); });
  window.addEventListener("hashchange", load);
  load();
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; img-src 'self' file: data:; media-src 'self' file:;
               style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="generator" content="mediagen gallery.py">
<title>{title}</title>
<style>{css}</style>
</head>
<body data-shown="{count}">
<header>
  <h1>{title}</h1>
  <label>Model <select id="f-model"><option value="">all</option>{model_options}</select></label>
  <label>Kind <select id="f-kind"><option value="">all</option>
    <option value="image">image</option><option value="video">video</option></select></label>
  <label>Search <input id="f-text" type="search" placeholder="prompt, model, file"></label>
  <span id="f-count">{count} of {count} shown</span>
  <span class="totals">images: {images} &middot; videos: {videos} &middot; ${total}</span>
</header>
<main>
{cards}
</main>
<script>{script}</script>
</body>
</html>
"""
