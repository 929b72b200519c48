"""A use case's typed result: the document for the output contract and the files it saved."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from mediagen.core import errors


@dataclass(frozen=True)
class SavedFile:
    """One file a run wrote: where, what type, and which role it plays (image, video, film, page)."""

    path: Path
    mime_type: str
    role: str


@dataclass(frozen=True)
class Outcome:
    """The result document (fields of the success document) and the files behind it."""

    document: dict[str, Any]
    files: tuple[SavedFile, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Prepared:
    """A priced, gated multi-item run that is ready to spend: ``start()`` runs it (a face may do so in the
    background); ``summary`` says what was started."""

    summary: dict[str, Any]
    start: Callable[[], Outcome]


def completed(prepared: Outcome | Prepared) -> Outcome:
    """Run a prepared run now (free outcomes are returned as they are)."""
    return prepared if isinstance(prepared, Outcome) else prepared.start()


def media_files(items: Iterable[dict[str, Any]] | None, role: str) -> tuple[SavedFile, ...]:
    """The saved files listed in a result (``images``/``videos`` entries with ``path`` and ``mime_type``)."""
    found = []
    for item in items or ():
        if isinstance(item, dict) and item.get("path"):
            found.append(SavedFile(Path(item["path"]), str(item.get("mime_type") or "application/octet-stream"),
                                   role))
    return tuple(found)


def require_positive(value: int | float | None, name: str, flag: str) -> None:
    """A count-like value must be at least 1 when given."""
    if value is not None and value < 1:
        raise errors.UsageError(f"{flag} must be at least 1", f"Use {flag} 1 or more ({name} in MCP).")
