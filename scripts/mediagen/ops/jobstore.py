"""The durable job store: one JSON record per long-running generation.

A record is written *before* the create request is sent (state
``submitting``) and again with the operation name *before* the first poll, so
a process killed at any point leaves enough behind to resume without paying
again. Records live in one file each, updated atomically under a per-job file
lock, so several processes (a killed script's successor, ``jobs.py``, the MCP
server) can share the store.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.files import atomic_write_text
from mediagen.core.paths import user_state_dir
from mediagen.core.redaction import redact

TERMINAL_STATES = frozenset({"succeeded", "failed", "blocked", "cancelled"})
ACTIVE_STATES = frozenset({"submitting", "running", "downloading"})


def default_store_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/mediagen/jobs`` (``%LOCALAPPDATA%\\mediagen\\jobs`` on Windows)."""
    return user_state_dir(env) / "jobs"


def store_for(settings: Settings) -> JobStore:
    """The store at ``job_store`` (config / ``MEDIAGEN_JOB_STORE``) or the per-user default."""
    path = settings.get("job_store")
    return JobStore(Path(path).expanduser() if path else default_store_dir(settings.env))


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def new_job_id(prefix: str = "vid") -> str:
    """A sortable, unique id such as ``vid-20261121-114500-3fa9c1``."""
    return f"{prefix}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


class JobStore:
    """Job records as ``<dir>/<job_id>.json`` with ``<job_id>.lock`` beside each."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, job_id: str) -> Path:
        if not job_id or any(c in job_id for c in "/\\") or job_id.startswith("."):
            raise errors.UsageError(f"not a job id: {job_id!r}", "Run scripts/jobs.py list to see job ids.")
        return self.folder / f"{job_id}.json"

    @contextmanager
    def locked(self, job_id: str, timeout: float = 600.0) -> Iterator[None]:
        """Hold the job's lock (used around polls that may download, so one process downloads)."""
        from filelock import FileLock, Timeout

        self.folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.folder / f"{job_id}.lock"), timeout=timeout)
        try:
            with lock:
                yield
        except Timeout as exc:
            raise errors.StillRunning(f"job {job_id} is busy in another process",
                                      f"Try scripts/jobs.py status {job_id} later.") from exc

    def create(self, record: dict[str, Any]) -> dict[str, Any]:
        """Write a new record (its ``job_id`` must be unused)."""
        record = {"created": now_iso(), **record, "updated": now_iso()}
        path = self.path(record["job_id"])
        if path.exists():
            raise errors.UsageError(f"job {record['job_id']} already exists", "Use a new job id.")
        self._write(path, record)
        return record

    def get(self, job_id: str) -> dict[str, Any]:
        """The record, or ``UsageError`` naming how to list jobs."""
        path = self.path(job_id)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise errors.UsageError(f"no job {job_id} in {self.folder}",
                                    "Run scripts/jobs.py list (or set MEDIAGEN_JOB_STORE to the right store).") from exc
        except ValueError as exc:
            raise errors.ConfigError(f"job record {path} is damaged: {exc}", "Inspect or delete the file.") from exc

    def update(self, job_id: str, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into the record atomically (read-modify-write under a short lock)."""
        from filelock import FileLock

        with FileLock(str(self.folder / f"{job_id}.record.lock"), timeout=30):
            record = self.get(job_id)
            record.update(changes)
            record["updated"] = now_iso()
            self._write(self.path(job_id), record)
        return record

    def list(self, state: str | None = None) -> list[dict[str, Any]]:
        """Every record, newest first (optionally only one state, or ``active``)."""
        if not self.folder.is_dir():
            return []
        records = []
        for path in self.folder.glob("*.json"):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if state == "active" and record.get("state") not in ACTIVE_STATES:
                continue
            if state and state != "active" and record.get("state") != state:
                continue
            records.append(record)
        return sorted(records, key=lambda r: r.get("created", ""), reverse=True)

    def _write(self, path: Path, record: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(redact(record), indent=2, ensure_ascii=False, default=str)
        atomic_write_text(path, text + "\n", private=True)
