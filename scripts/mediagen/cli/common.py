"""What every entry script shares: argument parsing, the run wrapper, and output.

``run_command`` is the single place that turns a handler's return value or
exception into the one JSON document on stdout and the exit code.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, TextIO

from mediagen import __version__
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.redaction import redact, redact_text

Handler = Callable[[argparse.Namespace, "Context"], dict[str, Any]]


class HelpRequested(Exception):
    """Raised instead of exiting when argparse has printed --help/--version."""


class Parser(argparse.ArgumentParser):
    """argparse that raises ``UsageError`` instead of printing and exiting."""

    def __init__(self, *args: Any, stdout: TextIO | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self._stdout = stdout

    def error(self, message: str) -> None:  # type: ignore[override]
        raise errors.UsageError(message, f"Run {self.prog} --help for the options.")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            (self._stdout or sys.stdout).write(message)
        raise HelpRequested()

    def _print_message(self, message: str, file: TextIO | None = None) -> None:
        # --help and --version go to the stream the script was given (argparse would use sys.stdout).
        if message:
            target = self._stdout if file in (None, sys.stdout) and self._stdout else (file or sys.stderr)
            target.write(message)


@dataclass
class Context:
    """What a handler may use: the environment, the console, the working directory."""

    env: dict[str, str]
    console: Console
    cwd: Path = field(default_factory=Path.cwd)


def make_parser(prog: str, description: str, stdout: TextIO | None, *, epilog: str | None = None) -> Parser:
    """A parser with --version and the exit-code table in the help epilog."""
    parser = Parser(prog=prog, description=description, stdout=stdout, epilog=epilog or EXIT_CODES_HELP,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """Options every script shares: backend, project, config, defaults display, debug."""
    group = parser.add_argument_group("backend and settings")
    group.add_argument("--backend", choices=["auto", "gemini-api", "vertex", "cliproxy"], default=None,
                       help="Which API to use (default auto: see README 'Choosing a backend').")
    group.add_argument("--project", default=None, metavar="NAME", help="Project name from mediagen.yaml.")
    group.add_argument("--location", default=None, help="Vertex location (default: the model's own, from the catalog).")
    group.add_argument("--config", default=None, metavar="FILE", help="Config file (default: ./mediagen.yaml, "
                       "then the user config dir; or $MEDIAGEN_CONFIG).")
    group.add_argument("--show-defaults", action="store_true",
                       help="Print every effective setting and where it came from, then exit (sends nothing).")
    group.add_argument("--debug", action="store_true", help="Re-raise errors with a traceback on stderr.")


def add_spend_options(parser: argparse.ArgumentParser) -> None:
    """Options of scripts that spend money."""
    group = parser.add_argument_group("cost and safety")
    group.add_argument("--dry-run", action="store_true",
                       help="Validate and print the exact request (secrets masked); send nothing.")
    group.add_argument("--estimate-cost", action="store_true", help="Print the cost estimate and exit.")
    group.add_argument("--max-cost", type=float, default=None, metavar="USD",
                       help="Refuse to send when the estimate is above this many US dollars.")


def run_command(command: str, argv: list[str] | None, build: Callable[[TextIO], Parser], handler: Handler, *,
                env: Mapping[str, str] | None = None, stdout: TextIO | None = None,
                stderr: TextIO | None = None) -> int:
    """Parse ``argv``, run ``handler``, print one JSON document, return the exit code."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    environ = dict(os.environ if env is None else env)
    console = Console(stderr)
    debug = bool(environ.get("MEDIAGEN_DEBUG"))
    try:
        parser = build(stdout)
        args = parser.parse_args(argv)
        debug = debug or getattr(args, "debug", False)
        result = handler(args, Context(environ, console))
        emit(stdout, {"ok": True, "command": command, **result, "warnings": console.warnings})
        return errors.ExitCode.OK
    except HelpRequested:
        return errors.ExitCode.OK
    except KeyboardInterrupt:
        failure = errors.Interrupted("interrupted", "Nothing was lost: running jobs can be resumed with "
                                                    "scripts/jobs.py list.")
        emit(stdout, _failure(command, failure, console))
        return errors.ExitCode.INTERRUPTED
    except errors.MediagenError as exc:
        if debug:
            stderr.write(redact_text(traceback.format_exc()))
        emit(stdout, _failure(command, exc, console))
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the contract promises JSON even for bugs
        stderr.write(redact_text(traceback.format_exc()) if debug else
                     f"mediagen: internal error: {redact_text(repr(exc))} (rerun with --debug for a traceback)\n")
        internal = errors.MediagenError(f"internal error: {exc!r}",
                                        "This is a bug in mediagen: rerun with --debug and report it.")
        internal.type = "internal"
        emit(stdout, _failure(command, internal, console))
        return errors.ExitCode.INTERNAL


def _failure(command: str, exc: errors.MediagenError, console: Console) -> dict[str, Any]:
    doc: dict[str, Any] = {"ok": False, "command": command, "error": exc.to_dict(),
                           "exit_code": int(exc.exit_code), "warnings": console.warnings}
    extra = getattr(exc, "result", None)        # partial results (e.g. some images of --count saved)
    if isinstance(extra, dict):
        doc.update({k: v for k, v in extra.items() if k not in doc})
    return doc


def emit(stream: TextIO, doc: dict[str, Any]) -> None:
    """Write the one JSON document (redacted) followed by a newline."""
    stream.write(json.dumps(redact(doc), indent=2, ensure_ascii=False, default=_json_default) + "\n")
    stream.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


EXIT_CODES_HELP = """exit codes:
  0 ok | 1 internal error | 2 usage or invalid request | 3 config/credentials
  4 API rejected the request | 5 API/server failure after retries | 6 timeout
  7 blocked by safety filters / no output | 8 job still running (resume with jobs.py)
  9 over --max-cost | 130 interrupted
stdout carries exactly one JSON document; progress goes to stderr."""


@dataclass
class GenerationStart:
    """What every generating script resolves before planning."""

    settings: Any
    prompt: str
    preset: Any
    catalog: Any


def start_generation(args: argparse.Namespace, ctx: Context, kind: str, cli: dict[str, Any]) -> GenerationStart:
    """Settings (warnings reported), the prompt, the preset and the catalog, in that order."""
    from mediagen.app.runtime import load_catalog
    from mediagen.config.presets import get_preset
    from mediagen.config.settings import resolve_settings

    settings = resolve_settings(cli, ctx.env, config_path=args.config, project=args.project, kind=kind)
    for warning in settings.warnings:
        ctx.console.warn(warning)
    prompt = read_prompt(args, sys.stdin, required=not args.show_defaults)
    preset = get_preset(kind, args.preset) if args.preset else None
    return GenerationStart(settings, prompt, preset, load_catalog(ctx.env))


def presets_listing(kind: str) -> dict[str, Any]:
    """``--list-presets`` output."""
    from mediagen.config.presets import load_presets

    return {"presets": {name: {"description": p.description, "values": p.values}
                        for name, p in load_presets(kind).items()}}


def preview(args: argparse.Namespace, plan: Any, setting_keys: tuple[str, ...],
            requests: list[Any]) -> dict[str, Any] | None:
    """The free outcomes (--show-defaults, --estimate-cost, --dry-run) after the budget check; None = go."""
    from mediagen.config.credentials import placeholder_headers
    from mediagen.ops.ledger import check_budget

    summary = plan.describe()
    if args.show_defaults:
        return {**summary, "settings": plan.settings.show(setting_keys)}
    if args.estimate_cost:
        return {**summary, "estimate": plan.estimate.to_dict()}
    check_budget(plan.estimate.usd, plan.settings.get("max_cost"), priced=plan.estimate.priced)
    if args.dry_run:
        return {**summary, "dry_run": True,
                "requests": describe_requests(requests, placeholder_headers(plan.choice.credential))}
    return None


def read_prompt(args: argparse.Namespace, stdin: TextIO, *, required: bool = True) -> str:
    """The prompt from the positional argument, ``-`` (stdin) or ``--prompt-file`` (never from a shell line)."""
    given = getattr(args, "prompt", None)
    path = getattr(args, "prompt_file", None)
    if given and path:
        raise errors.UsageError("give the prompt either as an argument or with --prompt-file, not both",
                                "Drop one of them.")
    if path:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise errors.UsageError(f"cannot read --prompt-file {path}: {exc}", "Check the path.") from exc
    elif given == "-":
        text = stdin.read()
    else:
        text = given or ""
    text = text.strip()
    if required and not text:
        raise errors.UsageError("no prompt given", "Pass the prompt as an argument, '-' for stdin, or "
                                                    "--prompt-file FILE.")
    return text


def describe_requests(requests: list[Any], auth_headers: dict[str, str]) -> list[dict[str, Any]]:
    """Distinct requests for --dry-run, secrets masked and base64 payloads elided."""
    shown: list[dict[str, Any]] = []
    for request in requests:
        doc = elide_base64(request.describe(auth_headers))
        if shown and shown[-1]["request"] == doc:
            shown[-1]["repeat"] += 1
        else:
            shown.append({"request": doc, "repeat": 1})
    return shown


def elide_base64(value: Any, limit: int = 256) -> Any:
    """Replace long space-free strings (base64 media, data: URIs) with a short description."""
    if isinstance(value, str) and len(value) > limit and not any(c.isspace() for c in value[:limit]):
        return f"<{len(value)} characters elided>"
    if isinstance(value, dict):
        return {k: elide_base64(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [elide_base64(v, limit) for v in value]
    return value
