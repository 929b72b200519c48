"""Multi-shot videos from a shot list: validate and price every shot, generate in order, stitch.

The shot list (YAML, ``schemas/shotlist.schema.json``) names a title, style
notes shared by all shots, optional references, and the shots. Each shot has
its own prompt (the style notes are put in front of it, and its camera note
after it as "Camera: ..."), a duration and a transition:

* ``cut``: an independent clip (text, a given ``image``, or a ``keyframe``
  made first with the image model and used as the first frame);
* ``continue``: the first frame is the previous shot's last frame, extracted
  with ffmpeg (``frames.last_frame``) into ``frames/NN-ID-first.png``;
* ``extend``: the previous shot's clip is extended (Veo extension or an Omni
  continuation) with this shot's own prompt. As with ``video_gen.py
  --extend-video``, the source clip's sidecar supplies the model, resolution,
  aspect ratio and backend of an extension.

**Flow.** ``prepare`` loads and validates the shot list, then plans every shot
with ``videos.plan_video(estimate_only=True)`` (and every keyframe with
``images.plan_images``): nothing is loaded or sent, but every shot is checked
against the catalog and priced. Shots already finished in the manifest cost
nothing. The caller shows the budget and stops unless approved. ``run`` then
makes generated references, and works through *chains* (a ``cut`` shot and
the ``continue``/``extend`` shots after it): chains are independent and run
concurrently (bounded by ``concurrency``); shots inside a chain run in order.
Whether an extension's result contains its source clip is measured (see
``running``).

**Stitching.** ``stitch.concat`` joins the film's segments into ``final.mp4``:
a stream copy when all clips agree, else a re-encode to the first clip's
size and frame rate with 48 kHz stereo audio, adding silence for clips
without audio.

**Resuming.** The manifest (``manifest.json`` in the storyboard folder)
records every shot's job id *before* its create request is sent, then its
state, file, duration and cost. Running the same command again skips
finished shots, polls recorded jobs with ``videojobs.wait`` (never a new create
request), leaves failed or blocked shots alone, and re-stitches only when a
segment changed. ``--redo N`` (``redo``) regenerates shot N, and the shots that
continue or extend it (their footage depends on it). A shot whose text changed
since it was generated is refused until it is redone. One run at a time
works in a folder (a lock file), and a missing credential stops the run before
any shot is touched.

**Settings** come in layers, from the command line down to the catalog
defaults (the order is in ``layers``).

**Output folder**: ``shots/`` (clips and sidecars), ``keyframes/``,
``references/``, ``frames/`` (continuity frames and thumbnails), ``final.mp4``,
``manifest.json`` and ``index.html`` (``contact_sheet``, self-contained).

The modules, in the order a run uses them: ``shotlist`` (the shot list),
``manifest`` (the state on disk and the folder lock), ``layers`` (settings per
shot), ``planning`` (``Storyboard``: plans, actions and the budget),
``running`` (``Runner``), ``finishing`` (thumbnails, the film, costs, the
result and ``run``), ``stitch`` (ffmpeg concat) and ``contact_sheet``
(``index.html``).
"""
from __future__ import annotations

from mediagen.ops.storyboard.finishing import (
    FINAL_NAME,
    film_segments,
    finish,
    incomplete_error,
    result_document,
    run,
)
from mediagen.ops.storyboard.layers import image_settings, shot_settings, top_layers
from mediagen.ops.storyboard.manifest import MANIFEST_NAME, RESUMABLE, STOPPED, Manifest
from mediagen.ops.storyboard.planning import RUN_KEYS, SHOT_KEYS, Bases, ShotEstimate, Storyboard, prepare
from mediagen.ops.storyboard.running import DEFAULT_CONCURRENCY, Runner, RunOptions, measure_extension
from mediagen.ops.storyboard.shotlist import (
    SCHEMA_PATH,
    URI_PREFIXES,
    Reference,
    Shot,
    ShotList,
    compose_prompt,
    load_shotlist,
    schema_problems,
)

__all__ = [
    "DEFAULT_CONCURRENCY", "FINAL_NAME", "MANIFEST_NAME", "RESUMABLE", "RUN_KEYS", "SCHEMA_PATH", "SHOT_KEYS",
    "STOPPED", "URI_PREFIXES", "Bases", "Manifest", "Reference", "RunOptions", "Runner", "Shot", "ShotEstimate",
    "ShotList", "Storyboard", "compose_prompt", "film_segments", "finish", "image_settings", "incomplete_error",
    "load_shotlist", "measure_extension", "prepare", "result_document", "run", "schema_problems", "shot_settings",
    "top_layers",
]
