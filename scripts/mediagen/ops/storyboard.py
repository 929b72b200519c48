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

**Extensions: does the result contain the source?** Google's documents
disagree on whether a Veo/Omni extension returns the whole clip or only the
new segment (reference: gemini-omni-and-veo-status.md says "measure"). So it
is measured: after an ``extend`` shot finishes, ffprobe gives the durations
of the source clip (S) and of the result (R). With the shot's planned added
length D, if R is closer to S + D than to D the result contains the source,
and the film uses the extended clip *in place of* the source (never both, so
no footage is duplicated); otherwise both clips are joined in order. The
measurement is kept in the manifest (``extension``). The reference expects a
longer clip for Omni (and says the last frames of the input may be re-rendered
for a seamless join, one more reason to prefer the extended clip over source
plus segment); the test fake returns the whole clip for Veo and Omni alike.

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

**Settings**, highest first: command-line flags; for an extension, the source
clip's sidecar; the shot's own fields; the shot's preset; the shot list's
top-level fields; its preset; then the config file, environment and catalog
defaults as for ``video_gen.py``. Keyframes and generated references use the
shot list's ``image_model`` and the film's aspect ratio.

**Output folder**: ``shots/`` (clips and sidecars), ``keyframes/``,
``references/``, ``frames/`` (continuity frames and thumbnails), ``final.mp4``,
``manifest.json`` and ``index.html`` (``report_html``, self-contained).
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from mediagen.config.credentials import BackendChoice, choose_backend
from mediagen.config.presets import get_preset
from mediagen.config.settings import Layer, Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.files import atomic_write_text
from mediagen.core.resources import SCHEMAS_DIR
from mediagen.core.yamlfile import read_yaml
from mediagen.ops import frames, stitch
from mediagen.ops.images import ImagePlan, plan_images, run_images
from mediagen.ops.jobstore import JobStore, new_job_id, now_iso, store_for
from mediagen.ops.ledger import Ledger, ledger_for
from mediagen.ops.output import slug
from mediagen.ops.report_html import write_index
from mediagen.ops.videojobs import PollClock, submit, wait
from mediagen.ops.videos import (
    DEFAULT_OUTPUT_DIR,
    DEFAULT_WAIT_TIMEOUT_S,
    VideoPlan,
    plan_video,
)
from mediagen.transport.http import Transport

SCHEMA_PATH = SCHEMAS_DIR / "shotlist.schema.json"
MANIFEST_NAME = "manifest.json"
FINAL_NAME = "final.mp4"
DEFAULT_CONCURRENCY = 4
RESUMABLE = frozenset({"submitting", "running", "error"})     # a job exists: poll it, never create again
STOPPED = frozenset({"failed", "blocked"})                     # needs --redo
URI_PREFIXES = ("gs://", "http://", "https://", "data:")
SHOT_KEYS = ("backend", "model", "duration", "resolution", "aspect_ratio", "image", "references",
             "extend_video")
RUN_KEYS = ("backend", "project_id", "location", "model", "resolution", "aspect_ratio", "max_cost", "wait_timeout",
            "concurrency", "output_dir", "job_store", "ledger")


# -- the shot list ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """A reference image shared by shots: an existing file, or one to make from a prompt."""

    id: str
    kind: str
    path: str | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class Shot:
    """One shot as the shot list gives it (``index`` counts from 1)."""

    index: int
    id: str
    prompt: str
    duration: int
    transition: str
    camera: str | None = None
    references: tuple[str, ...] = ()
    image: str | None = None
    keyframe: str | None = None
    preset: str | None = None
    model: str | None = None
    resolution: str | None = None

    @property
    def stem(self) -> str:
        return f"{self.index:02d}-{self.id}"


@dataclass
class ShotList:
    """A validated shot list; input paths are resolved to absolute ones."""

    path: Path
    title: str
    shots: list[Shot]
    style: str | None = None
    top: dict[str, Any] = field(default_factory=dict)        # aspect_ratio, backend, preset, model, resolution
    image_model: str | None = None
    references: dict[str, Reference] = field(default_factory=dict)
    sha256: str = ""

    def chains(self) -> list[list[Shot]]:
        """Runs of shots that depend on each other: a cut shot and the continue/extend shots after it."""
        chains: list[list[Shot]] = []
        for shot in self.shots:
            if shot.transition == "cut" or not chains:
                chains.append([shot])
            else:
                chains[-1].append(shot)
        return chains

    def dependents(self, index: int) -> list[int]:
        """Shots whose footage depends on shot ``index`` (the continue/extend shots right after it)."""
        found = []
        for shot in self.shots[index:]:
            if shot.transition == "cut":
                break
            found.append(shot.index)
        return found

    def full_prompt(self, shot: Shot) -> str:
        return compose_prompt(self.style, shot.prompt, shot.camera)

    def fingerprint(self, shot: Shot) -> str:
        """A hash of everything that shapes a shot's footage (a change means it must be redone)."""
        refs = [(r, self.references[r].path or self.references[r].prompt, self.references[r].kind)
                for r in shot.references]
        doc = {"prompt": self.full_prompt(shot), "duration": shot.duration, "transition": shot.transition,
               "image": shot.image, "keyframe": shot.keyframe and compose_prompt(self.style, shot.keyframe),
               "references": refs, "preset": shot.preset, "model": shot.model, "resolution": shot.resolution,
               "top": self.top, "image_model": self.image_model}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def compose_prompt(style: str | None, text: str, camera: str | None = None) -> str:
    """``"<style>. <text>. Camera: <camera>."`` (style first, so every shot shares it)."""
    parts = [style, text, f"Camera: {camera}" if camera else None]
    return " ".join(_sentence(p) for p in parts if p and p.strip())


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text[-1] in ".!?" else text + "."


def load_shotlist(path: Path, cwd: Path) -> ShotList:
    """Read, schema-check and cross-check a shot list; errors name the file and the field."""
    raw = _read_yaml(path)
    problems = schema_problems(raw)
    if problems:
        raise errors.UsageError(f"shot list {path} is invalid: {problems[0]}",
                                f"Fix the named field (format: {SCHEMA_PATH.name} in scripts/mediagen/schemas/).",
                                details={"file": str(path), "problems": problems})
    base = path.resolve().parent
    refs = {r["id"]: _reference(r, cwd, base, path) for r in raw.get("references") or []}
    shots = [_shot(i, s, cwd, base, path) for i, s in enumerate(raw["shots"], start=1)]
    shotlist = ShotList(path=path, title=raw["title"], shots=shots, style=raw.get("style"),
                        top={k: raw[k] for k in ("aspect_ratio", "backend", "preset", "model", "resolution")
                             if raw.get(k)},
                        image_model=raw.get("image_model"), references=refs,
                        sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    _cross_check(shotlist)
    return shotlist


def _read_yaml(path: Path) -> Any:
    return read_yaml(path, error=errors.UsageError, what="shot list")


def schema_problems(data: Any) -> list[str]:
    """Every schema violation as ``"field/path: message"`` (empty when valid)."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    found = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}" for e in found]


def _reference(raw: dict[str, Any], cwd: Path, base: Path, path: Path) -> Reference:
    where = f"references/{raw['id']}"
    local = _resolve_input(raw["path"], cwd, base, path, where) if raw.get("path") else None
    return Reference(raw["id"], raw.get("kind", "asset"), local, raw.get("prompt"))


def _shot(index: int, raw: dict[str, Any], cwd: Path, base: Path, path: Path) -> Shot:
    image = _resolve_input(raw["image"], cwd, base, path, f"shots/{index}/image") if raw.get("image") else None
    return Shot(index=index, id=raw["id"], prompt=raw["prompt"], duration=int(raw["duration"]),
                transition=raw["transition"], camera=raw.get("camera"),
                references=tuple(raw.get("references") or ()), image=image, keyframe=raw.get("keyframe"),
                preset=raw.get("preset"), model=raw.get("model"), resolution=raw.get("resolution"))


def _resolve_input(text: str, cwd: Path, base: Path, path: Path, where: str) -> str:
    """URIs as given; a relative path against the working directory, then the shot list's folder."""
    if text.startswith(URI_PREFIXES):
        return text
    given = Path(text).expanduser()
    candidates = [given] if given.is_absolute() else [cwd / given, base / given]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate.resolve())
    raise errors.UsageError(f"shot list {path}: {where}: file {text} not found",
                            f"Looked in {' and '.join(str(c.parent) for c in candidates)}; fix the path.")


def _cross_check(shotlist: ShotList) -> None:
    """What the schema cannot say: unique ids, the first shot is a cut, inputs only where they fit."""
    where = f"shot list {shotlist.path}"
    seen: set[str] = set()
    for shot in shotlist.shots:
        if shot.id in seen:
            raise errors.UsageError(f"{where}: two shots have the id {shot.id}", "Give every shot its own id.")
        seen.add(shot.id)
        _check_shot(shotlist, shot, where)


def _check_shot(shotlist: ShotList, shot: Shot, where: str) -> None:
    """One shot's references exist, and its inputs fit its transition."""
    missing = [r for r in shot.references if r not in shotlist.references]
    if missing:
        raise errors.UsageError(f"{where}: shot {shot.id} names unknown reference {missing[0]}",
                                f"Define it under references: (known: {', '.join(shotlist.references) or 'none'}).")
    if shot.transition != "cut" and shot.index == 1:
        raise errors.UsageError(f"{where}: the first shot ({shot.id}) is '{shot.transition}', but there is "
                                "no previous shot", "Make the first shot a cut.")
    if shot.transition != "cut" and (shot.image or shot.keyframe):
        raise errors.UsageError(f"{where}: shot {shot.id} is '{shot.transition}', so its first frame comes "
                                "from the previous shot; it cannot also have image/keyframe",
                                "Drop image/keyframe, or make the shot a cut.")
    if shot.image and shot.keyframe:
        raise errors.UsageError(f"{where}: shot {shot.id} has both image and keyframe",
                                "Keep one: image (an existing file) or keyframe (a prompt).")


# -- the manifest ----------------------------------------------------------------------------

class Manifest:
    """``manifest.json``: the storyboard's state, saved atomically after every change (thread-safe)."""

    def __init__(self, folder: Path, data: dict[str, Any]) -> None:
        self.folder = folder
        self.path = folder / MANIFEST_NAME
        self.data = data
        self._lock = threading.RLock()

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST_NAME
        if not path.is_file():
            return cls(folder, {"version": 1, "created": now_iso(), "shots": [], "references": {}})
        try:
            return cls(folder, json.loads(path.read_text(encoding="utf-8")))
        except ValueError as exc:
            raise errors.ConfigError(f"the manifest {path} is damaged: {exc}",
                                     "Restore it, or use a new output folder (-o).") from exc

    def shot(self, shot_id: str) -> dict[str, Any]:
        with self._lock:
            return next((s for s in self.data["shots"] if s["id"] == shot_id), {})

    def update_shot(self, shot_id: str, **changes: Any) -> dict[str, Any]:
        with self._lock:
            entry = self.shot(shot_id)
            entry.update(changes)
            self.save()
            return dict(entry)

    def update(self, **changes: Any) -> None:
        with self._lock:
            self.data.update(changes)
            self.save()

    def save(self) -> None:
        with self._lock:
            self.data["updated"] = now_iso()
            self.folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps(self.data, indent=2, ensure_ascii=False, default=str) + "\n"
            atomic_write_text(self.path, text)

    def rel(self, path: Path | str) -> str:
        """A path inside the folder as a relative POSIX path (others stay absolute)."""
        path = Path(path).resolve()
        try:
            return path.relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return str(path)

    def abs(self, rel: str | None) -> Path | None:
        return None if not rel else (self.folder / rel).resolve()


# -- settings per shot ------------------------------------------------------------------------

def _values(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", [], ())}


def _preset_layer(name: str | None, backend: str) -> list[Layer]:
    if not name:
        return []
    preset = get_preset("video", name)
    return [Layer(f"preset:{preset.name}", preset.values_for(backend))]


def top_layers(shotlist: ShotList, backend: str) -> list[Layer]:
    """The shot list's own defaults, then its preset (below every shot's own values)."""
    return [Layer(f"shotlist:{shotlist.path}", dict(shotlist.top)), *_preset_layer(shotlist.top.get("preset"),
                                                                                  backend)]


def shot_settings(base: Settings, shotlist: ShotList, shot: Shot, backend: str, *, image: str | None = None,
                  references: list[str] | None = None, extend: str | None = None,
                  inherit: dict[str, Any] | None = None) -> Settings:
    """CLI > (extension) the source clip's settings > shot fields > shot preset > shot list > its preset."""
    own = _values(duration=shot.duration, model=shot.model, resolution=shot.resolution, image=image,
                  references=references, extend_video=extend)
    layers = [Layer(f"extends:shot {shot.index - 1}", inherit)] if inherit else []
    layers += [Layer(f"shotlist:{shotlist.path}#shots/{shot.index}", own), *_preset_layer(shot.preset, backend)]
    return base.with_layers(layers + top_layers(shotlist, backend))


def image_settings(base: Settings, shotlist: ShotList, aspect_ratio: str) -> Settings:
    """Keyframes and references: the shot list's image model, the film's aspect ratio, one image."""
    values = _values(model=shotlist.image_model, aspect_ratio=aspect_ratio, backend=shotlist.top.get("backend"))
    return base.with_layers([Layer(f"shotlist:{shotlist.path}", {**values, "count": 1})])


# -- planning and the budget ---------------------------------------------------------------------

@dataclass
class ShotEstimate:
    """A shot planned for pricing (nothing loaded or sent) and what this run will do with it."""

    shot: Shot
    plan: VideoPlan
    keyframe: ImagePlan | None
    clip_seconds: float
    action: str = "generate"         # generate | done | resume | stopped | waiting
    note: str | None = None

    @property
    def to_spend(self) -> float:
        if self.action != "generate":
            return 0.0
        return float(self.plan.estimate.usd or 0.0) + (self.keyframe_usd or 0.0)

    @property
    def keyframe_usd(self) -> float | None:
        return float(self.keyframe.estimate.usd or 0.0) if self.keyframe is not None else None

    def describe(self) -> dict[str, Any]:
        s = self.plan.settings
        doc = {"index": self.shot.index, "id": self.shot.id, "transition": self.shot.transition,
               "mode": self.plan.mode, "model": self.plan.model_id, "duration": int(s["duration"]),
               "resolution": s["resolution"], "aspect_ratio": s["aspect_ratio"],
               "estimate_usd": self.plan.estimate.usd, "action": self.action}
        if self.keyframe is not None:
            doc["keyframe_usd"] = self.keyframe_usd
        if self.note:
            doc["note"] = self.note
        return doc


@dataclass
class Bases:
    """Settings from the command line, config file and environment, before the shot list."""

    video: Settings
    image: Settings


class Storyboard:
    """A prepared storyboard: the shot list, its folder and manifest, and every shot planned and priced."""

    def __init__(self, shotlist: ShotList, folder: Path, bases: Bases, catalog: Any, console: Console,
                 redo: list[int]) -> None:
        self.shotlist = shotlist
        self.folder = folder
        self.bases = bases
        self.catalog = catalog
        self.console = console
        self.redo = redo
        self.manifest = Manifest.load(folder)
        top = bases.video.with_layers([Layer(f"shotlist:{shotlist.path}", dict(shotlist.top))])
        self.choice: BackendChoice = choose_backend(top, kind="video", require_credential=False)
        self.estimates: list[ShotEstimate] = []
        self.reference_plans: dict[str, ImagePlan] = {}

    # paths ------------------------------------------------------------------

    def frame_path(self, shot: Shot, what: str) -> Path:
        return self.folder / "frames" / f"{shot.stem}-{what}.png"

    def keyframe_target(self, shot: Shot) -> Path:
        return self.folder / "keyframes" / f"{shot.stem}.png"

    def reference_target(self, ref: Reference) -> Path:
        return self.folder / "references" / f"{ref.id}.png"

    def shot_target(self, shot: Shot) -> Path:
        return self.folder / "shots" / f"{shot.stem}.mp4"

    # planning ---------------------------------------------------------------

    def plan(self) -> None:
        """Price every shot (and keyframe/reference to make); validate against the catalog."""
        self._check_manifest()
        actions = self._actions()
        previous: ShotEstimate | None = None
        for shot in self.shotlist.shots:
            estimate = self._estimate(shot, previous)
            estimate.action, estimate.note = actions[shot.index]
            self.estimates.append(estimate)
            previous = estimate
        aspect = self.estimates[0].plan.settings["aspect_ratio"]
        for ref in self.shotlist.references.values():
            if ref.prompt and not self._reference_done(ref):
                settings = image_settings(self.bases.image, self.shotlist, aspect)
                self.reference_plans[ref.id] = plan_images(compose_prompt(self.shotlist.style, ref.prompt),
                                                           settings, self.catalog, self.console,
                                                           estimate_only=True)

    def _estimate(self, shot: Shot, previous: ShotEstimate | None) -> ShotEstimate:
        plan = self._plan_video(shot, self._planned_settings(shot, previous))
        seconds = float(plan.settings["duration"])
        if shot.transition == "extend" and previous is not None:
            self._check_extension(shot, plan, previous.clip_seconds)
            seconds += previous.clip_seconds
        return ShotEstimate(shot, plan, self._keyframe_plan(shot, plan), seconds)

    def _planned_settings(self, shot: Shot, previous: ShotEstimate | None) -> Settings:
        """A shot's settings with its inputs where the run will put them (they need not exist yet)."""
        inherit = extend = image = None
        if shot.transition == "extend" and previous is not None:
            extend = str(self.shot_target(previous.shot))
            inherit = _inherited(previous.plan)
        elif shot.transition == "continue":
            image = str(self.frame_path(shot, "first"))
        elif shot.keyframe:
            made = self.manifest.abs(self.manifest.shot(shot.id).get("keyframe"))
            image = str(made if self.keyframe_done(shot) else self.keyframe_target(shot))
        return shot_settings(self.bases.video, self.shotlist, shot, self.choice.backend,
                             image=image or shot.image, references=self.reference_specs(shot),
                             extend=extend, inherit=inherit)

    def _keyframe_plan(self, shot: Shot, plan: VideoPlan) -> ImagePlan | None:
        """The shot's keyframe still to make, priced (None when it has none or it is made)."""
        if not shot.keyframe or self.keyframe_done(shot):
            return None
        return plan_images(compose_prompt(self.shotlist.style, shot.keyframe),
                           image_settings(self.bases.image, self.shotlist, plan.settings["aspect_ratio"]),
                           self.catalog, self.console, estimate_only=True)

    def _plan_video(self, shot: Shot, settings: Settings) -> VideoPlan:
        try:
            return plan_video(self.shotlist.full_prompt(shot), settings, self.catalog, self.console,
                              estimate_only=True)
        except errors.MediagenError as exc:
            exc.message = f"shot {shot.index} ({shot.id}): {exc.message}"
            raise

    def _check_extension(self, shot: Shot, plan: VideoPlan, source_seconds: float) -> None:
        """The catalog's extension limits, with the source length the chain will have made by then."""
        problems = self.catalog.validate({**plan.request, "source_seconds": source_seconds})
        fatal = [p for p in problems if getattr(p, "severity", "error") == "error"]
        if fatal:
            raise errors.ValidationError(f"shot {shot.index} ({shot.id}): {fatal[0].message}",
                                         "; ".join(p.fix for p in fatal if p.fix) +
                                         " (or make the shot a 'continue' instead of an 'extend')",
                                         problems=fatal)

    def reference_specs(self, shot: Shot) -> list[str]:
        """``PATH:kind`` for each reference a shot names (generated ones at their place in the folder)."""
        specs = []
        for ref_id in shot.references:
            ref = self.shotlist.references[ref_id]
            made = self.manifest.abs((self.manifest.data.get("references") or {}).get(ref_id, {}).get("file"))
            path = ref.path or str(made or self.reference_target(ref))
            specs.append(f"{path}:{ref.kind}")
        return specs

    def _reference_done(self, ref: Reference) -> bool:
        entry = (self.manifest.data.get("references") or {}).get(ref.id) or {}
        made = self.manifest.abs(entry.get("file"))
        return bool(made and made.is_file() and entry.get("prompt") == ref.prompt)

    def keyframe_done(self, shot: Shot) -> bool:
        entry = self.manifest.shot(shot.id)
        made = self.manifest.abs(entry.get("keyframe"))
        return bool(made and made.is_file() and entry.get("keyframe_prompt") == shot.keyframe)

    # manifest vs shot list ---------------------------------------------------

    def _check_manifest(self) -> None:
        """Refuse shots whose text changed after they were generated (unless they are being redone)."""
        redo = self.redo_set()
        for shot in self.shotlist.shots:
            entry = self.manifest.shot(shot.id)
            if entry.get("job_id") and entry.get("fingerprint") != self.shotlist.fingerprint(shot) \
                    and shot.index not in redo:
                raise errors.UsageError(
                    f"shot {shot.index} ({shot.id}) changed since it was generated (manifest {self.manifest.path})",
                    f"Rerun with --redo {shot.index} to regenerate it (and the shots that continue from it), "
                    "restore its previous text, or use a new folder with -o.")

    def redo_set(self) -> set[int]:
        """The shots to regenerate: those asked for and the shots whose footage depends on them."""
        chosen: set[int] = set()
        for index in self.redo:
            chosen.add(index)
            chosen.update(self.shotlist.dependents(index))
        return chosen

    def _actions(self) -> dict[int, tuple[str, str | None]]:
        """What this run does with each shot, walking each chain in order."""
        redo, actions = self.redo_set(), {}
        for chain in self.shotlist.chains():
            blocked_by: int | None = None
            for shot in chain:
                if blocked_by is not None:
                    actions[shot.index] = ("waiting", f"waits for shot {blocked_by} (--redo {blocked_by})")
                    continue
                action = self._action(shot, shot.index in redo)
                if action == "stopped":
                    blocked_by = shot.index
                actions[shot.index] = (action, f"use --redo {shot.index}" if action == "stopped" else None)
        return actions

    def _action(self, shot: Shot, redo: bool) -> str:
        entry = self.manifest.shot(shot.id)
        state = entry.get("state")
        if redo or not entry:
            return "generate"
        made = self.manifest.abs(entry.get("file"))
        if state == "succeeded" and made and made.is_file():
            return "done"
        if state in RESUMABLE and entry.get("job_id"):
            return "resume"
        if state in STOPPED:
            return "stopped"
        return "generate"

    # the budget ---------------------------------------------------------------

    def budget(self) -> dict[str, Any]:
        """Per shot and in total: what the storyboard costs, and what this run will spend."""
        refs = [{"id": ref_id, "estimate_usd": plan.estimate.usd} for ref_id, plan in self.reference_plans.items()]
        items = [e.plan.estimate for e in self.estimates] + [e.keyframe.estimate for e in self.estimates
                                                            if e.keyframe is not None]
        items += [p.estimate for p in self.reference_plans.values()]
        to_spend = sum(e.to_spend for e in self.estimates) + sum(float(r["estimate_usd"] or 0) for r in refs)
        total = sum(float(e.plan.estimate.usd or 0) + (e.keyframe_usd or 0) for e in self.estimates)
        return {"shots": [e.describe() for e in self.estimates], "references": refs,
                "to_make": sum(e.action == "generate" for e in self.estimates) + len(refs),
                "to_spend_usd": round(to_spend, 6),
                "total_usd": round(total + sum(float(r["estimate_usd"] or 0) for r in refs), 6),
                "priced": all(item.priced for item in items),
                "as_of": sorted({item.as_of for item in items if item.as_of}),
                "seconds": sum(int(e.plan.settings["duration"]) for e in self.estimates)}

    def require_approval(self, budget: dict[str, Any], *, approve: bool, max_cost_flag: float | None) -> None:
        """Exit-9 refusal unless approved (``--approve``, or a ``--max-cost`` covering what this run spends)."""
        to_spend = budget["to_spend_usd"]
        covered = max_cost_flag is not None and budget["priced"] and to_spend <= max_cost_flag + 1e-9
        if approve or not budget["to_make"] or covered:
            return
        lines = [f"shot {s['index']} ({s['id']}): ${float(s['estimate_usd'] or 0):.2f} {s['action']}"
                 for s in budget["shots"]]
        error = errors.ApprovalRequired(
            f"this storyboard would spend ${to_spend:.2f} ({'; '.join(lines)}); nothing was sent",
            f"Check the budget, then rerun with --approve (or --max-cost {to_spend:.2f}). "
            "--estimate-cost shows it again; --dry-run shows the requests.",
            details={"to_spend_usd": to_spend, "max_cost": max_cost_flag})
        error.result = {**self.summary(), "budget": budget}        # type: ignore[attr-defined]
        raise error

    def dry_run_plans(self, transport: Transport) -> list[tuple[ShotEstimate, VideoPlan | None, str | None]]:
        """For each shot to make: its exact create request when its inputs exist now, else why not."""
        found = []
        for estimate in self.estimates:
            shot = estimate.shot
            if estimate.action != "generate":
                found.append((estimate, None, f"not sent this run ({estimate.action})"))
            elif shot.transition != "cut":
                source = "last frame" if shot.transition == "continue" else "extension"
                found.append((estimate, None, f"built at run time from shot {shot.index - 1}'s clip ({source})"))
            elif estimate.keyframe is not None or any(ref in self.reference_plans for ref in shot.references):
                found.append((estimate, None, "built at run time, after its keyframe/reference images are made"))
            else:
                settings = estimate.plan.settings
                plan = plan_video(self.shotlist.full_prompt(shot), settings, self.catalog, self.console,
                                  transport=transport)
                found.append((estimate, plan, None))
        return found

    def summary(self) -> dict[str, Any]:
        return {"title": self.shotlist.title, "folder": str(self.folder), "backend": self.choice.describe(),
                "manifest": str(self.manifest.path)}

    def show_defaults(self) -> dict[str, Any]:
        """Each effective setting and its source: the storyboard's, then each shot's."""
        settings = self.bases.video.with_layers(top_layers(self.shotlist, self.choice.backend))
        return {**self.summary(), "settings": settings.show(RUN_KEYS),
                "shots": [{"index": e.shot.index, "id": e.shot.id, "mode": e.plan.mode,
                           "settings": e.plan.settings.show(SHOT_KEYS)} for e in self.estimates]}


def _inherited(plan: VideoPlan) -> dict[str, Any]:
    """What an extension takes from its source clip's sidecar (mirrored before the clip exists)."""
    return {"model": plan.model_id, "resolution": plan.settings["resolution"],
            "aspect_ratio": plan.settings["aspect_ratio"], "backend": plan.choice.backend}


def prepare(shotlist_path: Path, bases: Bases, catalog: Any, console: Console, *, folder: str | None,
            redo: list[str], cwd: Path) -> Storyboard:
    """Load the shot list, find the folder and manifest, and plan and price every shot."""
    shotlist = load_shotlist(shotlist_path, cwd)
    output_dir = bases.video.get("output_dir") or DEFAULT_OUTPUT_DIR
    target = Path(folder).expanduser() if folder else cwd / output_dir / slug(shotlist.title)
    board = Storyboard(shotlist, target.resolve(), bases, catalog, console, _redo_indexes(shotlist, redo))
    board.plan()
    return board


def _redo_indexes(shotlist: ShotList, redo: list[str]) -> list[int]:
    """``--redo`` values (1-based numbers or shot ids) as shot numbers."""
    ids = {shot.id: shot.index for shot in shotlist.shots}
    indexes = []
    for value in redo:
        text = str(value).strip()
        if text in ids:
            indexes.append(ids[text])
        elif text.isdigit() and 1 <= int(text) <= len(shotlist.shots):
            indexes.append(int(text))
        else:
            raise errors.UsageError(f"--redo {value}: no such shot",
                                    f"Use a shot number 1-{len(shotlist.shots)} or an id ({', '.join(ids)}).")
    return indexes


# -- running -------------------------------------------------------------------------------------

@dataclass
class RunOptions:
    """How to run: parallel chains, the overall wait budget, and a transport per worker."""

    transport_factory: Callable[[], Transport]
    concurrency: int = DEFAULT_CONCURRENCY
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT_S
    clock: PollClock | None = None


class Runner:
    """Generates what the plan says, chain by chain, recording every step in the manifest."""

    def __init__(self, board: Storyboard, options: RunOptions) -> None:
        self.board = board
        self.options = options
        self.manifest = board.manifest
        self.console = board.console
        settings = board.bases.video.with_layers(top_layers(board.shotlist, board.choice.backend))
        self.settings = settings
        self.store: JobStore = store_for(settings)
        self.ledger: Ledger = ledger_for(settings)
        self.deadline = time.monotonic() + max(0.0, float(options.wait_timeout))

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def run(self) -> None:
        """References first (shots share them), then the chains, concurrently."""
        if any(e.action in ("generate", "resume") for e in self.board.estimates) or self.board.reference_plans:
            choose_backend(self.settings, kind="video")      # no credential: stop now, not shot by shot
        self._sync_manifest()
        self._make_references()
        chains = self.board.shotlist.chains()
        workers = max(1, min(int(self.options.concurrency), len(chains)))
        if workers == 1:
            for chain in chains:
                self._chain(chain)
            return
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(self._chain, chain) for chain in chains]:
                future.result()

    # manifest set-up --------------------------------------------------------

    def _sync_manifest(self) -> None:
        """Entries in shot-list order (new shots pending, removed ones dropped), redone shots reset."""
        board, data = self.board, self.manifest.data
        known = {s["id"]: s for s in data.get("shots", [])}
        redo = board.redo_set()
        shots = [self._synced_entry(estimate, known, redo) for estimate in board.estimates]
        dropped = sorted(set(known) - {s.id for s in board.shotlist.shots})
        if dropped:
            self.console.warn(f"shots no longer in the shot list were dropped from the manifest: {', '.join(dropped)}")
        data.update({"title": board.shotlist.title, "style": board.shotlist.style,
                     "aspect_ratio": board.estimates[0].plan.settings["aspect_ratio"],
                     "shotlist": str(board.shotlist.path.resolve()), "shotlist_sha256": board.shotlist.sha256,
                     "backend": board.choice.backend, "shots": shots})
        data.setdefault("references", {})
        self.manifest.save()

    def _synced_entry(self, estimate: ShotEstimate, known: dict[str, dict[str, Any]],
                      redo: set[int]) -> dict[str, Any]:
        """A shot's manifest entry for this run: kept, new (pending), or reset when it is redone."""
        shot = estimate.shot
        entry = known.get(shot.id) or {"state": "pending", "previous_jobs": []}
        if shot.index in redo:
            if entry.get("state") in RESUMABLE and entry.get("job_id"):
                self.console.warn(f"shot {shot.index}: its job {entry['job_id']} may still be running and is "
                                  f"abandoned (scripts/jobs.py cancel {entry['job_id']} stops it)")
            entry = _reset(entry)
        entry.update(_static_fields(self.board, estimate))
        return entry

    # references and keyframes ---------------------------------------------

    def _make_references(self) -> None:
        for ref_id, plan in self.board.reference_plans.items():
            ref = self.board.shotlist.references[ref_id]
            try:
                made = self._make_image(ref.prompt or "", plan.settings, self.board.reference_target(ref))
            except errors.MediagenError as exc:
                exc.message = f"reference {ref_id}: {exc.message}"
                raise
            self.manifest.data["references"][ref_id] = {"prompt": ref.prompt, "file": self.manifest.rel(made["path"]),
                                                       "cost": {"estimate_usd": plan.estimate.usd,
                                                                "actual_usd": made["cost"]}}
            self.manifest.save()

    def _make_image(self, text: str, settings: Settings, target: Path) -> dict[str, Any]:
        """One image (keyframe or reference) through the images module, saved at ``target``."""
        prompt = compose_prompt(self.board.shotlist.style, text)
        transport = self.options.transport_factory()
        plan = plan_images(prompt, settings, self.board.catalog, self.console, transport=transport)
        done = run_images(plan, self.options.transport_factory, self.console, output_target=str(target))
        return {"path": done["images"][0]["path"], "cost": (done.get("cost") or {}).get("actual_usd")}

    def _keyframe(self, estimate: ShotEstimate) -> str:
        shot, board = estimate.shot, self.board
        entry = self.manifest.shot(shot.id)
        if board.keyframe_done(shot):
            return str(self.manifest.abs(entry["keyframe"]))
        settings = image_settings(board.bases.image, board.shotlist, estimate.plan.settings["aspect_ratio"])
        self.manifest.update_shot(shot.id, state="keyframe")
        made = self._make_image(shot.keyframe or "", settings, board.keyframe_target(shot))
        est = estimate.keyframe.estimate.usd if estimate.keyframe is not None else None
        self.manifest.update_shot(shot.id, keyframe=self.manifest.rel(made["path"]), keyframe_prompt=shot.keyframe,
                                  keyframe_cost={"estimate_usd": est, "actual_usd": made["cost"]})
        return made["path"]

    # chains and shots ---------------------------------------------------------

    def _chain(self, chain: list[Shot]) -> None:
        """Shots of one chain in order; a shot that does not succeed stops the rest of its chain."""
        previous: dict[str, Any] | None = None
        for shot in chain:
            if previous is not None and previous.get("state") != "succeeded":
                self.manifest.update_shot(shot.id, state="pending", note=f"waits for shot {shot.index - 1}")
                continue
            previous = self._shot(self.board.estimates[shot.index - 1], previous)

    def _shot(self, estimate: ShotEstimate, previous: dict[str, Any] | None) -> dict[str, Any]:
        shot = estimate.shot
        entry = self.manifest.shot(shot.id)
        if estimate.action in ("done", "stopped"):
            return entry
        transport = self.options.transport_factory()
        try:
            outcome = self._outcome(estimate, entry, previous, transport)
        except errors.ConfigError:
            raise                    # credentials or configuration: not this shot's fault, stop the run
        except errors.MediagenError as exc:
            return self._record_failure(shot, exc)
        if outcome is None:
            return self.manifest.shot(shot.id)
        return self._record_success(shot, previous, outcome)

    def _outcome(self, estimate: ShotEstimate, entry: dict[str, Any], previous: dict[str, Any] | None,
                 transport: Transport) -> dict[str, Any] | None:
        """Resume the shot's recorded job, or start one (None: not started, the wait budget ran out)."""
        if entry.get("job_id") and entry.get("state") in RESUMABLE:
            outcome = self._resume(estimate.shot, entry, transport)
            if outcome is not None:
                return outcome
            # the create was never sent: start the shot after all
        return self._start(estimate, previous, transport)

    def _resume(self, shot: Shot, entry: dict[str, Any], transport: Transport) -> dict[str, Any] | None:
        """Poll the recorded job (no new create request); None when it was never sent."""
        job_id = entry["job_id"]
        try:
            self.store.get(job_id)
        except errors.UsageError:
            if entry.get("state") == "submitting":
                return None
            raise
        self.console.info(f"shot {shot.index} ({shot.id}): resuming job {job_id}")
        self.manifest.update_shot(shot.id, state="running")
        return wait(job_id, self.store, self.settings, transport, self.console, timeout_s=self.remaining(),
                    clock=self.options.clock, ledger=self.ledger)

    def _start(self, estimate: ShotEstimate, previous: dict[str, Any] | None,
               transport: Transport) -> dict[str, Any] | None:
        """Inputs (keyframe, continuity frame, clip to extend), then plan, record, submit and wait."""
        shot = estimate.shot
        if self.remaining() <= 0:
            self.manifest.update_shot(shot.id, state="pending", note="not started: --wait-timeout reached")
            return None
        plan = self._run_plan(estimate, previous, transport)
        job_id = new_job_id()
        self._record_submitting(shot, plan, job_id)
        record = submit(plan, self.store, self.ledger, transport, self.console,
                        output_target=str(self.board.shot_target(shot)), job_id=job_id)
        self.manifest.update_shot(shot.id, state="running")
        initial = record.pop("_initial", None)
        return wait(job_id, self.store, plan.settings, transport, self.console, timeout_s=self.remaining(),
                    clock=self.options.clock, initial=initial, ledger=self.ledger)

    def _record_submitting(self, shot: Shot, plan: VideoPlan, job_id: str) -> None:
        """The new job id goes into the manifest before the create request is sent."""
        entry = self.manifest.shot(shot.id)
        if entry.get("job_id"):                # e.g. the clip was deleted: keep the old job on record
            history = [*(entry.get("previous_jobs") or []), {"job_id": entry["job_id"], "state": entry.get("state"),
                                                           "file": entry.get("file")}]
            self.manifest.update_shot(shot.id, previous_jobs=history, file=None)
        self.manifest.update_shot(shot.id, state="submitting", job_id=job_id, mode=plan.mode, model=plan.model_id,
                                  first_frame=self._first_frame_rel(plan), note=None, error=None,
                                  cost={"estimate_usd": plan.estimate.usd, "actual_usd": None})

    def _run_plan(self, estimate: ShotEstimate, previous: dict[str, Any] | None, transport: Transport) -> VideoPlan:
        """The shot's real plan, with its inputs loaded (this is where continuity frames are made)."""
        shot, board = estimate.shot, self.board
        image = shot.image
        extend = inherit = None
        if shot.keyframe:
            image = self._keyframe(estimate)
        elif shot.transition == "continue" and previous is not None:
            source = self.manifest.abs(previous["file"])
            image = str(frames.last_frame(source, board.frame_path(shot, "first")))
        elif shot.transition == "extend" and previous is not None:
            extend = str(self.manifest.abs(previous["file"]))
            inherit = _inherited(board.estimates[shot.index - 2].plan)
        settings = shot_settings(board.bases.video, board.shotlist, shot, board.choice.backend, image=image,
                                 references=board.reference_specs(shot), extend=extend, inherit=inherit)
        return plan_video(board.shotlist.full_prompt(shot), settings, board.catalog, self.console,
                          transport=transport)

    def _first_frame_rel(self, plan: VideoPlan) -> str | None:
        image = plan.settings.get("image")
        return self.manifest.rel(image) if image and not str(image).startswith(URI_PREFIXES) else image

    # outcomes -------------------------------------------------------------------

    def _record_success(self, shot: Shot, previous: dict[str, Any] | None,
                        outcome: dict[str, Any]) -> dict[str, Any]:
        video = outcome["videos"][0]
        path = Path(video["path"])
        changes: dict[str, Any] = {"state": "succeeded", "file": self.manifest.rel(path),
                                   "duration_s": video.get("duration_s") or frames.duration_or_none(path),
                                   "error": None,
                                   "note": None, "thumbnail": None,
                                   "cost": {**(self.manifest.shot(shot.id).get("cost") or {}),
                                            "estimate_usd": (outcome.get("cost") or {}).get("estimate_usd"),
                                            "actual_usd": (outcome.get("cost") or {}).get("actual_usd")}}
        if shot.transition == "extend" and previous is not None:
            changes["extension"] = measure_extension(self.manifest.abs(previous["file"]), path,
                                                     float(self.board.estimates[shot.index - 1]
                                                           .plan.settings["duration"]))
        self.console.info(f"shot {shot.index} ({shot.id}): done ({changes['duration_s']} s)")
        return self.manifest.update_shot(shot.id, **changes)

    def _record_failure(self, shot: Shot, exc: errors.MediagenError) -> dict[str, Any]:
        entry = self.manifest.shot(shot.id)
        state = _state_for(exc, has_job=bool(entry.get("job_id")) and entry.get("state") != "submitting")
        if isinstance(exc, errors.StillRunning):
            self.console.info(f"shot {shot.index} ({shot.id}): still running; rerun to resume")
            return self.manifest.update_shot(shot.id, state=state, note="still running: rerun to resume")
        self.console.warn(f"shot {shot.index} ({shot.id}) {state}: {exc.message}")
        note = None
        if entry.get("job_id") and self._job_state(entry["job_id"]) == "unknown":
            note = ("the create request may have reached Google (it timed out or failed with a 5xx): check the "
                    "usage in the console before --redo, which sends a new one")
        return self.manifest.update_shot(shot.id, state=state, error=exc.to_dict(), note=note)

    def _job_state(self, job_id: str) -> str | None:
        try:
            return self.store.get(job_id).get("state")
        except errors.MediagenError:
            return None


def _state_for(exc: errors.MediagenError, *, has_job: bool) -> str:
    """The manifest state an exception leaves a shot in."""
    if isinstance(exc, errors.StillRunning):
        return "running"
    if isinstance(exc, errors.GenerationBlocked):
        return "blocked"
    if isinstance(exc, errors.GenerationFailed) or not has_job:
        return "failed"
    return "error"            # a poll or download failed: the job may be fine, a rerun polls it again


def _reset(entry: dict[str, Any]) -> dict[str, Any]:
    """A redone shot: its old job moves to ``previous_jobs``, its results are forgotten."""
    history = list(entry.get("previous_jobs") or [])
    if entry.get("job_id"):
        history.append({"job_id": entry["job_id"], "state": entry.get("state"), "file": entry.get("file")})
    keep = {k: entry[k] for k in ("keyframe", "keyframe_prompt", "keyframe_cost") if k in entry}
    return {"state": "pending", "previous_jobs": history, **keep}


def _static_fields(board: Storyboard, estimate: ShotEstimate) -> dict[str, Any]:
    shot = estimate.shot
    return {"index": shot.index, "id": shot.id, "prompt": shot.prompt, "full_prompt": board.shotlist.full_prompt(shot),
            "transition": shot.transition, "camera": shot.camera, "duration": shot.duration,
            "fingerprint": board.shotlist.fingerprint(shot), "planned_estimate_usd": estimate.plan.estimate.usd}


def measure_extension(source: Path | None, result: Path, added_s: float) -> dict[str, Any]:
    """Does an extension's result contain its source? Decided by duration (see the module docstring)."""
    source_s = frames.duration_or_none(source) if source is not None else None
    result_s = frames.duration_or_none(result)
    if source_s is None or result_s is None:
        return {"source_s": source_s, "result_s": result_s, "contains_source": True, "measured": False}
    contains = abs(result_s - (source_s + added_s)) < abs(result_s - added_s)
    return {"source_s": source_s, "result_s": result_s, "added_s": round(result_s - source_s, 3) if contains
            else result_s, "contains_source": contains, "measured": True}


# -- finishing: thumbnails, the film, the page ----------------------------------------------------

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


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """One run per storyboard folder at a time (two would submit the same shots twice)."""
    from filelock import FileLock, Timeout

    folder.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(folder / ".storyboard.lock"), timeout=0):
            yield
    except Timeout as exc:
        raise errors.UsageError(f"another storyboard.py run is working in {folder}",
                                "Wait for it to finish (or stop it), then rerun; nothing is lost.") from exc


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
    error.result = document          # type: ignore[attr-defined]
    return error


def _stopped_error(stopped: list[dict[str, Any]], open_: list[dict[str, Any]], names: str) -> errors.MediagenError:
    """Shots failed or were blocked: name the first, and the --redo that regenerates them."""
    first = stopped[0]
    cls = errors.GenerationBlocked if first["state"] == "blocked" else errors.GenerationFailed
    redo = " ".join(f"--redo {e['index']}" for e in stopped if e["state"] != "error")
    return cls(
        f"the storyboard is not finished: shots {names}; shot {first['index']}: "
        f"{(first.get('error') or {}).get('message', first['state'])}",
        (f"Regenerate with {redo} --approve (only those shots and the ones after them are made again). "
         if redo else "") + "Rerun the same command to resume running jobs; finished shots are kept.",
        details={"shots": [{"index": e["index"], "state": e.get("state")} for e in open_]})


def _running_error(open_: list[dict[str, Any]], names: str) -> errors.MediagenError:
    """Shots are still running (or not started in time): a rerun resumes them."""
    return errors.StillRunning(
        f"the storyboard is not finished: shots {names}",
        "Nothing is lost: rerun the same command to resume (recorded jobs are polled, never created again).",
        details={"jobs": [e.get("job_id") for e in open_ if e.get("job_id")]})


def run(board: Storyboard, options: RunOptions) -> dict[str, Any]:
    """Generate, stitch and report; raise (with the partial result attached) when shots are unfinished."""
    with _folder_lock(board.folder):
        Runner(board, options).run()
        finish(board)
    document = result_document(board)
    error = incomplete_error(board, document)
    if error is not None:
        raise error
    return document
