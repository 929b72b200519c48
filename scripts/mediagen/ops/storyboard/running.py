"""Running a prepared storyboard: references, then the chains of shots, every step recorded in the manifest.

Chains (a ``cut`` shot and the ``continue``/``extend`` shots after it) are
independent and run concurrently (bounded by ``concurrency``); shots inside a
chain run in order, and a shot that does not succeed stops the rest of its
chain.

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
"""
from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from mediagen.config.credentials import choose_backend
from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.resources import script_command
from mediagen.ops import frames
from mediagen.ops.images import plan_images, run_images
from mediagen.ops.jobstore import JobStore, new_job_id, store_for
from mediagen.ops.ledger import Ledger, ledger_for
from mediagen.ops.lro import Clock
from mediagen.ops.storyboard.layers import image_settings, inherited, shot_settings, top_layers
from mediagen.ops.storyboard.manifest import RESUMABLE
from mediagen.ops.storyboard.planning import ShotEstimate, Storyboard
from mediagen.ops.storyboard.shotlist import URI_PREFIXES, Shot, compose_prompt
from mediagen.ops.videojobs import submit, wait
from mediagen.ops.videos import DEFAULT_WAIT_TIMEOUT_S, VideoPlan, plan_video
from mediagen.transport.http import Transport

DEFAULT_CONCURRENCY = 4


@dataclass
class RunOptions:
    """How to run: parallel chains, the overall wait budget, and a transport per worker."""

    transport_factory: Callable[[], Transport]
    concurrency: int = DEFAULT_CONCURRENCY
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT_S
    clock: Clock | None = None


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
        """Seconds left of the run's overall wait budget."""
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
                                  f"abandoned ({script_command('jobs.py', 'cancel', entry['job_id'])} stops it)")
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
        submitted = submit(plan, self.store, self.ledger, transport, self.console,
                           output_target=str(self.board.shot_target(shot)), job_id=job_id)
        self.manifest.update_shot(shot.id, state="running")
        return wait(job_id, self.store, plan.settings, transport, self.console, timeout_s=self.remaining(),
                    clock=self.options.clock, initial=submitted.initial, ledger=self.ledger)

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
            inherit = inherited(board.estimates[shot.index - 2].plan)
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
        billed = bool(entry.get("job_id")) and self._job_state(entry["job_id"]) == "unknown"
        if billed:
            note = ("the create request may have reached Google (it timed out or failed with a 5xx): check the "
                    "usage in the console before --redo, which sends a new one")
        return self.manifest.update_shot(shot.id, state=state, error=exc.to_dict(), note=note, maybe_billed=billed)

    def _job_state(self, job_id: str) -> str | None:
        try:
            return self.store.get(job_id).state
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
