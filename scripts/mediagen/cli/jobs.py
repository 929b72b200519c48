"""jobs.py: list, check, wait for, download or cancel video jobs from any process."""
from __future__ import annotations

import argparse
from typing import Mapping, TextIO

from mediagen.app.context import Context
from mediagen.app.outcome import Outcome
from mediagen.app.requests import JobQuery
from mediagen.cli.common import Parser, add_settings_options, make_parser, option, request_from, run_command

DESCRIPTION = """Manage video jobs recorded by video_gen.py (and the MCP server). A job is recorded
before its create request is sent, so a killed or timed-out run is resumed here
without paying again:
  jobs.py list                 recent jobs and their states
  jobs.py status JOB           poll once (downloads the result if it is ready)
  jobs.py wait JOB             poll until done, then download (--wait-timeout S)
  jobs.py download JOB         download a finished job's result
  jobs.py cancel JOB           cancel where the API allows (Omni), else forget locally"""


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("jobs.py", DESCRIPTION, stdout)
    parser.add_argument("action", choices=["list", "status", "wait", "download", "cancel"])
    parser.add_argument("job_id", nargs="?", help="Job id (from video_gen.py or jobs.py list).")
    option(parser, JobQuery, "state")
    option(parser, JobQuery, "limit", type=int, default=20)
    option(parser, JobQuery, "wait_timeout", type=float)
    add_settings_options(parser)
    return parser


def handle(args: argparse.Namespace, ctx: Context) -> Outcome:
    """Flags -> ``JobQuery`` -> the use case."""
    from mediagen.app.jobs import job_command  # lazy: --help needs none of it

    return job_command(request_from(JobQuery, args), ctx)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("jobs", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
