"""image_gen.py: generate images with Gemini image models, Imagen, or through CLIProxyAPI."""
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
from mediagen.core import errors
from mediagen.ops.images import PARAM_KEYS, plan_images, run_images

DESCRIPTION = """Generate images from a prompt and save them with a JSON sidecar each.

Backends: the Gemini API (API key), Vertex AI, or a local CLIProxyAPI. Every
request is validated against the model catalog and priced before anything is
sent. Examples:
  image_gen.py "a red fox in snow" --aspect-ratio 16:9
  image_gen.py --prompt-file prompt.txt -i ref.png --image-size 2K -o out/
  image_gen.py "app icon, flat" --preset icon --dry-run"""

SETTING_KEYS = PARAM_KEYS + ("backend", "project_id", "max_cost", "images", "preset")


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("image_gen.py", DESCRIPTION, stdout)
    parser.add_argument("prompt", nargs="?", help="The prompt ('-' reads it from stdin).")
    parser.add_argument("--prompt-file", metavar="FILE", help="Read the prompt from a UTF-8 file.")
    gen = parser.add_argument_group("generation")
    gen.add_argument("-m", "--model", help="Model id or alias (e.g. nano-banana-pro); default from the catalog.")
    gen.add_argument("--aspect-ratio", help="e.g. 1:1, 3:4, 16:9, 21:9 (the model's own set).")
    gen.add_argument("--image-size", help="512, 1K, 2K or 4K where the model offers it.")
    gen.add_argument("-i", "--image", action="append", metavar="SRC",
                     help="Input image: path, http(s) URL, gs:// (Vertex) or data: URI. Repeatable.")
    gen.add_argument("-n", "--count", type=int, help="How many images (sent in parallel).")
    gen.add_argument("--negative-prompt", help="What to avoid (Imagen field; folded into the prompt otherwise).")
    gen.add_argument("--seed", type=int, help="Seed, where the backend accepts one.")
    gen.add_argument("--person-generation", help="allow_all | allow_adult | dont_allow (Vertex / Imagen).")
    gen.add_argument("--output-mime", help="image/png or image/jpeg (Vertex only).")
    gen.add_argument("--thinking-level", help="minimal | high (Gemini 3.1 image models).")
    gen.add_argument("--preset", help="A preset from presets/image.yaml (see --list-presets).")
    gen.add_argument("--list-presets", action="store_true", help="List image presets and exit.")
    gen.add_argument("--concurrency", type=int, help="Parallel requests for --count (default 4).")
    gen.add_argument("-o", "--output", help="Output file or folder (default ./generated_images/).")
    add_spend_options(parser)
    add_settings_options(parser)
    return parser


def cli_values(args: argparse.Namespace) -> dict[str, Any]:
    """Flag values by setting key (None = not given)."""
    return {"model": args.model, "aspect_ratio": args.aspect_ratio, "image_size": args.image_size,
            "images": args.image, "count": args.count, "negative_prompt": args.negative_prompt,
            "seed": args.seed, "person_generation": args.person_generation, "output_mime": args.output_mime,
            "thinking_level": args.thinking_level, "concurrency": args.concurrency, "output": args.output,
            "backend": args.backend, "location": args.location, "max_cost": args.max_cost,
            "preset": args.preset}


def handle(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    if args.list_presets:
        return presets_listing("image")
    if args.count is not None and args.count < 1:
        raise errors.UsageError("--count must be at least 1", "Use --count 1 or more.")
    start = start_generation(args, ctx, "image", cli_values(args))
    plan = plan_images(start.prompt, start.settings, start.catalog, ctx.console, preset=start.preset,
                       load_inputs=not (args.show_defaults or args.estimate_cost))
    free = preview(args, plan, SETTING_KEYS, plan.http_requests)
    if free is not None:
        return free
    return run_images(plan, lambda: make_transport(plan.settings, ctx.console), ctx.console)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("image_gen", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
