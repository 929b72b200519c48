"""Use case: price a request, a shot list or a batch file before spending anything (``estimate_cost.py``).

Image and video requests are planned exactly as the generators plan them (so
the price is the one the generator would check), without loading inputs and
without needing a credential. Shot lists and batch files are priced by their
own use cases, as their ``--estimate-cost`` does.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from mediagen.app.context import Context
from mediagen.app.batch import run_batch
from mediagen.app.gate import gate
from mediagen.app.generation import begin, budget_of, cap_of, check_local_tools
from mediagen.app.image import SHOWN_SETTINGS as IMAGE_SETTINGS
from mediagen.app.outcome import Outcome
from mediagen.app.requests import BatchRequest, EstimateRequest, ImageRequest, ShotListRequest, VideoRequest
from mediagen.app.storyboard import run_storyboard
from mediagen.app.video import REMIX_PURPOSE
from mediagen.app.video import SHOWN_SETTINGS as VIDEO_SETTINGS
from mediagen.core import errors
from mediagen.ops.images import plan_images
from mediagen.ops.videos import plan_video


def estimate(request: EstimateRequest, ctx: Context) -> Outcome:
    """The estimate, its price date and source, and the cheapest valid alternative."""
    if request.kind in ("shotlist", "batch"):
        return _delegated(request, ctx)
    generation = request.image if request.kind == "image" else request.video
    if generation is None:
        generation = ImageRequest() if request.kind == "image" else VideoRequest()
    generation = replace(generation, prompt="(estimate)", backend=request.backend, project=request.project,
                         location=request.location, config=request.config, show_defaults=request.show_defaults)
    start = begin(generation, ctx, request.kind)
    if request.kind == "video" and start.settings.get("remix"):
        check_local_tools(REMIX_PURPOSE, ctx, free=True)
    planner = plan_images if request.kind == "image" else plan_video
    plan = planner(generation.prompt, start.settings, start.catalog, ctx.console, preset=start.preset,
                   estimate_only=True)
    if request.show_defaults:
        shown = IMAGE_SETTINGS if request.kind == "image" else VIDEO_SETTINGS
        return Outcome({**plan.describe(), "settings": plan.settings.show(shown)})
    document = _priced(request.kind, plan, start.catalog)
    # Refused over the cap like the spending scripts (exit 9), with the estimate in the failure document.
    gate(budget_of(plan.estimate), cap_of(plan.settings), spending=False, partial=document)
    return Outcome(document)


def _priced(kind: str, plan: Any, catalog: Any) -> dict[str, Any]:
    estimate_ = plan.estimate
    result: dict[str, Any] = {"kind": kind, "backend": plan.choice.describe(), "model": plan.model_info(),
                              "request": plan.request, "estimate": estimate_.to_dict(), "cost": plan.cost(None),
                              "total_usd": estimate_.usd}
    cheaper = catalog.cheapest_alternative(plan.request)
    if cheaper:
        model_id, changes, alt = cheaper
        result["cheapest_alternative"] = {"model": model_id, "changes": changes, "estimate": alt.to_dict()}
    return result


def _delegated(request: EstimateRequest, ctx: Context) -> Outcome:
    """Shot lists and batch files, priced by their own use cases."""
    if not request.file:
        raise errors.UsageError(f"a {request.kind} estimate needs the file to price",
                                "Pass the shot list or batch file (file: PATH in MCP).")
    where = {"backend": request.backend, "project": request.project, "location": request.location,
             "config": request.config, "show_defaults": request.show_defaults, "estimate_cost": True}
    if request.kind == "shotlist":
        outcome = run_storyboard(ShotListRequest(shotlist=request.file, **where), ctx)
    else:
        outcome = run_batch(BatchRequest(input=request.file, via=request.via, **where), ctx)
    document = outcome.document
    total = (document.get("budget") or {}).get("to_spend_usd") if request.kind == "shotlist" else \
        (document.get("cost") or {}).get("estimate_usd")
    return Outcome({"kind": request.kind, "total_usd": total, **document})
