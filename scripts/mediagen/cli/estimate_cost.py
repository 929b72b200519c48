"""estimate_cost.py: price an image or video request from the catalog, before spending anything."""
from __future__ import annotations

import argparse
from typing import Any, Mapping, TextIO

from mediagen.app.runtime import load_catalog
from mediagen.cli import image_gen, video_gen
from mediagen.cli.common import (
    Context,
    Parser,
    add_settings_options,
    make_parser,
    run_command,
)
from mediagen.config.settings import resolve_settings
from mediagen.ops.images import plan_images
from mediagen.ops.videos import plan_video

DESCRIPTION = """Estimate what a generation would cost, from the catalog's prices (with their date and
source), and name the cheapest valid alternative. Sends nothing; works without credentials
(then it prices the Gemini API, or the backend given with --backend).
  estimate_cost.py image --count 4 --image-size 2K
  estimate_cost.py video --duration 8 --resolution 1080p --backend vertex
  estimate_cost.py video --preset quality
  estimate_cost.py shotlist shots.yaml            (a storyboard: per shot and total)
  estimate_cost.py batch prompts.csv --via batch-api   (a batch file, with the Batch API price)"""


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("estimate_cost.py", DESCRIPTION, stdout)
    sub = parser.add_subparsers(dest="kind", required=True, metavar="{image,video}")
    image = sub.add_parser("image", help="Price an image request (flags as image_gen.py).")
    _copy_generation_flags(image, image_gen.build_parser(None))
    video = sub.add_parser("video", help="Price a video request (flags as video_gen.py).")
    _copy_generation_flags(video, video_gen.build_parser(None))
    shots = sub.add_parser("shotlist", help="Price a storyboard shot list (as storyboard.py --estimate-cost).")
    shots.add_argument("file", help="The shot list (YAML).")
    batch = sub.add_parser("batch", help="Price a batch file (as batch_gen.py --estimate-cost).")
    batch.add_argument("file", help="txt, CSV, JSONL or YAML batch file.")
    batch.add_argument("--via", choices=["online", "batch-api"], default="online",
                       help="batch-api: price with the Batch API discount.")
    for child in (image, video, shots, batch):
        add_settings_options(child)
    return parser


_SKIP = {"help", "version", "backend", "project", "location", "config", "show_defaults", "debug", "dry_run",
         "estimate_cost", "list_presets", "prompt", "prompt_file", "wait", "wait_timeout"}


def _copy_generation_flags(target: argparse.ArgumentParser, source: argparse.ArgumentParser) -> None:
    """Reuse the generator's own flag definitions, so the two scripts can never drift apart."""
    for action in source._actions:          # argparse has no public API for this
        if action.dest in _SKIP or not action.option_strings:
            continue
        target._add_action(action)


def handle(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    if args.kind in ("shotlist", "batch"):
        return _delegate(args, ctx)
    from mediagen.config.presets import get_preset

    module = image_gen if args.kind == "image" else video_gen
    values = module.cli_values(_with_defaults(args, module))
    settings = resolve_settings(values, ctx.env, config_path=args.config, project=args.project, kind=args.kind)
    preset = get_preset(args.kind, args.preset) if getattr(args, "preset", None) else None
    catalog = load_catalog(ctx.env)
    planner = plan_images if args.kind == "image" else plan_video
    plan = planner("(estimate)", settings, catalog, ctx.console, preset=preset, estimate_only=True)
    if args.show_defaults:
        return {**plan.describe(), "settings": plan.settings.show(module.SETTING_KEYS)}
    estimate = plan.estimate
    result: dict[str, Any] = {"kind": args.kind, "backend": plan.choice.describe(), "model": plan.model_info(),
                              "request": plan.request, "estimate": estimate.to_dict(),
                              "cost": plan.cost(None), "total_usd": estimate.usd}
    cheaper = catalog.cheapest_alternative(plan.request)
    if cheaper:
        model_id, changes, alt = cheaper
        result["cheapest_alternative"] = {"model": model_id, "changes": changes, "estimate": alt.to_dict()}
    return result


def _delegate(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    """Shot lists and batch files are priced by their own runners, with --estimate-cost."""
    from mediagen.cli import batch_gen, storyboard

    module = storyboard if args.kind == "shotlist" else batch_gen
    argv = [args.file, "--estimate-cost"]
    for flag, value in (("--backend", args.backend), ("--project", args.project), ("--location", args.location),
                        ("--config", args.config), ("--via", getattr(args, "via", None))):
        if value:
            argv += [flag, value]
    if args.show_defaults:
        argv.append("--show-defaults")
    return {"kind": args.kind, **module.handle(module.build_parser(None).parse_args(argv), ctx)}


def _with_defaults(args: argparse.Namespace, module: Any) -> argparse.Namespace:
    """Fill attributes the generator's ``cli_values`` reads but this parser skipped."""
    full = module.build_parser(None).parse_args(["x"])
    for key, value in vars(full).items():
        if not hasattr(args, key):
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("estimate_cost", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
