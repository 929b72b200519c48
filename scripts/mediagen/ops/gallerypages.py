"""The gallery in pages: ``gallery.html`` holds the newest ``page_size`` cards, ``gallery-2.html`` the next...

Each page is the page ``gallery.render`` draws for its own cards, with a
navigation bar (first, previous, next, last, and the whole gallery's totals)
above and below the cards. The filters work on the page shown; following a
page link keeps them (they travel in the URL's ``#``). A folder that fits on
one page gets exactly the single page it always got. The result is a summary
(the counts and the page files), never every item: a folder of thousands of
images gives a short answer.
"""
from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from mediagen.core.files import atomic_write_text
from mediagen.ops import gallery_sessions
from mediagen.ops.gallery import (GALLERY_NAME, POSTERS_DIR, GalleryItem, add_posters, relative, render, scan,
                                  writable)

DEFAULT_PAGE_SIZE = 200
GENERATOR_MARK = 'content="mediagen gallery.py"'


def write_pages(folder: Path, output: Path | None = None, *, title: str | None = None,
                page_size: int | None = None) -> dict[str, Any]:
    """Scan ``folder`` and write the gallery's pages (``folder/gallery.html`` first); return the summary."""
    folder = Path(folder).expanduser()
    items = scan(folder)
    first = Path(output).expanduser() if output else folder / GALLERY_NAME
    if first.is_dir():
        first = first / GALLERY_NAME
    writable(first, lambda: first.parent.mkdir(parents=True, exist_ok=True))
    posters = add_posters(items, first.parent / POSTERS_DIR)
    size = max(1, int(page_size or DEFAULT_PAGE_SIZE))
    count = max(1, math.ceil(len(items) / size))
    paths = [page_path(first, n) for n in range(1, count + 1)]
    title = title or f"mediagen gallery: {folder.resolve().name}"
    totals = _totals(items)
    sessions = 0
    for n, path in enumerate(paths, start=1):
        chunk = items[(n - 1) * size: n * size]
        page = render(chunk, first.parent, title)
        if n == 1:                              # the chains of every page, whole, above the first page's cards
            page, sessions = gallery_sessions.with_sessions(page, items, first.parent, relative)
        if count > 1:
            page = _with_navigation(page, _navigation(paths, n, totals))
        writable(path, lambda: atomic_write_text(path, page))  # noqa: B023 - called at once
    _remove_stale_pages(first, count)
    return {"path": str(first.resolve()), "pages": [str(p.resolve()) for p in paths], "page_size": size,
            "counts": {"items": len(items), "images": totals["images"], "videos": totals["videos"]},
            "films": sum(i.role == "film" for i in items), "posters": posters, "sessions": sessions}


def page_path(first: Path, number: int) -> Path:
    """Page ``number`` beside the first page: ``gallery.html``, ``gallery-2.html``, ``gallery-3.html``..."""
    return first if number == 1 else first.with_name(f"{first.stem}-{number}{first.suffix}")


def _totals(items: list[GalleryItem]) -> dict[str, Any]:
    return {"items": len(items), "images": sum(i.kind == "image" for i in items),
            "videos": sum(i.kind == "video" for i in items), "usd": sum(i.cost_usd or 0.0 for i in items)}


def _navigation(paths: list[Path], number: int, totals: dict[str, Any]) -> str:
    """The bar of page links (relative, so the folder can move), with the whole gallery's totals."""
    def link(target: int, label: str) -> str:
        if target == number or not 1 <= target <= len(paths):
            return f'<span class="off">{label}</span>'
        return f'<a href="{html.escape(paths[target - 1].name, quote=True)}">{label}</a>'

    return (f'<nav class="pages">{link(1, "&laquo; first")} {link(number - 1, "&lsaquo; previous")} '
            f'<span class="at">page {number} of {len(paths)}</span> {link(number + 1, "next &rsaquo;")} '
            f'{link(len(paths), "last &raquo;")} <span class="all">{totals["items"]} items in all: '
            f'{totals["images"]} images, {totals["videos"]} videos, ${totals["usd"]:.4f}</span></nav>')


_NAV_STYLE = """<style>
nav.pages { padding: 8px 16px; font-size: 13px; display: flex; gap: 10px; flex-wrap: wrap; align-items: center; }
nav.pages .off { color: #999; } nav.pages .all { color: #555; margin-left: auto; }
</style>"""

# Page links carry the filters (the URL's #model=...&kind=...&q=...) to the next page.
_NAV_SCRIPT = """<script>
document.querySelectorAll("nav.pages a").forEach(function (a) {
  a.addEventListener("click", function () { a.href = a.getAttribute("href").split("#")[0] + location.hash; });
});
</script>"""


def _with_navigation(page: str, nav: str) -> str:
    """The page with the bar above and below its cards."""
    page = page.replace("</head>", f"{_NAV_STYLE}\n</head>", 1)
    page = page.replace("<main>", f"{nav}\n<main>", 1)
    return page.replace("</main>", f"</main>\n{nav}\n{_NAV_SCRIPT}", 1)


def _remove_stale_pages(first: Path, count: int) -> None:
    """Pages an earlier, longer gallery left behind (only ones this tool wrote)."""
    number = count + 1
    while True:
        stale = page_path(first, number)
        try:
            if GENERATOR_MARK not in stale.read_text(encoding="utf-8", errors="replace")[:2000]:
                return
        except OSError:
            return
        stale.unlink()
        number += 1
