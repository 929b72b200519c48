"""Finishing a run: thumbnails, the stitched film, the costs, the contact sheet and the result document.

The film is stitched (``stitch.concat``) only when every shot succeeded, and
again only when one of its segments changed. ``run`` is the whole run: the
folder lock, the runner, finishing, and the error for a film left unfinished.
"""
from __future__ import annotations

import concurrent.futures
from typing import Any

from mediagen.core import errors
from mediagen.ops import frames
from mediagen.ops.jobstore import now_iso
from mediagen.ops.storyboard import stitch
from mediagen.ops.storyboard.contact_sheet import write_index
from mediagen.ops.preflight import check_folder
from mediagen.ops.storyboard.manifest import folder_lock
from mediagen.ops.storyboard.planning import Storyboard
from mediagen.ops.storyboard.running import Runner, RunOptions

FINAL_NAME = "final.mp4"


def film_segments(entries: list[dict[str, Any]]) -> list[tuple[list[int], str]]:
    """The clips the film is made of, in order; an extension containing its source replaces it."""
    segments: list[tuple[list[int], str]] = []
    for entry in entries:
        extension = entry.get("extension") or {}
        if entry.get("transition") == "extend" and extension.get("contains_source") and segments:
            segments[-1] = (segments[-1][0] + [entry["index"]], entry["file"])
        else:
            segments.append(([entry["index"]], entry["file"]))
    return segments


def finish(board: Storyboard) -> dict[str, Any]:
    """Thumbnails, the stitched film (when every shot is done), the page, and the final manifest."""
    manifest = board.manifest
    entries = manifest.data["shots"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:     # ffmpeg start-up dominates: overlap
        thumbnails = list(pool.map(lambda entry: _thumbnail(board, entry), entries))
    for entry, thumbnail in zip(entries, thumbnails, strict=True):
        entry["thumbnail"] = thumbnail
    complete = all(e.get("state") == "succeeded" for e in entries)
    if complete:
        manifest.data["final"] = _stitch(board, entries)
    manifest.data["cost"] = _costs(board)
    manifest.save()
    write_index(manifest.data, board.folder)
    return manifest.data


def _thumbnail(board: Storyboard, entry: dict[str, Any]) -> str | None:
    """The first frame of the shot's own footage (after the source, for an extension that contains it)."""
    clip = board.manifest.abs(entry.get("file"))
    current = board.manifest.abs(entry.get("thumbnail"))
    if current and current.is_file():
        return entry["thumbnail"]
    if entry.get("state") != "succeeded" or not clip or not clip.is_file():
        return None
    extension = entry.get("extension") or {}
    at = float(extension.get("source_s") or 0.0) if extension.get("contains_source") else 0.0
    dest = board.folder / "frames" / f"{entry['index']:02d}-{entry['id']}-thumb.png"
    try:
        return board.manifest.rel(frames.extract_frame(clip, at, dest))
    except errors.MediagenError as exc:
        board.console.warn(f"no thumbnail for shot {entry['index']}: {exc.message}")
        return None


def _stitch(board: Storyboard, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the segments into final.mp4, unless the same segments were already joined."""
    manifest = board.manifest
    segments = film_segments(entries)
    sources = [{"shots": shots, "file": rel, "bytes": manifest.abs(rel).stat().st_size} for shots, rel in segments]
    previous = manifest.data.get("final") or {}
    made = manifest.abs(previous.get("file"))
    if previous.get("sources") == sources and made and made.is_file():
        return previous
    board.console.info(f"stitching {len(segments)} segment(s) into {FINAL_NAME}")
    done = stitch.concat([manifest.abs(rel) for _, rel in segments], board.folder / FINAL_NAME)
    return {"file": FINAL_NAME, "duration_s": done["duration_s"], "has_audio": done["has_audio"],
            "method": done["method"], "width": done["width"], "height": done["height"], "fps": done["fps"],
            "sources": sources, "stitched": now_iso()}


def _costs(board: Storyboard) -> dict[str, Any]:
    """The whole storyboard: planned estimate and actual spend (shots, keyframes, references)."""
    data = board.manifest.data
    estimate = actual = 0.0
    priced = True
    items = [e.get("cost") or {} for e in data["shots"]] + [e.get("keyframe_cost") or {} for e in data["shots"]]
    items += [r.get("cost") or {} for r in (data.get("references") or {}).values()]
    for entry in data["shots"]:
        if not entry.get("cost"):
            items.append({"estimate_usd": entry.get("planned_estimate_usd")})
    for item in items:
        if item.get("estimate_usd") is None and item:
            priced = False
        estimate += float(item.get("estimate_usd") or 0.0)
        actual += float(item.get("actual_usd") or 0.0)
    return {"estimate_usd": round(estimate, 6), "actual_usd": round(actual, 6), "priced": priced}


# -- the result ---------------------------------------------------------------------------------

def result_document(board: Storyboard) -> dict[str, Any]:
    """The stdout fields: every shot, the film, the costs, where the manifest and page are."""
    manifest = board.manifest
    data = manifest.data
    shots = [{"index": e["index"], "id": e["id"], "prompt": e["prompt"], "full_prompt": e.get("full_prompt"),
              "transition": e["transition"], "job_id": e.get("job_id"), "state": e.get("state"),
              "file": str(manifest.abs(e["file"])) if e.get("file") else None, "duration_s": e.get("duration_s"),
              "cost": e.get("cost") or {"estimate_usd": e.get("planned_estimate_usd"), "actual_usd": None},
              **({"note": e["note"]} if e.get("note") else {}), **({"error": e["error"]} if e.get("error") else {})}
             for e in data["shots"]]
    final = data.get("final") or {}
    return {**board.summary(), "shots": shots,
            "final": ({"path": str(manifest.abs(final["file"])), "duration_s": final["duration_s"],
                       "has_audio": final["has_audio"], "method": final.get("method")} if final.get("file") else None),
            "cost": data.get("cost") or {}, "html": str(board.folder / "index.html")}


def incomplete_error(board: Storyboard, document: dict[str, Any]) -> errors.MediagenError | None:
    """The error for a run that left shots unfinished (None when the film is complete)."""
    entries = board.manifest.data["shots"]
    stopped = [e for e in entries if e.get("state") in ("failed", "blocked", "error")]
    open_ = [e for e in entries if e.get("state") != "succeeded"]
    if not open_:
        return None
    names = ", ".join(f"{e['index']} ({e['id']}: {e.get('state')})" for e in open_)
    error = _stopped_error(stopped, open_, names) if stopped else _running_error(open_, names)
    error.partial = document
    return error


def _stopped_error(stopped: list[dict[str, Any]], open_: list[dict[str, Any]], names: str) -> errors.MediagenError:
    """Shots failed or were blocked: name the first, and the --redo that regenerates them."""
    first = stopped[0]
    cls = errors.GenerationBlocked if first["state"] == "blocked" else errors.GenerationFailed
    redo = " ".join(f"--redo {e['index']}" for e in stopped if e["state"] != "error")
    billed = ", ".join(str(e["index"]) for e in stopped if e.get("maybe_billed"))
    return cls(
        f"the storyboard is not finished: shots {names}; shot {first['index']}: "
        f"{(first.get('error') or {}).get('message', first['state'])}"
        + (f"; shots {billed} may have been billed (their create may have reached Google)" if billed else ""),
        (f"Check your usage (AI Studio or the Cloud console) first: --redo sends shots {billed} again and they may "
         "then be billed twice. " if billed else "")
        + (f"Regenerate with {redo} --approve (only those shots and the ones after them are made again). "
           if redo else "") + "Rerun the same command to resume running jobs; finished shots are kept.",
        details={"shots": [{"index": e["index"], "state": e.get("state"), **_billed(e)} for e in open_]})


def _billed(entry: dict[str, Any]) -> dict[str, Any]:
    return {"maybe_billed": True} if entry.get("maybe_billed") else {}


def _running_error(open_: list[dict[str, Any]], names: str) -> errors.MediagenError:
    """Shots are still running (or not started in time): a rerun resumes them."""
    return errors.StillRunning(
        f"the storyboard is not finished: shots {names}",
        "Nothing is lost: rerun the same command to resume (recorded jobs are polled, never created again).",
        details={"jobs": [e.get("job_id") for e in open_ if e.get("job_id")]})


def run(board: Storyboard, options: RunOptions) -> dict[str, Any]:
    """Generate, stitch and report; raise (with the partial result attached) when shots are unfinished."""
    check_folder(board.folder, "storyboard folder")         # before the lock, which would create it
    with folder_lock(board.folder):
        Runner(board, options).run()
        finish(board)
    document = result_document(board)
    error = incomplete_error(board, document)
    if error is not None:
        raise error
    return document
