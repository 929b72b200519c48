"""batch_gen.py: many images (or videos) from one input file, online or as one batch job (Gemini API or Vertex)."""
from __future__ import annotations

import argparse
from typing import Mapping, TextIO

from mediagen.app.context import Context
from mediagen.app.outcome import Outcome
from mediagen.app.requests import BatchRequest
from mediagen.cli.common import (Parser, add_settings_options, add_spend_options, make_parser, option, request_from,
                                 run_command)

DESCRIPTION = """Generate many images (or videos) from one input file, resumably.

Input: a text file (one prompt per line, # comments, optional "|| key=value; ..."),
a CSV with a 'prompt' column plus parameter columns, JSONL, or YAML/JSON (a list,
or {defaults: {...}, items: [...]}). Item values win over these flags, which win
over the file's defaults. Every item is validated and priced before anything is
sent; above the config's approve_above (default $0.50) the run needs --approve
(or a --max-cost that covers the estimate; --max-cost is always a hard cap).

Each finished item appends a line to OUTPUT/batch-results.jsonl; running the same
command again skips finished items and resumes recorded jobs (never re-creating them).
Items whose create may have been billed without a result (a timeout, a 5xx, a broken
reply) are "unknown": they are resent only with --retry-unknown --approve.
--via batch-api sends Gemini image items as one Gemini Batch API job (50% cheaper,
minutes to hours); --via vertex-batch sends them as one Vertex batch prediction job
(50% cheaper; JSONL in and out of the gcs_bucket setting, in the batch_location region,
default us-central1). jobs.py list/status/wait/cancel handle both. Examples:
  batch_gen.py prompts.txt --aspect-ratio 16:9 --approve
  batch_gen.py shots.yaml --estimate-cost
  batch_gen.py catalog.csv --via batch-api --approve --max-cost 5"""


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("batch_gen.py", DESCRIPTION, stdout)
    parser.add_argument("input", help="Input file: .txt, .csv, .jsonl, .yaml/.yml or .json.")
    gen = parser.add_argument_group("defaults for every item (an item's own values win)")
    option(gen, BatchRequest, "kind")
    option(gen, BatchRequest, "model", "-m")
    for name in ("aspect_ratio", "image_size"):
        option(gen, BatchRequest, name)
    option(gen, BatchRequest, "count", "-n", type=int)
    option(gen, BatchRequest, "negative_prompt")
    option(gen, BatchRequest, "seed", type=int)
    for name in ("person_generation", "thinking_level", "output_mime"):
        option(gen, BatchRequest, name)
    option(gen, BatchRequest, "duration", type=int)
    option(gen, BatchRequest, "resolution")
    _running_options(parser.add_argument_group("running"))
    api = parser.add_argument_group("Batch API")
    option(api, BatchRequest, "batch_input", default="auto")
    option(api, BatchRequest, "inline_limit_mb", type=float, default=20.0)
    option(api, BatchRequest, "upload_chunk_bytes", type=int, help=argparse.SUPPRESS)
    add_spend_options(parser)
    add_settings_options(parser)
    return parser


def _running_options(run: argparse._ArgumentGroup) -> None:
    option(run, BatchRequest, "output", "-o", metavar="DIR")
    option(run, BatchRequest, "via", default="online")
    option(run, BatchRequest, "concurrency", type=int, metavar="N")
    option(run, BatchRequest, "rate", type=float, metavar="RPS")
    option(run, BatchRequest, "retry_failed", action="store_true")
    option(run, BatchRequest, "retry_unknown", action="store_true")
    option(run, BatchRequest, "approve", action="store_true")
    run.add_argument("--wait", dest="wait", action="store_true", default=True, help="Wait for jobs (default).")
    run.add_argument("--no-wait", dest="wait", action="store_false", help="Return once jobs are submitted.")
    option(run, BatchRequest, "wait_timeout", type=float, metavar="S")


def handle(args: argparse.Namespace, ctx: Context) -> Outcome:
    """Flags -> ``BatchRequest`` -> the use case."""
    from mediagen.app.batch import run_batch  # lazy: --help needs none of it

    return run_batch(request_from(BatchRequest, args), ctx)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("batch_gen", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
