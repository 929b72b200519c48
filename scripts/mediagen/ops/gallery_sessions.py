"""The gallery's sessions: results that continue one another shown as chains (turn 1 -> 2 -> 3).

Each sidecar names its conversation turn (``session``: id, turn, parent). The
results of one session in the gallery's folder form a tree; every path from a
first turn to a turn nobody continued is a chain, one row of small thumbnails
joined by arrows. A session continued from an earlier turn has two rows that
share their beginning: the branch is visible. Sessions with a single result
add nothing to the cards and are left out.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from mediagen.ops.output import sidecar_path
from mediagen.ops.session_views import ARROW, chains

CSS = """
.sessions { padding: 12px 16px 0; }
.sessions h2 { font-size: 14px; margin: 0 0 6px; }
.chain { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; background: #fff; border-radius: 8px;
         box-shadow: 0 1px 3px rgba(0,0,0,.15); padding: 6px 10px; margin: 0 0 8px; font-size: 12px; }
.chain .sid { color: #555; margin-right: 6px; }
.chain .branch { background: #ffd; border-radius: 4px; padding: 1px 5px; }
.chain a.turn { display: inline-flex; flex-direction: column; align-items: center; text-decoration: none;
                color: #333; }
.chain img, .chain video { height: 56px; max-width: 96px; object-fit: contain; background: #2b2b33; }
.chain .arrow { color: #888; }
"""


def collect(items: list[Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Session id -> turn id -> {turn, parent, item} for every gallery item whose sidecar names a turn."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for item in items:
        ref = _session_of(item.media)
        if ref:
            found.setdefault(str(ref["id"]), {})[str(ref["turn"])] = {
                "turn": str(ref["turn"]), "parent": ref.get("parent"), "item": item}
    return {sid: turns for sid, turns in found.items() if len(turns) > 1}


def _session_of(media: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(sidecar_path(media).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ref = doc.get("session") if isinstance(doc, dict) else None
    return ref if isinstance(ref, dict) and ref.get("id") and ref.get("turn") else None


def section(sessions: dict[str, dict[str, dict[str, Any]]], base: Path, relative: Any) -> str:
    """The HTML of the sessions block ("" when no session has two results here)."""
    if not sessions:
        return ""
    rows = []
    for sid, turns in sorted(sessions.items(), reverse=True):
        ordered = sorted(turns.values(), key=lambda t: (len(t["turn"]), t["turn"]))      # in the order made
        known = [{"turn": t["turn"], "parent": t["parent"] if t["parent"] in turns else None} for t in ordered]
        for index, chain in enumerate(chains(known)):
            rows.append(_row(sid, chain.split(ARROW), turns, base, relative, branch=index > 0))
    return (f'<section class="sessions"><h2>Sessions ({len(sessions)}): each row is a chain of turns, '
            f'a second row of one session is a branch</h2>\n' + "\n".join(rows) + "\n</section>\n")


def _row(sid: str, chain: list[str], turns: dict[str, dict[str, Any]], base: Path, relative: Any, *,
         branch: bool) -> str:
    cells = []
    for turn_id in chain:
        item = turns[turn_id]["item"]
        src = html.escape(relative(item.media, base), quote=True)
        prompt = html.escape(item.prompt, quote=True)
        thumb = (f'<video src="{src}" preload="metadata" muted></video>' if item.kind == "video" else
                 f'<img src="{src}" loading="lazy" alt="{prompt}">')
        cells.append(f'<a class="turn" href="{src}" title="{prompt}">{thumb}<span>turn {turn_id}</span></a>')
    label = '<span class="branch">branch</span>' if branch else ""
    joined = ' <span class="arrow">&rarr;</span> '.join(cells)
    return (f'<div class="chain" data-session="{html.escape(sid, quote=True)}" data-chain="{ARROW.join(chain)}">'
            f'<span class="sid">{html.escape(sid)}</span>{label}{joined}</div>')


def with_sessions(page: str, items: list[Any], base: Path, relative: Any) -> tuple[str, int]:
    """The page with the sessions block above the cards, and how many sessions it shows."""
    sessions = collect(items)
    block = section(sessions, base, relative)
    if not block:
        return page, 0
    page = page.replace("</style>", CSS + "</style>", 1)
    return page.replace("<main>", block + "<main>", 1), len(sessions)
