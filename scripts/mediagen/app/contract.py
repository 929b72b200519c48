"""The output contract, built in one place for every face (``schemas/result.schema.json``).

A run ends in exactly one document. On success it is the use case's result
with ``ok: true``; on failure it is the error object (type, message, hint)
plus the exit code and whatever the run achieved first (saved images, the
budget of a refused storyboard). The command line prints the document; the
MCP face returns it as a tool result. Any exception becomes a
``MediagenError`` here: Ctrl-C is ``Interrupted``, anything unexpected an
``InternalError`` (exit 1 means a bug).
"""
from __future__ import annotations

from typing import Any

from mediagen.core import errors
from mediagen.core.redaction import redact
from mediagen.core.resources import script_command

INTERRUPTED_HINT = f"Nothing was lost: running jobs can be resumed with {script_command('jobs.py', 'list')}."


def as_error(exc: BaseException, *, bug_hint: str) -> errors.MediagenError:
    """The ``MediagenError`` a face reports for any exception."""
    if isinstance(exc, errors.MediagenError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return errors.Interrupted("interrupted", INTERRUPTED_HINT)
    return errors.InternalError.wrapping(exc, bug_hint)


def success(result: dict[str, Any], *, name_key: str, name: str, warnings: list[str]) -> dict[str, Any]:
    """``{"ok": true, <name_key>: name, ...result, "warnings": [...]}``, secrets masked."""
    return redact({"ok": True, name_key: name, **result, "warnings": list(warnings)})


def failure(error: errors.MediagenError, *, name: str, warnings: list[str]) -> dict[str, Any]:
    """The command line's failure document: the error object, the exit code, and any partial result."""
    doc: dict[str, Any] = {"ok": False, "command": name, "error": error.to_dict(),
                           "exit_code": int(error.exit_code), "warnings": list(warnings)}
    if isinstance(error.partial, dict):
        doc.update({k: v for k, v in error.partial.items() if k not in doc})
    return redact(doc)


def tool_failure(error: errors.MediagenError, *, name: str, warnings: list[str]) -> dict[str, Any]:
    """The MCP tool's failure document: the error object's fields at the top, plus exit code and result."""
    doc: dict[str, Any] = {"ok": False, **error.to_dict(), "exit_code": int(error.exit_code), "tool": name,
                           "warnings": list(warnings)}
    if isinstance(error.partial, dict):
        doc["result"] = error.partial
    return redact(doc)
