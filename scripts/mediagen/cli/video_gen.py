"""video_gen.py: generate videos with Veo (Vertex) or Gemini Omni (Gemini API key), as durable jobs."""
from __future__ import annotations

import argparse
from typing import Any, Mapping, TextIO

from mediagen.app.runtime import make_transport
from mediagen.cli.common import (
    Context,
    Parser,
    add_settings_options,
    add_spend_options,
    make_parser,
    presets_listing,
    preview,
    run_command,
    start_generation,
)
from mediagen.ops.jobstore import store_for
from mediagen.ops.ledger import ledger_for
from mediagen.ops.videojobs import submit, wait
from mediagen.ops.videos import MODES, PARAM_KEYS, plan_video

DESCRIPTION = """Generate a video and save it with a JSON sidecar. Veo runs on Vertex AI; with only a
Gemini API key, video is made by Gemini Omni (Veo left the Gemini API in 2026).

The mode follows from the inputs: text only -> text_to_video; --image ->
image_to_video; --image + --last-frame -> first_last_frame; --reference-image ->
reference_to_video; --extend-video -> extend; --video + --mask -> edit.
Every job is recorded before it is sent: if the wait ends (or the process is
killed), resume with `jobs.py wait JOB_ID` - no second create request, no second bill.
Examples:
  video_gen.py "a cat walking on a fence at dusk"
  video_gen.py --prompt-file p.txt --image first.png --last-frame last.png --duration 8
  video_gen.py "the camera pulls back" --extend-video generated_videos/cat.mp4"""

SETTING_KEYS = PARAM_KEYS + ("backend", "project_id", "max_cost", "image", "last_frame", "references",
                             "reference_videos", "extend_video", "video", "mask", "remix", "preset")


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("video_gen.py", DESCRIPTION, stdout)
    parser.add_argument("prompt", nargs="?", help="The prompt ('-' reads it from stdin).")
    parser.add_argument("--prompt-file", metavar="FILE", help="Read the prompt from a UTF-8 file.")
    gen = parser.add_argument_group("generation")
    gen.add_argument("-m", "--model", help="Model id or alias; default Veo 3.1 Fast (Vertex), Omni on the Gemini API.")
    gen.add_argument("--mode", choices=MODES, help="Force a mode (it must match the inputs).")
    gen.add_argument("--duration", type=int, help="Seconds (Veo 3.1: 4, 6, 8; Omni: 3-10).")
    gen.add_argument("--aspect-ratio", help="16:9 or 9:16.")
    gen.add_argument("--resolution", help="720p, 1080p or 4k (Omni also 360p).")
    gen.add_argument("--negative-prompt", help="What to avoid.")
    gen.add_argument("--person-generation", help="allow_all | allow_adult | dont_allow.")
    gen.add_argument("--seed", type=int, help="Seed (Vertex only).")
    gen.add_argument("--generate-audio", action=argparse.BooleanOptionalAction, default=None,
                     help="Audio on/off (Vertex Veo; the Gemini API always adds audio).")
    gen.add_argument("--no-audio", dest="generate_audio", action="store_false", help="Same as --no-generate-audio.")
    gen.add_argument("-n", "--count", type=int, help="Videos per request (sampleCount; Vertex 1-4).")
    gen.add_argument("--enhance-prompt", action=argparse.BooleanOptionalAction, default=None,
                     help="Let Veo rewrite the prompt.")
    gen.add_argument("--preset", help="quick | quality | extend | budget (presets/video.yaml).")
    gen.add_argument("--list-presets", action="store_true", help="List video presets and exit.")
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument("--image", help="First frame (path, URL, gs:// on Vertex).")
    inputs.add_argument("--last-frame", help="Last frame (needs --image).")
    inputs.add_argument("--reference-image", action="append", metavar="PATH[:asset|style]",
                        help="Reference image (up to 3 assets or 1 style). Repeatable.")
    inputs.add_argument("--reference-video", action="append", metavar="PATH", help="Reference clip (Omni). Repeatable.")
    inputs.add_argument("--extend-video", metavar="SRC",
                        help="Extend an earlier result (its sidecar supplies defaults), a gs:// URI, or a file.")
    inputs.add_argument("--video", help="Clip to edit with --mask (Vertex).")
    inputs.add_argument("--mask", help="Mask image for editing (Vertex).")
    inputs.add_argument("--mask-mode", choices=["insert", "remove", "remove_static", "outpaint"])
    inputs.add_argument("--camera", help="Camera control, e.g. pan_left, push_in (Vertex, needs --image).")
    inputs.add_argument("--resize-mode", choices=["pad", "crop"], help="Image fit for image-to-video (Vertex).")
    inputs.add_argument("--remix", metavar="VIDEO", help="Use frames of this clip as first (and last) frame.")
    inputs.add_argument("--remix-start", metavar="T", help="Time of the first frame (seconds or M:SS).")
    inputs.add_argument("--remix-end", metavar="T", help="Time of the last frame.")
    inputs.add_argument("--remix-last-frame", action="store_true", help="Also use the frame at --remix-end.")
    out = parser.add_argument_group("output and waiting")
    out.add_argument("-o", "--output", help="Output file or folder (default ./generated_videos/).")
    out.add_argument("--storage-uri", metavar="gs://...", help="Vertex writes results there.")
    out.add_argument("--upload-gcs", metavar="gs://...", help="Upload the saved file there afterwards.")
    out.add_argument("--wait", dest="wait", action="store_true", default=True, help="Wait for the result (default).")
    out.add_argument("--no-wait", dest="wait", action="store_false", help="Return the job id at once.")
    out.add_argument("--wait-timeout", type=float, metavar="S",
                     help="Stop waiting after S seconds (default 480); the job keeps running.")
    add_spend_options(parser)
    add_settings_options(parser)
    return parser


def cli_values(args: argparse.Namespace) -> dict[str, Any]:
    """Flag values by setting key (None = not given)."""
    return {"model": args.model, "mode": args.mode, "duration": args.duration, "aspect_ratio": args.aspect_ratio,
            "resolution": args.resolution, "negative_prompt": args.negative_prompt,
            "person_generation": args.person_generation, "seed": args.seed, "generate_audio": args.generate_audio,
            "count": args.count, "enhance_prompt": args.enhance_prompt, "image": args.image,
            "last_frame": args.last_frame, "references": args.reference_image,
            "reference_videos": args.reference_video, "extend_video": args.extend_video, "video": args.video,
            "mask": args.mask, "mask_mode": args.mask_mode, "camera": args.camera, "resize_mode": args.resize_mode,
            "remix": args.remix, "remix_start": args.remix_start, "remix_end": args.remix_end,
            "remix_last_frame": args.remix_last_frame or None, "output": args.output,
            "storage_uri": args.storage_uri, "upload_gcs": args.upload_gcs, "wait_timeout": args.wait_timeout,
            "backend": args.backend, "location": args.location, "max_cost": args.max_cost, "preset": args.preset}


def handle(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    if args.list_presets:
        return presets_listing("video")
    start = start_generation(args, ctx, "video", cli_values(args))
    transport = make_transport(start.settings, ctx.console)
    plan = plan_video(start.prompt, start.settings, start.catalog, ctx.console, preset=start.preset,
                      transport=transport, load_inputs=not (args.show_defaults or args.estimate_cost))
    free = preview(args, plan, SETTING_KEYS, [plan.create] if plan.create else [])
    if free is not None:
        return free
    store, ledger = store_for(plan.settings), ledger_for(plan.settings)
    record = submit(plan, store, ledger, transport, ctx.console)
    initial = record.pop("_initial", None)
    if not args.wait and initial is None:
        job_id = record["job_id"]
        return {**plan.describe(), "job_id": job_id, "state": "running", "next": f"scripts/jobs.py wait {job_id}"}
    return wait(record["job_id"], store, plan.settings, transport, ctx.console,
                timeout_s=float(plan.settings["wait_timeout"]), initial=initial, ledger=ledger)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("video_gen", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
