"""storyboard.py: a multi-shot video from a YAML shot list (priced first, approved, resumable)."""
from __future__ import annotations

import argparse
from typing import Mapping, TextIO

from mediagen.app.context import Context
from mediagen.app.outcome import Outcome
from mediagen.app.requests import ShotListRequest
from mediagen.cli.common import (Parser, add_settings_options, add_spend_options, make_parser, option, request_from,
                                 run_command)

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


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("storyboard.py", DESCRIPTION, stdout)
    parser.add_argument("shotlist", help="The shot list (YAML).")
    group = parser.add_argument_group("running")
    option(group, ShotListRequest, "approve", action="store_true",
           help="Spend the budget shown (without it, or a covering --max-cost, nothing is sent).")
    option(group, ShotListRequest, "redo", action="append", metavar="N",
           help="Regenerate shot N (number or id) and the shots that continue from it. Repeatable.")
    option(group, ShotListRequest, "output", "-o", metavar="FOLDER")
    option(group, ShotListRequest, "concurrency", type=int, metavar="N")
    option(group, ShotListRequest, "wait_timeout", type=float, metavar="S")
    add_spend_options(parser)
    add_settings_options(parser)
    return parser


def handle(args: argparse.Namespace, ctx: Context) -> Outcome:
    """Flags -> ``ShotListRequest`` -> the use case."""
    from mediagen.app.storyboard import run_storyboard  # lazy: --help needs none of it

    return run_storyboard(request_from(ShotListRequest, args), ctx)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("storyboard", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
