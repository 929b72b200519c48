"""jobs.py: list, check, wait for, download or cancel video jobs from any process."""
from __future__ import annotations

import argparse
from typing import Any, Mapping, TextIO

from mediagen.app.runtime import make_transport
from mediagen.cli.common import (
    Context,
    Parser,
    add_settings_options,
    make_parser,
    run_command,
)
from mediagen.config.settings import resolve_settings
from mediagen.core import errors
from mediagen.ops import batch_api
from mediagen.ops.jobstore import TERMINAL_STATES, store_for
from mediagen.ops.ledger import ledger_for
from mediagen.ops.providers import provider_for
from mediagen.ops.videojobs import outcome_of, resume_choice, wait
from mediagen.ops.videos import DEFAULT_WAIT_TIMEOUT_S

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
    parser.add_argument("--state", help="list: only jobs in this state (or 'active').")
    parser.add_argument("--limit", type=int, default=20, help="list: at most this many jobs (default 20).")
    parser.add_argument("--wait-timeout", type=float, help=f"wait: seconds before giving up (default "
                                                            f"{DEFAULT_WAIT_TIMEOUT_S:.0f}).")
    add_settings_options(parser)
    return parser


def handle(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    settings = resolve_settings({"backend": args.backend, "location": args.location}, ctx.env,
                                config_path=args.config, project=args.project, kind="video")
    store = store_for(settings)
    if args.show_defaults:
        return {"settings": {**settings.show(("backend", "project_id", "location", "poll_first_s",
                                               "poll_interval_s")),
                             "job_store": {"value": str(store.folder), "source": settings.source("job_store")
                                           or "default (per-user state folder)"}}}
    if args.action == "list":
        jobs = [_summary(r) for r in store.list(args.state)[: max(1, args.limit)]]
        return {"store": str(store.folder), "jobs": jobs}
    if not args.job_id:
        raise errors.UsageError(f"jobs.py {args.action} needs a job id", "Run jobs.py list to see job ids.")
    record = store.get(args.job_id)
    transport = make_transport(settings, ctx.console)
    if record.get("kind") == batch_api.RECORD_KIND:        # Gemini Batch API image jobs (batch_gen.py)
        return batch_api.job_command(args.action, record, store, settings, transport, ctx.console,
                                     wait_timeout=args.wait_timeout, ledger=ledger_for(settings))
    if args.action == "cancel":
        return _cancel(record, store, settings, transport, ctx)
    if record.get("state") in TERMINAL_STATES:
        return outcome_of(record)
    timeout = args.wait_timeout if args.action == "wait" and args.wait_timeout is not None else (
        DEFAULT_WAIT_TIMEOUT_S if args.action == "wait" else 0.0)
    return wait(args.job_id, store, settings, transport, ctx.console, timeout_s=timeout,
                ledger=ledger_for(settings), poll_now=args.action != "wait")


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    prompt = record.get("prompt") or ""
    return {"job_id": record["job_id"], "state": record.get("state"), "created": record.get("created"),
            "model": (record.get("model") or {}).get("id"), "mode": record.get("mode"),
            "backend": record.get("backend"), "prompt": prompt[:80],
            "outputs": [o.get("path") for o in record.get("outputs") or []],
            "estimate_usd": (record.get("estimate") or {}).get("estimate_usd"),
            "actual_usd": record.get("actual_usd")}


def _cancel(record: dict[str, Any], store: Any, settings: Any, transport: Any, ctx: Context) -> dict[str, Any]:
    if record.get("state") in TERMINAL_STATES:
        return {**_summary(record), "cancelled": False, "reason": f"job already {record['state']}"}
    provider = provider_for(record["model"].get("family"), record["model"]["id"])
    request = provider.cancel_request(record, settings) if record.get("handle") else None
    if request is not None:
        choice = resume_choice(record, settings)
        transport.send_json(request, choice.credential.auth)
        remote = True
    else:
        remote = False
        ctx.console.warn("Google offers no cancel for Veo operations: the job is forgotten locally, but the "
                         "operation may still finish and be billed")
    record = store.update(record["job_id"], state="cancelled")
    return {**_summary(record), "cancelled": True, "cancelled_remotely": remote}


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point: returns the exit code (see README: Exit codes)."""
    return run_command("jobs", argv, build_parser, handle, env=env, stdout=stdout, stderr=stderr)
