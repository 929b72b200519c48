"""video_gen.py: generate videos with Veo (Vertex) or Gemini Omni (Gemini API key), as durable jobs."""
from __future__ import annotations

import argparse
import sys
from typing import Mapping, TextIO

from mediagen.app.context import Context
from mediagen.app.outcome import Outcome
from mediagen.app.requests import PresetListing, VideoRequest
from mediagen.cli.common import (Parser, add_settings_options, add_spend_options, make_parser, option, read_prompt,
                                 request_from, run_command)

DESCRIPTION = """Generate a video and save it with a JSON sidecar. Veo runs on Vertex AI; with only a
Gemini API key, video is made by Gemini Omni (Veo left the Gemini API in 2026).

The mode follows from the inputs: text only -> text_to_video; --image ->
image_to_video; --image + --last-frame -> first_last_frame; --reference-image ->
reference_to_video; --extend-video -> extend; --video + --mask -> edit;
--continue CLIP (an Omni result) -> continue its conversation (--mode edit|extend sets the task).
Every job is recorded before it is sent: if the wait ends (or the process is
killed), resume with `jobs.py wait JOB_ID` - no second create request, no second bill.
Examples:
  video_gen.py "a cat walking on a fence at dusk"
  video_gen.py --prompt-file p.txt --image first.png --last-frame last.png --duration 8
  video_gen.py "the camera pulls back" --extend-video generated_videos/cat.mp4
  video_gen.py "make it snow" --continue generated_videos/cat.mp4"""


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("video_gen.py", DESCRIPTION, stdout)
    parser.add_argument("prompt", nargs="?", help="The prompt ('-' reads it from stdin).")
    parser.add_argument("--prompt-file", metavar="FILE", help="Read the prompt from a UTF-8 file.")
    gen = parser.add_argument_group("generation")
    add_generation_options(gen)
    gen.add_argument("--list-presets", action="store_true", help="List video presets and exit.")
    add_input_options(parser.add_argument_group("inputs"))
    out = parser.add_argument_group("output and waiting")
    option(out, VideoRequest, "output", "-o")
    option(out, VideoRequest, "storage_uri", metavar="gs://...")
    option(out, VideoRequest, "upload_gcs", metavar="gs://...")
    out.add_argument("--wait", dest="wait", action="store_true", default=True, help="Wait for the result (default).")
    out.add_argument("--no-wait", dest="wait", action="store_false", help="Return the job id at once.")
    option(out, VideoRequest, "wait_timeout", type=float, metavar="S")
    add_spend_options(parser)
    add_settings_options(parser)
    return parser


def add_generation_options(gen: argparse._ArgumentGroup) -> None:
    """The video flags ``estimate_cost.py video`` shares (with the inputs)."""
    option(gen, VideoRequest, "model", "-m")
    option(gen, VideoRequest, "allow_unknown_model", action="store_true")
    option(gen, VideoRequest, "mode")
    option(gen, VideoRequest, "duration", type=int)
    for name in ("aspect_ratio", "resolution", "negative_prompt", "person_generation"):
        option(gen, VideoRequest, name)
    option(gen, VideoRequest, "seed", type=int)
    option(gen, VideoRequest, "generate_audio", action=argparse.BooleanOptionalAction, default=None)
    gen.add_argument("--no-audio", dest="generate_audio", action="store_false", help="Same as --no-generate-audio.")
    option(gen, VideoRequest, "count", "-n", type=int)
    option(gen, VideoRequest, "enhance_prompt", action=argparse.BooleanOptionalAction, default=None)
    option(gen, VideoRequest, "preset")


def add_input_options(inputs: argparse._ArgumentGroup) -> None:
    """The video input flags."""
    option(inputs, VideoRequest, "image")
    option(inputs, VideoRequest, "last_frame")
    option(inputs, VideoRequest, "reference_image", action="append", metavar="PATH[:asset|style]")
    option(inputs, VideoRequest, "reference_video", action="append", metavar="PATH")
    option(inputs, VideoRequest, "extend_video", metavar="SRC")
    option(inputs, VideoRequest, "continue_from", "--continue", metavar="RESULT")
    option(inputs, VideoRequest, "video")
    option(inputs, VideoRequest, "mask")
    option(inputs, VideoRequest, "mask_mode", help=None)
    option(inputs, VideoRequest, "camera")
    option(inputs, VideoRequest, "resize_mode")
    option(inputs, VideoRequest, "remix", metavar="VIDEO")
    option(inputs, VideoRequest, "remix_start", metavar="T")
    option(inputs, VideoRequest, "remix_end", metavar="T")
    option(inputs, VideoRequest, "remix_last_frame", action="store_true")


def handle(args: argparse.Namespace, ctx: Context) -> Outcome:
    """Flags -> ``VideoRequest`` -> the use case."""
    from mediagen.app.image import list_presets
    from mediagen.app.video import generate_video  # lazy: --help needs none of it

    if args.list_presets:
        return list_presets(PresetListing("video"))
    prompt = read_prompt(args, sys.stdin, required=not args.show_defaults)
    return generate_video(request_from(VideoRequest, args, prompt=prompt), ctx)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("video_gen", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
