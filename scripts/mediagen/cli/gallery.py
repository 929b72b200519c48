"""gallery.py: a static HTML gallery (gallery.html) over an output folder's sidecars."""
from __future__ import annotations

import argparse
from typing import Mapping, TextIO

from mediagen.app.context import Context
from mediagen.app.outcome import Outcome
from mediagen.app.requests import GalleryRequest
from mediagen.cli.common import Parser, make_parser, option, request_from, run_command

DESCRIPTION = """Write a static HTML gallery of every image and video in FOLDER that has a .json
sidecar (from image_gen.py, video_gen.py or batch_gen.py): thumbnails, prompts,
models, costs, with filters by model, kind and text, in pages of --page-size cards
(gallery.html, gallery-2.html...). It needs no server and no network; open it in
a browser. Preset filters from the URL:
  gallery.html#kind=video&model=veo-3.1-fast-generate-001&q=fox
Examples:
  gallery.py generated_images
  gallery.py generated_batch/shots -o ~/Desktop/shots.html"""


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("gallery.py", DESCRIPTION, stdout)
    parser.add_argument("folder", help="Folder to scan (sub-folders included).")
    option(parser, GalleryRequest, "output", "-o", metavar="FILE")
    option(parser, GalleryRequest, "title")
    option(parser, GalleryRequest, "page_size", type=int, metavar="N")
    parser.add_argument("--debug", action="store_true", help="Re-raise errors with a traceback on stderr.")
    return parser


def handle(args: argparse.Namespace, ctx: Context) -> Outcome:
    """Flags -> ``GalleryRequest`` -> the use case."""
    from mediagen.app.listing import gallery  # lazy: --help needs none of it

    return gallery(request_from(GalleryRequest, args), ctx)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("gallery", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
