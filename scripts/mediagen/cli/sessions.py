"""sessions.py: list conversation sessions and show one as a tree of turns (prompts, files, costs)."""
from __future__ import annotations

import argparse
from typing import Mapping, TextIO

from mediagen.app.context import Context
from mediagen.app.outcome import Outcome
from mediagen.app.requests import SessionQuery
from mediagen.app.sessions import session_command
from mediagen.cli.common import Parser, add_settings_options, make_parser, option, request_from, run_command

DESCRIPTION = """Conversation sessions recorded by image_gen.py, video_gen.py and the MCP server.
Every result is a turn; continuing a result (--continue FILE) adds a turn under
it, and continuing an earlier one starts a branch. Free: nothing is sent.
  sessions.py list             recent sessions, newest first
  sessions.py show SESSION     every turn (prompt, files, cost) as a tree, and its chains"""


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("sessions.py", DESCRIPTION, stdout)
    parser.add_argument("action", choices=["list", "show"])
    parser.add_argument("session_id", nargs="?", help="Session id (from sessions.py list or a result).")
    option(parser, SessionQuery, "limit", type=int, default=20)
    add_settings_options(parser)
    return parser


def handle(args: argparse.Namespace, ctx: Context) -> Outcome:
    """Flags -> ``SessionQuery`` -> the use case."""
    return session_command(request_from(SessionQuery, args), ctx)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("sessions", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
