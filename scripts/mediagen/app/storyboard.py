"""Use case: a multi-shot video from a shot list (``storyboard.py``; MCP ``start_storyboard``).

Every shot is checked and priced first; the gate then needs approval
(``--approve``, or a cap given with the request that covers the budget)
before anything is sent. Everything is recorded in the folder's manifest, so
running the same request again resumes it without paying twice.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mediagen.app.context import Context
from mediagen.app.gate import Budget, gate
from mediagen.app.generation import cap_of, check_local_tools, describe_requests, resolve, warn_if_over_cap
from mediagen.app.outcome import Outcome, Prepared, SavedFile, completed, require_positive
from mediagen.app.requests import ShotListRequest
from mediagen.app.runtime import load_catalog, make_transport
from mediagen.config.credentials import placeholder_headers
from mediagen.ops.storyboard import DEFAULT_CONCURRENCY, Bases, RunOptions, Storyboard, prepare, run
from mediagen.ops.videos import DEFAULT_WAIT_TIMEOUT_S

PURPOSE = "a storyboard (continuity frames, stitching the film, the contact sheet)"


def run_storyboard(request: ShotListRequest, ctx: Context) -> Outcome:
    """Plan and price every shot, gate the budget, then run the storyboard (or stop at a free outcome)."""
    return completed(prepare_storyboard(request, ctx))


def prepare_storyboard(request: ShotListRequest, ctx: Context) -> Outcome | Prepared:
    """Everything before the first paid request: the plan, the budget, the gate (or a free outcome)."""
    require_positive(request.concurrency, "concurrency", "--concurrency")
    bases = Bases(*(resolve(request, ctx, kind) for kind in ("video", "image")))
    board = prepare(Path(request.shotlist).expanduser(), bases, load_catalog(ctx.env), ctx.console,
                    folder=request.output, redo=list(request.redo or []), cwd=ctx.cwd)
    if request.show_defaults:
        return Outcome(board.show_defaults())
    budget = board.budget()
    free = bool(request.estimate_cost or request.dry_run)
    check_local_tools(PURPOSE, ctx, free=free, partial={**board.summary(), "budget": budget})
    if request.estimate_cost:
        return Outcome({**board.summary(), "budget": budget})
    gate(_budget(budget), cap_of(bases.video), approval_needed=bool(budget["to_make"]), approved=request.approve,
         spending=not request.dry_run, partial={**board.summary(), "budget": budget})
    if request.dry_run:
        return Outcome(_dry_run(board, budget, ctx))
    settings = bases.video
    options = RunOptions(transport_factory=lambda: make_transport(settings, ctx.console),
                         concurrency=int(settings.get("concurrency") or DEFAULT_CONCURRENCY),
                         wait_timeout=float(settings.get("wait_timeout") or DEFAULT_WAIT_TIMEOUT_S))

    def start() -> Outcome:
        document = run(board, options)
        warn_if_over_cap(document.get("cost") or {}, cap_of(bases.video), ctx.console, "this storyboard")
        return Outcome(document, _files(document))

    return Prepared({**board.summary(), "budget": budget}, start)


def _budget(budget: dict[str, Any]) -> Budget:
    """The storyboard's budget for the gate: its worst case, with the likely figure beside it."""
    lines = tuple(f"shot {s['index']} ({s['id']}): ${float(s['estimate_usd'] or 0):.2f}"
                  + (f" (worst case ${s['max_usd']:.2f})" if "max_usd" in s else "") + f" {s['action']}"
                  for s in budget["shots"])
    return Budget(budget["max_to_spend_usd"], bool(budget["priced"]), "this storyboard", lines,
                  details={"to_spend_usd": budget["to_spend_usd"], "max_to_spend_usd": budget["max_to_spend_usd"]},
                  likely_usd=budget["to_spend_usd"])


def _dry_run(board: Storyboard, budget: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Each shot's exact create request where its inputs exist already; nothing is sent."""
    transport = make_transport(board.bases.video, ctx.console)
    shots = []
    for estimate, plan, note in board.dry_run_plans(transport):
        item: dict[str, Any] = {"index": estimate.shot.index, "id": estimate.shot.id, "mode": estimate.plan.mode}
        if plan is not None and plan.create is not None:
            item["requests"] = describe_requests([plan.create], placeholder_headers(plan.choice.credential))
        else:
            item["note"] = note
        shots.append(item)
    return {**board.summary(), "dry_run": True, "budget": budget, "shots": shots}


def _files(document: dict[str, Any]) -> tuple[SavedFile, ...]:
    """The shots, the stitched film and the contact sheet the run made."""
    found = [SavedFile(Path(shot["file"]), "video/mp4", "shot") for shot in document.get("shots") or []
             if shot.get("file")]
    final = document.get("final") or {}
    if final.get("path"):
        found.append(SavedFile(Path(final["path"]), "video/mp4", "film"))
    if document.get("html") and Path(document["html"]).is_file():
        found.append(SavedFile(Path(document["html"]), "text/html", "contact sheet"))
    return tuple(found)
