"""The command-line face: argument parsing, the run wrapper, and writing the one JSON document.

Each script parses its flags with argparse, turns them into a typed request
(``mediagen.app.requests``) and calls its use case. ``run_command`` is the one
place that writes the result, or the error the use case raised, as the output
contract's document on stdout and returns the exit code.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Mapping, TextIO, TypeVar

from mediagen import __version__
from mediagen.app import contract
from mediagen.app.context import Context
from mediagen.app.outcome import Outcome
from mediagen.app.requests import Spending, Where, field_meta
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.redaction import redact_text
from mediagen.core.yamlfile import read_text

Handler = Callable[[argparse.Namespace, Context], Outcome]
R = TypeVar("R")
BUG_HINT = "This is a bug in mediagen: rerun with --debug and report it."


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


def make_parser(prog: str, description: str, stdout: TextIO | None, *, epilog: str | None = None) -> Parser:
    """A parser with --version and the exit-code table in the help epilog."""
    parser = Parser(prog=prog, description=description, stdout=stdout, epilog=epilog or EXIT_CODES_HELP,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def option(group: Any, request_type: type, name: str, *short: str, **kwargs: Any) -> argparse.Action:
    """``--name-with-dashes`` for a request field, its help and choices taken from the request type."""
    meta = field_meta(request_type, name)
    text = meta.get("cli_help", meta["help"])
    kwargs.setdefault("help", text.replace("%", "%%") if text else text)     # argparse %-formats help
    if "choices" in meta and "action" not in kwargs:
        kwargs.setdefault("choices", list(meta["choices"]))
    if kwargs.get("type") is float:
        kwargs["type"] = number
    return group.add_argument(*short, "--" + name.replace("_", "-"), dest=name, **kwargs)


def number(text: str) -> float:
    """A decimal flag's value; ``nan`` is refused (it passes every comparison, so a cap or a wait would not hold)."""
    value = float(text)
    if math.isnan(value):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    return value


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """Options every script shares: backend, project, config, defaults display, debug."""
    group = parser.add_argument_group("backend and settings")
    option(group, Where, "backend")
    option(group, Where, "project", metavar="NAME")
    option(group, Where, "location")
    option(group, Where, "config", metavar="FILE")
    option(group, Where, "show_defaults", action="store_true")
    group.add_argument("--debug", action="store_true", help="Re-raise errors with a traceback on stderr.")


def add_spend_options(parser: argparse.ArgumentParser) -> None:
    """Options of scripts that spend money."""
    group = parser.add_argument_group("cost and safety")
    option(group, Spending, "dry_run", action="store_true")
    option(group, Spending, "estimate_cost", action="store_true")
    option(group, Spending, "max_cost", type=float, metavar="USD")


def request_from(request_type: type[R], args: argparse.Namespace, **values: Any) -> R:
    """The request whose fields the parsed flags (and ``values``) fill; repeated flags become tuples."""
    given = {}
    for item in fields(request_type):       # type: ignore[arg-type]
        value = values.get(item.name, getattr(args, item.name, None))
        if value is None and item.name not in values:
            continue
        given[item.name] = tuple(value) if isinstance(value, list) else value
    return request_type(**given)


def run_command(command: str, argv: list[str] | None, build: Callable[[TextIO], Parser], handler: Handler, *,
                env: Mapping[str, str] | None = None, stdout: TextIO | None = None,
                stderr: TextIO | None = None) -> int:
    """Parse ``argv``, run ``handler``, print one JSON document, return the exit code."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    console = Console(stderr)
    ctx = Context.of(env, console)
    debug = bool(ctx.process_setting("debug"))
    try:
        args = build(stdout).parse_args(argv)
        debug = debug or getattr(args, "debug", False)
        outcome = handler(args, ctx)
        emit(stdout, contract.success(outcome.document, name_key="command", name=command,
                                      warnings=console.warnings))
        return errors.ExitCode.OK
    except HelpRequested:
        return errors.ExitCode.OK
    except BaseException as exc:  # noqa: BLE001 - the contract promises JSON even for bugs and Ctrl-C
        if isinstance(exc, SystemExit):
            raise
        error = contract.as_error(exc, bug_hint=BUG_HINT)
        _report(stderr, exc, error, debug)
        emit(stdout, contract.failure(error, name=command, warnings=console.warnings))
        return error.exit_code


def _report(stderr: TextIO, exc: BaseException, error: errors.MediagenError, debug: bool) -> None:
    """A traceback on stderr with --debug; a one-line note for bugs otherwise."""
    if debug:
        import traceback  # lazy: only a failing --debug run prints one

        stderr.write(redact_text("".join(traceback.format_exception(exc))))
    elif isinstance(error, errors.InternalError):
        stderr.write(f"mediagen: internal error: {redact_text(repr(exc))} (rerun with --debug for a traceback)\n")


def _utf8(text: str, origin: str) -> str:
    """``text`` if it is text; Python hands bytes that are not UTF-8 over as lone surrogates, which are refused."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _not_utf8(origin, exc.start) from exc
    return text


def _read_all(stdin: TextIO) -> str:
    """All of stdin (a strict decoder raises where the usual one hands over surrogates)."""
    try:
        return stdin.read()
    except UnicodeDecodeError as exc:
        raise _not_utf8("stdin", exc.start) from exc


def _not_utf8(origin: str, position: int) -> errors.UsageError:
    return errors.UsageError(f"the prompt from {origin} is not UTF-8 text (a byte near position {position + 1} "
                             "cannot be decoded)", "Pass the prompt as UTF-8 text: set the terminal or the file to "
                                                   "UTF-8.")


def emit(stream: TextIO, doc: dict[str, Any]) -> None:
    """Write the one JSON document followed by a newline."""
    stream.write(json.dumps(doc, indent=2, ensure_ascii=False, default=_json_default) + "\n")
    stream.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _exit_codes_help() -> str:
    short = {code: text.split(" (")[0].split(":")[0] for code, text in errors.EXIT_CODE_MEANINGS.items()}
    items = [f"{int(code)} {text}" for code, text in short.items()]
    lines = ["  " + " | ".join(items[i:i + 3]) for i in range(0, len(items), 3)]
    return ("exit codes:\n" + "\n".join(lines) +
            "\nstdout carries exactly one JSON document; progress goes to stderr.")


EXIT_CODES_HELP = _exit_codes_help()


def read_prompt(args: argparse.Namespace, stdin: TextIO, *, required: bool = True) -> str:
    """The prompt from the positional argument, ``-`` (stdin) or ``--prompt-file`` (never from a shell line)."""
    given = getattr(args, "prompt", None)
    path = getattr(args, "prompt_file", None)
    if given and path:
        raise errors.UsageError("give the prompt either as an argument or with --prompt-file, not both",
                                "Drop one of them.")
    if path:
        text = read_text(Path(path).expanduser(), error=errors.UsageError, what="prompt")
    elif given == "-":
        text = _utf8(_read_all(stdin), "stdin")
    else:
        text = _utf8(given or "", "the command line")
    text = text.strip()
    if required and not text:
        raise errors.UsageError("no prompt given", "Pass the prompt as an argument, '-' for stdin, or "
                                                    "--prompt-file FILE.")
    return text
