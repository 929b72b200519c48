"""check_api.py: a free check of credentials, backend choice and model visibility."""
from __future__ import annotations

import argparse
from typing import Mapping, TextIO

from mediagen.app.context import Context
from mediagen.app.outcome import Outcome
from mediagen.app.requests import CheckRequest
from mediagen.cli.common import Parser, add_settings_options, make_parser, option, request_from, run_command

DESCRIPTION = """Check credentials for free: which backend mediagen would use and why, whether the
credential works, which catalog models it can see (with lifecycle warnings), and
whether the CLIProxyAPI proxy answers. Generates nothing and costs nothing.

--drift also compares the catalog with what the credential can see: catalog
models not served, served image/video models missing from the catalog, and
shutdown dates that have passed; it exits 11 when it finds any."""


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("check_api.py", DESCRIPTION, stdout)
    parser.add_argument("--json", action="store_true", help="JSON output (the default; kept for scripts).")
    option(parser, CheckRequest, "drift", action="store_true")
    add_settings_options(parser)
    return parser


def handle(args: argparse.Namespace, ctx: Context) -> Outcome:
    """Flags -> ``CheckRequest`` -> the use case."""
    from mediagen.app.listing import check  # lazy: --help needs none of it

    return check(request_from(CheckRequest, args), ctx)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("check_api", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
