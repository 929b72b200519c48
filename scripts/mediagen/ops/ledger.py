"""The cost ledger: one JSON line per paid (or refused, or blocked) generation.

Appends happen under a file lock, so concurrent scripts (``--count``, batch
runs, several terminals) never interleave lines. The estimate is written
before a run and reconciled with the actual cost after it, so a run killed
half-way still leaves its estimate on record.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Iterator, Mapping, TextIO

from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.files import describe_os_error, file_lock
from mediagen.core.paths import user_state_dir
from mediagen.core.redaction import redact

LEDGER_FILENAME = "ledger.jsonl"


def default_ledger_path(env: Mapping[str, str]) -> Path:
    """Per-user state folder: ``$XDG_STATE_HOME/mediagen`` (``%LOCALAPPDATA%\\mediagen`` on Windows)."""
    return user_state_dir(env) / LEDGER_FILENAME


def ledger_for(settings: Settings) -> Ledger:
    """The ledger at ``ledger`` (config/``MEDIAGEN_LEDGER``) or the per-user default."""
    path = settings.get("ledger")
    return Ledger(Path(path).expanduser() if path else default_ledger_path(settings.env))


class Ledger:
    """An append-only JSONL file guarded by ``<file>.lock``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """Append one entry (timestamped, secrets masked) and return it."""
        record = {"time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **entry}
        line = json.dumps(redact(record), ensure_ascii=False, sort_keys=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with file_lock(Path(str(self.path) + ".lock"), timeout=30):
                with open_private_append(self.path) as handle:
                    handle.write(line + "\n")
        except (IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            raise errors.ConfigError(f"cannot write the ledger {self.path}: {describe_os_error(exc)}",
                                     "Point the ledger setting (MEDIAGEN_LEDGER) at a file you can write.",
                                     details={"path": str(self.path)}) from exc
        return record

    def append_final(self, entry: Mapping[str, Any], max_cost: float | None,
                     console: Console | None = None) -> dict[str, Any]:
        """Append a run's final line; an actual cost above the cap is flagged (``over_cap``) and warned about."""
        return self.append(flag_over_cap(entry, max_cost, console))

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every entry, oldest first (unreadable lines are skipped)."""
        if not self.path.is_file():
            return
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue

    def spent_usd(self, since: dt.datetime | None = None) -> float:
        """Money spent: the last entry of each run counts its actual cost, or its estimate while it runs or
        when Google may have billed it without a result (``unknown``)."""
        last: dict[str, dict[str, Any]] = {}
        for n, entry in enumerate(self.entries()):
            if since and entry.get("time", "") < since.isoformat(timespec="seconds"):
                continue
            last[str(entry.get("run_id") or f"line-{n}")] = entry
        total = 0.0
        for entry in last.values():
            value = entry.get("actual_usd")
            if value is None and entry.get("status") in ("submitted", "running", "unknown"):
                value = entry.get("estimate_usd")
            total += float(value or 0.0)
        return round(total, 6)


def flag_over_cap(entry: Mapping[str, Any], max_cost: float | None,
                  console: Console | None = None) -> dict[str, Any]:
    """``entry`` with ``over_cap: true`` and the cap when its actual cost exceeds ``max_cost`` (warned loudly)."""
    actual = entry.get("actual_usd")
    if max_cost is None or not isinstance(actual, (int, float)) or actual <= float(max_cost) + 1e-9:
        return dict(entry)
    if console is not None:
        console.warn(warn_over_cap(float(actual), float(max_cost), f"run {entry.get('run_id')}"))
    return {**entry, "over_cap": True, "max_cost": float(max_cost)}


def warn_over_cap(actual: float, max_cost: float, what: str) -> str:
    """The warning for an actual cost above the cap (the estimate's worst case was within it)."""
    return (f"OVER CAP: the actual cost ${actual:.4f} of {what} is over the max cost ${max_cost:.4f}; Google "
            "billed more than the catalog's worst case. The ledger line says over_cap; correct the price with "
            "$MEDIAGEN_CATALOG_OVERRIDE (README: Spending safely)")


def open_private_append(path: Path) -> TextIO:
    """Open ``path`` for appending text, creating it readable by the owner only (it names prompts and costs)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    return os.fdopen(fd, "a", encoding="utf-8")


def describe_cost(estimate: Any) -> str:
    """``$0.1340 (prices as of 2026-10-08)`` or ``unpriced``, for progress lines."""
    if not estimate.priced or estimate.usd is None:
        return "unpriced (model not in the catalog)"
    return f"${estimate.usd:.4f} (prices as of {estimate.as_of})"
