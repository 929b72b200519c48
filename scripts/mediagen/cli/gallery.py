"""gallery.py: a static HTML gallery (gallery.html) over an output folder's sidecars."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Mapping, TextIO

from mediagen.cli.common import Context, Parser, make_parser, run_command
from mediagen.ops.gallery import GALLERY_NAME, write_gallery

DESCRIPTION = f"""Write a static HTML gallery of every image and video in FOLDER that has a .json
sidecar (from image_gen.py, video_gen.py or batch_gen.py): thumbnails, prompts,
models, costs, with filters by model, kind and text. It needs no server and no
network; open it in a browser. Preset filters from the URL:
  {GALLERY_NAME}#kind=video&model=veo-3.1-fast-generate-001&q=fox
Examples:
  gallery.py generated_images
  gallery.py generated_batch/shots -o ~/Desktop/shots.html"""


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("gallery.py", DESCRIPTION, stdout)
    parser.add_argument("folder", help="Folder to scan (sub-folders included).")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help=f"Where to write the page (default FOLDER/{GALLERY_NAME}).")
    parser.add_argument("--title", help="Page title (default: the folder name).")
    parser.add_argument("--debug", action="store_true", help="Re-raise errors with a traceback on stderr.")
    return parser


def handle(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    result = write_gallery(Path(args.folder), Path(args.output) if args.output else None, title=args.title)
    ctx.console.info(f"wrote {result['path']} ({result['counts']['items']} item(s))")
    return result


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("gallery", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
