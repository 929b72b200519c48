"""The storyboard's contact sheet: one self-contained ``index.html`` beside the manifest.

The page uses only relative links (the shots, frames and final film in the
same folder), inline CSS and no scripts, fonts or network requests, so it
opens from a local disk, a zip or a file share. Every text comes from the
manifest and is HTML-escaped.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mediagen.core.files import atomic_write_text

INDEX_NAME = "index.html"

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       background: #f3f1ec; color: #1f2328; }
header { display: flex; flex-wrap: wrap; gap: 8px 32px; align-items: baseline; margin-bottom: 16px; }
h1 { margin: 0; font-size: 26px; }
.facts { color: #57606a; }
.style { margin: 0 0 20px; padding: 10px 14px; background: #fff8e6; border-left: 4px solid #d4a72c; }
.film { margin: 0 0 28px; }
.film video { width: 100%; max-width: 720px; max-height: 50vh; background: #111; border-radius: 6px;
              display: block; }
.missing { padding: 18px; background: #ffebe9; border-radius: 6px; color: #82071e; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 18px; }
.shot { background: #fff; border-radius: 8px; overflow: hidden; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
.shot img { width: 100%; aspect-ratio: 16 / 9; object-fit: contain; background: #24292f; display: block; }
.shot.portrait img { aspect-ratio: 9 / 16; max-height: 420px; }
.noimg { aspect-ratio: 16 / 9; background: repeating-linear-gradient(45deg, #d0d7de, #d0d7de 10px, #eaeef2 10px,
         #eaeef2 20px); }
.body { padding: 12px 14px 14px; }
.head { display: flex; justify-content: space-between; gap: 8px; font-weight: 600; }
.badge { font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px; background: #ddf4ff;
         color: #0969da; }
.badge.continue { background: #dafbe1; color: #1a7f37; }
.badge.extend { background: #fbefff; color: #8250df; }
.prompt { margin: 8px 0; }
.meta { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; font-size: 13px; color: #57606a; margin: 0; }
.meta dt { font-weight: 600; }
.meta dd { margin: 0; overflow-wrap: anywhere; }
.state-succeeded { color: #1a7f37; }
.state-failed, .state-blocked, .state-error { color: #cf222e; }
.state-running, .state-pending, .state-submitting { color: #9a6700; }
footer { margin-top: 28px; font-size: 13px; color: #57606a; }
"""


def write_index(manifest: dict[str, Any], folder: Path) -> Path:
    """Render the manifest to ``folder/index.html`` (atomically) and return its path."""
    path = Path(folder) / INDEX_NAME
    atomic_write_text(path, render(manifest))
    return path


def render(manifest: dict[str, Any]) -> str:
    """The whole page as a string."""
    title = str(manifest.get("title") or "Storyboard")
    body = [_header(manifest), _style(manifest), _film(manifest), _shots(manifest), _footer(manifest)]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(part for part in body if part) + "\n</body>\n</html>\n")


def _header(manifest: dict[str, Any]) -> str:
    shots = manifest.get("shots") or []
    seconds = sum(float(s.get("duration") or 0) for s in shots)
    cost = manifest.get("cost") or {}
    facts = [f"{len(shots)} shots", f"{seconds:g} s planned", f"aspect {manifest.get('aspect_ratio') or '16:9'}",
             f"estimate {_usd(cost.get('estimate_usd'))}", f"spent {_usd(cost.get('actual_usd'))}"]
    return (f"<header><h1>{_e(manifest.get('title') or 'Storyboard')}</h1>"
            f"<div class=\"facts\">{_e(' · '.join(facts))}</div></header>")


def _style(manifest: dict[str, Any]) -> str:
    style = manifest.get("style")
    return f"<p class=\"style\"><strong>Style:</strong> {_e(style)}</p>" if style else ""


def _film(manifest: dict[str, Any]) -> str:
    final = manifest.get("final") or {}
    if not final.get("file"):
        return "<section class=\"film\"><div class=\"missing\">The final film is not stitched yet: some shots " \
               "have not finished (see their state below).</div></section>"
    poster = next((s.get("thumbnail") for s in manifest.get("shots") or [] if s.get("thumbnail")), None)
    poster_attr = f" poster=\"{_href(poster)}\"" if poster else ""
    audio = "with audio" if final.get("has_audio") else "no audio"
    return (f"<section class=\"film\"><video controls preload=\"metadata\" src=\"{_href(final['file'])}\""
            f"{poster_attr}></video><p class=\"facts\">Final film: <a href=\"{_href(final['file'])}\">"
            f"{_e(final['file'])}</a> · {_e(_seconds(final.get('duration_s')))} · {audio}</p></section>")


def _shots(manifest: dict[str, Any]) -> str:
    portrait = manifest.get("aspect_ratio") == "9:16"
    cards = [_card(shot, portrait) for shot in manifest.get("shots") or []]
    return "<section class=\"grid\">\n" + "\n".join(cards) + "\n</section>"


def _card(shot: dict[str, Any], portrait: bool) -> str:
    transition = str(shot.get("transition") or "cut")
    meta = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in _rows(shot) if value)
    return (f"<article class=\"shot{' portrait' if portrait else ''}\">{_picture(shot)}<div class=\"body\">"
            f"<div class=\"head\"><span>{_e(shot.get('index'))}. {_e(shot.get('id'))}</span>"
            f"<span class=\"badge {_e(transition)}\">{_e(transition)}</span></div>"
            f"<p class=\"prompt\">{_e(shot.get('prompt'))}</p><dl class=\"meta\">{meta}</dl></div></article>")


def _picture(shot: dict[str, Any]) -> str:
    """The keyframe (else the thumbnail), linking to the clip when there is one."""
    image = shot.get("keyframe") or shot.get("thumbnail")
    picture = (f"<img src=\"{_href(image)}\" alt=\"shot {_e(shot.get('index'))}\">" if image
               else "<div class=\"noimg\"></div>")
    if shot.get("file"):
        picture = f"<a href=\"{_href(shot['file'])}\">{picture}</a>"
    return picture


def _rows(shot: dict[str, Any]) -> list[tuple[str, str]]:
    """The card's facts as (name, HTML) pairs; empty values are left out by the caller."""
    cost = shot.get("cost") or {}
    state = str(shot.get("state") or "pending")
    rows = [("state", f"<span class=\"state-{_e(state)}\">{_e(state)}</span>"),
            ("duration", _e(f"{shot.get('duration')} s planned, {_seconds(shot.get('duration_s'))} made")),
            ("cost", _e(f"{_usd(cost.get('estimate_usd'))} estimated, {_usd(cost.get('actual_usd'))} actual")),
            ("model", _e(shot.get("model") or "")), ("mode", _e(shot.get("mode") or "")),
            ("camera", _e(shot.get("camera") or "")), ("job", _e(shot.get("job_id") or ""))]
    if shot.get("keyframe"):
        rows.append(("keyframe", _e(shot.get("keyframe_prompt") or "")))
    return rows


def _footer(manifest: dict[str, Any]) -> str:
    return (f"<footer>Made by mediagen storyboard.py · manifest: <a href=\"manifest.json\">manifest.json</a>"
            f" · updated {_e(manifest.get('updated') or '')}</footer>")


def _href(relative: str) -> str:
    """A relative URL for a path inside the storyboard folder (forward slashes, percent-encoded)."""
    return html.escape(quote(str(relative).replace("\\", "/")), quote=True)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _usd(value: Any) -> str:
    return "n/a" if value is None else f"${float(value):.2f}"


def _seconds(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.1f} s"
