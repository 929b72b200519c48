"""estimate_cost.py: price an image or video request from the catalog, before spending anything."""
from __future__ import annotations

import argparse
from typing import Mapping, TextIO

from mediagen.app.context import Context
from mediagen.app.outcome import Outcome
from mediagen.app.requests import EstimateRequest, ImageRequest, Spending, VideoRequest
from mediagen.cli import image_gen, video_gen
from mediagen.cli.common import Parser, add_settings_options, make_parser, option, request_from, run_command

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
    sub = parser.add_subparsers(dest="kind", required=True, metavar="{image,video,shotlist,batch}")
    image = sub.add_parser("image", help="Price an image request (flags as image_gen.py).")
    image_gen.add_generation_options(image.add_argument_group("generation"))
    video = sub.add_parser("video", help="Price a video request (flags as video_gen.py).")
    video_gen.add_generation_options(video.add_argument_group("generation"))
    video_gen.add_input_options(video.add_argument_group("inputs"))
    option(video, VideoRequest, "storage_uri", metavar="gs://...")       # Vertex-only: part of validation
    option(video, VideoRequest, "upload_gcs", metavar="gs://...")
    shots = sub.add_parser("shotlist", help="Price a storyboard shot list (as storyboard.py --estimate-cost).")
    shots.add_argument("file", help="The shot list (YAML).")
    batch = sub.add_parser("batch", help="Price a batch file (as batch_gen.py --estimate-cost).")
    batch.add_argument("file", help="txt, CSV, JSONL or YAML batch file.")
    option(batch, EstimateRequest, "via", default="online")
    for child in (image, video):
        option(child, Spending, "max_cost", type=float, metavar="USD")
    for child in (image, video, shots, batch):
        add_settings_options(child)
    return parser


def handle(args: argparse.Namespace, ctx: Context) -> Outcome:
    """Flags -> ``EstimateRequest`` (with the image or video request inside) -> the use case."""
    from mediagen.app.estimate import estimate  # lazy: --help needs none of it

    inner = {"image": ImageRequest, "video": VideoRequest}.get(args.kind)
    nested = {"image": None, "video": None}
    if inner is not None:
        nested[args.kind] = request_from(inner, args, prompt="(estimate)")
    return estimate(request_from(EstimateRequest, args, **nested), ctx)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("estimate_cost", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
