"""Planning and the budget: every shot planned and priced before anything is sent.

``prepare`` loads the shot list, finds the folder and its manifest, and plans
every shot with ``videos.plan_video(estimate_only=True)`` (and every keyframe
and generated reference with ``images.plan_images``): nothing is loaded or
sent. The manifest decides what this run does with each shot (generate, done,
resume, stopped, waiting); ``--redo`` shots and the shots after them in their
chain are made again.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediagen.catalog import worst_usd
from mediagen.config.credentials import BackendChoice, choose_backend
from mediagen.config.settings import Layer, Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.ops.images import ImagePlan, plan_images
from mediagen.ops.output import slug
from mediagen.ops.storyboard.layers import image_settings, inherited, shot_settings, top_layers
from mediagen.ops.storyboard.manifest import RESUMABLE, STOPPED, Manifest
from mediagen.ops.storyboard.shotlist import (KEYFRAME_FIELDS, Reference, Shot, ShotList, compose_prompt,
                                             in_shotlist_terms, load_shotlist)
from mediagen.ops.videos import DEFAULT_OUTPUT_DIR, VideoPlan, plan_video
from mediagen.transport.http import Transport

SHOT_KEYS = ("backend", "model", "duration", "resolution", "aspect_ratio", "image", "references",
             "extend_video")
RUN_KEYS = ("backend", "project_id", "location", "model", "resolution", "aspect_ratio", "max_cost", "wait_timeout",
            "concurrency", "output_dir", "job_store", "ledger")


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
        """What this run spends on the shot (nothing unless it is generated)."""
        if self.action != "generate":
            return 0.0
        return float(self.plan.estimate.usd or 0.0) + (self.keyframe_usd or 0.0)

    @property
    def max_to_spend(self) -> float:
        """The worst case of ``to_spend`` (uncertain billing priced at its maximum)."""
        if self.action != "generate":
            return 0.0
        return worst_usd(self.plan.estimate) + (worst_usd(self.keyframe.estimate) if self.keyframe else 0.0)

    @property
    def keyframe_usd(self) -> float | None:
        """The keyframe's estimate (None when there is no keyframe to make)."""
        return float(self.keyframe.estimate.usd or 0.0) if self.keyframe is not None else None

    def describe(self) -> dict[str, Any]:
        """The shot's line in the budget."""
        s = self.plan.settings
        doc = {"index": self.shot.index, "id": self.shot.id, "transition": self.shot.transition,
               "mode": self.plan.mode, "model": self.plan.model_id, "duration": int(s["duration"]),
               "resolution": s["resolution"], "aspect_ratio": s["aspect_ratio"],
               "estimate_usd": self.plan.estimate.usd, "action": self.action}
        if worst_usd(self.plan.estimate) > float(self.plan.estimate.usd or 0.0):
            doc["max_usd"] = worst_usd(self.plan.estimate)
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
        """A frame image of the shot (``what``: ``first``, ...) under ``frames/``."""
        return self.folder / "frames" / f"{shot.stem}-{what}.png"

    def keyframe_target(self, shot: Shot) -> Path:
        """Where the shot's keyframe image is made."""
        return self.folder / "keyframes" / f"{shot.stem}.png"

    def reference_target(self, ref: Reference) -> Path:
        """Where a generated reference image is made."""
        return self.folder / "references" / f"{ref.id}.png"

    def shot_target(self, shot: Shot) -> Path:
        """Where the shot's clip is saved."""
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
            # Priced with the source the chain will have made, so the worst case counts the whole clip.
            source = plan.request.get("source_seconds") or previous.clip_seconds
            plan.estimate = self.catalog.estimate({**plan.request, "source_seconds": source})
        return ShotEstimate(shot, plan, self._keyframe_plan(shot, plan), seconds)

    def _planned_settings(self, shot: Shot, previous: ShotEstimate | None) -> Settings:
        """A shot's settings with its inputs where the run will put them (they need not exist yet)."""
        inherit = extend = image = None
        if shot.transition == "extend" and previous is not None:
            extend = str(self.shot_target(previous.shot))
            inherit = inherited(previous.plan)
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
        try:
            return plan_images(compose_prompt(self.shotlist.style, shot.keyframe),
                               image_settings(self.bases.image, self.shotlist, plan.settings["aspect_ratio"]),
                               self.catalog, self.console, estimate_only=True)
        except errors.MediagenError as exc:
            exc.message = f"shot {shot.index} ({shot.id}) keyframe: {exc.message}"
            in_shotlist_terms(exc, shot, KEYFRAME_FIELDS)
            raise

    def _plan_video(self, shot: Shot, settings: Settings) -> VideoPlan:
        try:
            return plan_video(self.shotlist.full_prompt(shot), settings, self.catalog, self.console,
                              estimate_only=True)
        except errors.MediagenError as exc:
            exc.message = f"shot {shot.index} ({shot.id}): {exc.message}"
            in_shotlist_terms(exc, shot)
            raise

    def _check_extension(self, shot: Shot, plan: VideoPlan, source_seconds: float) -> None:
        """The catalog's extension limits, with the source length the chain will have made by then."""
        problems = self.catalog.validate({**plan.request, "source_seconds": source_seconds})
        fatal = [p for p in problems if getattr(p, "severity", "error") == "error"]
        if fatal:
            error = errors.ValidationError(f"shot {shot.index} ({shot.id}): {fatal[0].message}",
                                           "; ".join(p.fix for p in fatal if p.fix) +
                                           " (or make the shot a 'continue' instead of an 'extend')",
                                           problems=fatal)
            in_shotlist_terms(error, shot)
            raise error

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
        """True when the shot's keyframe exists and was made from its current prompt."""
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
        worst = sum(e.max_to_spend for e in self.estimates) + sum(worst_usd(p.estimate)
                                                                  for p in self.reference_plans.values())
        return {"shots": [e.describe() for e in self.estimates], "references": refs,
                "to_make": sum(e.action == "generate" for e in self.estimates) + len(refs),
                "to_spend_usd": round(to_spend, 6), "max_to_spend_usd": round(worst, 6),
                "total_usd": round(total + sum(float(r["estimate_usd"] or 0) for r in refs), 6),
                "priced": all(item.priced for item in items),
                "as_of": sorted({item.as_of for item in items if item.as_of}),
                "seconds": sum(int(e.plan.settings["duration"]) for e in self.estimates)}

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
        """The fields every storyboard result starts with."""
        return {"title": self.shotlist.title, "folder": str(self.folder), "backend": self.choice.describe(),
                "manifest": str(self.manifest.path)}

    def show_defaults(self) -> dict[str, Any]:
        """Each effective setting and its source: the storyboard's, then each shot's."""
        settings = self.bases.video.with_layers(top_layers(self.shotlist, self.choice.backend))
        return {**self.summary(), "settings": settings.show(RUN_KEYS),
                "shots": [{"index": e.shot.index, "id": e.shot.id, "mode": e.plan.mode,
                           "settings": e.plan.settings.show(SHOT_KEYS)} for e in self.estimates]}


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
