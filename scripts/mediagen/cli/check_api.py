"""check_api.py: a free check of credentials, backend choice and model visibility."""
from __future__ import annotations

import argparse
from typing import Any, Mapping, TextIO

from mediagen.app.runtime import load_catalog, make_transport
from mediagen.cli.common import (
    Context,
    Parser,
    add_settings_options,
    make_parser,
    run_command,
)
from mediagen.config.settings import resolve_settings
from mediagen.ops.checks import check_setup

DESCRIPTION = """Check credentials for free: which backend mediagen would use and why, whether the
credential works, which catalog models it can see (with lifecycle warnings), and
whether the CLIProxyAPI proxy answers. Generates nothing and costs nothing."""

SETTING_KEYS = ("backend", "use_vertex", "api_key", "project_id", "location", "credentials_file",
                "access_token", "gemini_base_url", "gemini_api_version", "vertex_base_url",
                "cliproxy_url", "cliproxy_api_key")


def build_parser(stdout: TextIO | None) -> Parser:
    parser = make_parser("check_api.py", DESCRIPTION, stdout)
    parser.add_argument("--json", action="store_true", help="JSON output (the default; kept for scripts).")
    add_settings_options(parser)
    return parser


def handle(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    settings = resolve_settings({"backend": args.backend, "location": args.location}, ctx.env,
                                config_path=args.config, project=args.project)
    for warning in settings.warnings:
        ctx.console.warn(warning)
    if args.show_defaults:
        return {"settings": settings.show(SETTING_KEYS), "project": settings.project,
                "config_file": str(settings.config.path) if settings.config else None}
    return check_setup(settings, make_transport(settings, ctx.console), lambda: load_catalog(ctx.env),
                       ctx.console)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("check_api", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
