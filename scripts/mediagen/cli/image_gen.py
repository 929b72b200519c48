"""image_gen.py: generate images with Gemini image models, Imagen, or through CLIProxyAPI."""
from __future__ import annotations

import argparse
import sys
from typing import Mapping, TextIO

from mediagen.app.context import Context
from mediagen.app.outcome import Outcome
from mediagen.app.requests import ImageRequest, PresetListing
from mediagen.cli.common import (Parser, add_settings_options, add_spend_options, make_parser, option, read_prompt,
                                 request_from, run_command)

DESCRIPTION = """Generate images from a prompt and save them with a JSON sidecar each.

Backends: the Gemini API (API key), Vertex AI, or a local CLIProxyAPI. Every
request is validated against the model catalog and priced before anything is
sent. Examples:
  image_gen.py "a red fox in snow" --aspect-ratio 16:9
  image_gen.py --prompt-file prompt.txt -i ref.png --image-size 2K -o out/
  image_gen.py "app icon, flat" --preset icon --dry-run
  image_gen.py "make the sky stormier" --continue generated_images/fox.png"""


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("image_gen.py", DESCRIPTION, stdout)
    parser.add_argument("prompt", nargs="?", help="The prompt ('-' reads it from stdin).")
    parser.add_argument("--prompt-file", metavar="FILE", help="Read the prompt from a UTF-8 file.")
    gen = parser.add_argument_group("generation")
    add_generation_options(gen)
    gen.add_argument("--list-presets", action="store_true", help="List image presets and exit.")
    option(gen, ImageRequest, "output", "-o")
    add_spend_options(parser)
    add_settings_options(parser)
    return parser


def add_generation_options(gen: argparse._ArgumentGroup) -> None:
    """The image flags ``estimate_cost.py image`` shares."""
    option(gen, ImageRequest, "model", "-m")
    option(gen, ImageRequest, "allow_unknown_model", action="store_true")
    option(gen, ImageRequest, "aspect_ratio")
    option(gen, ImageRequest, "image_size")
    option(gen, ImageRequest, "image", "-i", action="append", metavar="SRC")
    option(gen, ImageRequest, "continue_from", "--continue", metavar="RESULT")
    option(gen, ImageRequest, "count", "-n", type=int)
    option(gen, ImageRequest, "negative_prompt")
    option(gen, ImageRequest, "seed", type=int)
    option(gen, ImageRequest, "person_generation")
    option(gen, ImageRequest, "output_mime")
    option(gen, ImageRequest, "thinking_level")
    option(gen, ImageRequest, "preset")
    option(gen, ImageRequest, "concurrency", type=int)


def handle(args: argparse.Namespace, ctx: Context) -> Outcome:
    """Flags -> ``ImageRequest`` -> the use case."""
    from mediagen.app.image import generate_image, list_presets  # lazy: --help needs none of it

    if args.list_presets:
        return list_presets(PresetListing("image"))
    prompt = read_prompt(args, sys.stdin, required=not args.show_defaults)
    return generate_image(request_from(ImageRequest, args, prompt=prompt), ctx)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("image_gen", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
