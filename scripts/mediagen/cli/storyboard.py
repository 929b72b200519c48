"""storyboard.py: a multi-shot video from a YAML shot list (priced first, approved, resumable)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Mapping, TextIO

from mediagen.app.runtime import load_catalog, make_transport
from mediagen.cli.common import (
    Context,
    Parser,
    add_settings_options,
    add_spend_options,
    describe_requests,
    make_parser,
    run_command,
)
from mediagen.config.credentials import placeholder_headers
from mediagen.config.settings import resolve_settings
from mediagen.core import errors
from mediagen.ops.ledger import check_budget
from mediagen.ops.storyboard import Bases, RunOptions, Storyboard, prepare, run
from mediagen.ops.videos import DEFAULT_WAIT_TIMEOUT_S

DESCRIPTION = """Make a multi-shot video from a shot list (YAML; the format the media-navigator agent
writes, schema scripts/mediagen/schemas/shotlist.schema.json).

Every shot is checked against the model catalog and priced first. Without --approve
(or a --max-cost that covers the budget) nothing is sent: the budget per shot is
printed and the exit code is 9. Transitions: cut (independent clip), continue (starts
from the previous shot's last frame), extend (extends the previous clip). Independent
shots run in parallel. Everything is recorded in FOLDER/manifest.json: run the same
command again to resume (finished shots are kept, running jobs are polled, never
re-created); --redo N regenerates shot N. The folder also holds the shots, final.mp4
and index.html (a contact sheet).
Examples:
  storyboard.py .mediagen/shots/coffee-ad.yaml                 # budget only (exit 9)
  storyboard.py .mediagen/shots/coffee-ad.yaml --approve
  storyboard.py .mediagen/shots/coffee-ad.yaml --max-cost 6 --wait-timeout 100
  storyboard.py .mediagen/shots/coffee-ad.yaml --redo 2 --approve"""

SETTING_KEYS = ("backend", "location", "max_cost", "wait_timeout", "concurrency")


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("storyboard.py", DESCRIPTION, stdout)
    parser.add_argument("shotlist", help="The shot list (YAML).")
    run_group = parser.add_argument_group("running")
    run_group.add_argument("--approve", action="store_true",
                           help="Spend the budget shown (without it, or a covering --max-cost, nothing is sent).")
    run_group.add_argument("--redo", action="append", metavar="N",
                           help="Regenerate shot N (number or id) and the shots that continue from it. Repeatable.")
    run_group.add_argument("-o", "--output", metavar="FOLDER",
                           help="Storyboard folder (default ./generated_videos/<title-slug>/).")
    run_group.add_argument("--concurrency", type=int, metavar="N",
                           help="Independent shots generated at once (default 4).")
    run_group.add_argument("--wait-timeout", type=float, metavar="S",
                           help=f"Stop waiting after S seconds in all (default {DEFAULT_WAIT_TIMEOUT_S:g}); "
                                "running jobs continue and a rerun resumes them.")
    add_spend_options(parser)
    add_settings_options(parser)
    return parser


def cli_values(args: argparse.Namespace) -> dict[str, Any]:
    """Flag values by setting key (None = not given)."""
    return {"backend": args.backend, "location": args.location, "max_cost": args.max_cost,
            "wait_timeout": args.wait_timeout, "concurrency": args.concurrency}


def handle(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    if args.concurrency is not None and args.concurrency < 1:
        raise errors.UsageError("--concurrency must be at least 1", "Use --concurrency 1 or more.")
    bases = Bases(*(resolve_settings(cli_values(args), ctx.env, config_path=args.config, project=args.project,
                                     kind=kind) for kind in ("video", "image")))
    for warning in bases.video.warnings:
        ctx.console.warn(warning)
    board = prepare(Path(args.shotlist).expanduser(), bases, load_catalog(ctx.env), ctx.console,
                    folder=args.output, redo=args.redo or [], cwd=ctx.cwd)
    if args.show_defaults:
        return board.show_defaults()
    budget = board.budget()
    if args.estimate_cost:
        return {**board.summary(), "budget": budget}
    check_budget(budget["to_spend_usd"], bases.video.get("max_cost"), priced=budget["priced"])
    if args.dry_run:
        return _dry_run(board, budget, ctx)
    board.require_approval(budget, approve=args.approve, max_cost_flag=args.max_cost)
    settings = bases.video
    options = RunOptions(transport_factory=lambda: make_transport(settings, ctx.console),
                         concurrency=int(settings.get("concurrency") or 4),
                         wait_timeout=float(settings.get("wait_timeout") or DEFAULT_WAIT_TIMEOUT_S))
    return run(board, options)


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


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("storyboard", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
