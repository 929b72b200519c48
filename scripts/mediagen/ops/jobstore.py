"""The durable job store: one JSON record per long-running generation.

A record is written *before* the create request is sent (state
``submitting``) and again with the operation name *before* the first poll, so
a process killed at any point leaves enough behind to resume without paying
again. Records live in one file each, updated atomically under a per-job file
lock, so several processes (a killed script's successor, ``jobs.py``, the MCP
server) can share the store.

Records are typed: ``VideoJob`` (kind ``video``: Veo operations and Omni
interactions), ``BatchJob`` (kind ``image-batch``: Gemini Batch API jobs) and
``VertexBatchJob`` (kind ``vertex-batch``: Vertex batch prediction jobs), all
``JobRecord``s, written with ``"schema": 1`` (see ``mediagen.ops.records``).
Creations and state changes also go to the store's index (``ops/jobindex.py``),
so ``list`` reads one page of records, not all of them.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, TypeVar

from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.files import atomic_write_text, describe_os_error, file_lock
from mediagen.core.paths import user_state_dir
from mediagen.core.redaction import redact
from mediagen.core.resources import script_command
from mediagen.ops.jobindex import JobIndex
from mediagen.ops.records import Record

TERMINAL_STATES = frozenset({"succeeded", "failed", "blocked", "cancelled", "expired"})
ACTIVE_STATES = frozenset({"submitting", "running", "downloading"})
# "abandoned": nobody waits for the job any more (a Veo job "cancelled" locally, as Google has no cancel), but
# it may still finish and be billed, so jobs.py wait/download still fetch it; it is neither active nor terminal.
ABANDONED = "abandoned"


@dataclass(kw_only=True)
class JobRecord(Record):
    """What every job record holds: identity, state, backend, model, estimate, and how its polls went."""

    created: str | None = None
    job_id: str
    kind: str = "video"
    state: str = "submitting"
    provider: str | None = None
    backend: dict[str, Any] = field(default_factory=dict)
    express: bool = False
    model: dict[str, Any] = field(default_factory=dict)
    mode: str | None = None
    prompt: str | None = None
    estimate: dict[str, Any] = field(default_factory=dict)
    polls: int = 0
    updated: str | None = None
    handle: str | None = None               # the operation / interaction / batch name, once accepted
    submitted: str | None = None
    submitted_epoch: float | None = None
    last_poll: str | None = None
    remote_state: str | None = None
    error: dict[str, Any] | None = None
    outputs: list[dict[str, Any]] | None = None
    actual_usd: float | None = None
    finished: str | None = None

    def missing(self) -> list[str]:
        """The fields every job command needs that this record lacks: the job id, model id and backend name."""
        found = [] if self.job_id else ["job_id is missing"]
        if not isinstance(self.model.get("id"), str):
            found.append("model.id is missing")
        if not isinstance(self.backend.get("name"), str):
            found.append("backend.name is missing")
        return found


@dataclass(kw_only=True)
class VideoJob(JobRecord):
    """A video job: a Veo operation or an Omni interaction, and where its result goes."""

    kind: str = "video"
    location: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    extend_source: dict[str, Any] | None = None
    request: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    pricing: dict[str, Any] | None = None
    first_poll_s: float | None = None
    usage: dict[str, Any] | None = None
    planned: list[str] | None = None        # final paths of the results, chosen before any download starts
    session: dict[str, Any] | None = None   # the conversation its result joins (ops.conversations)


@dataclass(kw_only=True)
class BatchJob(JobRecord):
    """A Gemini Batch API job of image items from a batch file, and its results file."""

    kind: str = "image-batch"
    input: dict[str, Any] = field(default_factory=dict)
    results_file: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    create_sent: str | None = None


@dataclass(kw_only=True)
class VertexBatchJob(BatchJob):
    """A Vertex batch prediction job of image items: its region, JSONL input and output folder in Cloud Storage."""

    kind: str = "vertex-batch"
    location: str | None = None
    input_uri: str | None = None            # the uploaded JSONL (set once the upload finished)
    output_prefix: str | None = None
    output_dir: str | None = None           # the folder the job wrote its predictions*.jsonl into


JOB_KINDS: dict[str, type[JobRecord]] = {"video": VideoJob, "image-batch": BatchJob, "vertex-batch": VertexBatchJob}
J = TypeVar("J", bound=JobRecord)


def job_from_json(doc: Mapping[str, Any]) -> JobRecord:
    """The typed record of a job file (by its ``kind``; records without one are video jobs)."""
    return JOB_KINDS.get(str(doc.get("kind") or "video"), JobRecord).from_json(doc)


class DamagedRecord(errors.ConfigError):
    """A job record that cannot be used: not JSON, not an object, or fields of the wrong type (exit 3)."""

    type = "damaged_record"

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"the job record {path} is damaged: {problem}",
                         "Inspect the file, then repair or move it away; "
                         f"{script_command('jobs.py', 'list')} shows the other jobs.",
                         details={"file": str(path), "problem": problem})
        self.path = path
        self.problem = problem


def read_record(path: Path, *, complete: bool = False) -> JobRecord:
    """The typed record in ``path``, or ``DamagedRecord`` naming the file and what is wrong with it.

    ``complete`` also requires what the job commands act on (``JobRecord.missing``).
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:         # RecursionError: nested deeper than the parser goes
        raise DamagedRecord(path, f"not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise DamagedRecord(path, f"it holds a JSON {type(doc).__name__}, not an object")
    try:
        record = job_from_json(doc)
    except TypeError as exc:
        raise DamagedRecord(path, str(exc)) from exc
    problems = record.problems() or (record.missing() if complete else [])
    if problems:
        raise DamagedRecord(path, "; ".join(problems))
    return record


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
        self.index = JobIndex(self.folder)

    def check_folder(self) -> None:
        """Refuse (exit 3, the path named) a job store that is a regular file rather than a folder."""
        if self.folder.exists() and not self.folder.is_dir():
            raise errors.ConfigError(f"the job store {self.folder} is a regular file, not a folder",
                                     "Point the job_store setting (MEDIAGEN_JOB_STORE) at a folder, or move the file "
                                     "away.", details={"path": str(self.folder)})

    def path(self, job_id: str) -> Path:
        """The record file of ``job_id`` (ids with path separators are refused)."""
        if not job_id or any(c in job_id for c in "/\\\x00") or job_id.startswith("."):
            raise errors.UsageError(f"not a job id: {job_id!r}",
                                    f"Run {script_command('jobs.py', 'list')} to see job ids.")
        return self.folder / f"{job_id}.json"

    @contextlib.contextmanager
    def locked(self, job_id: str, timeout: float = 600.0) -> Iterator[None]:
        """Hold the job's lock (used around polls that may download, so one process downloads)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            with file_lock(self.folder / f"{job_id}.lock", timeout=timeout):
                yield
        except TimeoutError as exc:
            raise errors.StillRunning(f"job {job_id} is busy in another process",
                                      f"Try {script_command('jobs.py', 'status', job_id)} later.") from exc

    def create(self, record: J) -> J:
        """Write a new record (its ``job_id`` must be unused); the creation time leads the file."""
        record.written = {"created": None, **record.written}
        record.set(created=record.created or now_iso(), updated=now_iso())
        path = self.path(record.job_id)
        with self.index.recording(record.job_id, record.created, record.state, new=True):
            if path.exists():
                raise errors.UsageError(f"job {record.job_id} already exists", "Use a new job id.")
            self._write(path, record)
        return record

    def get(self, job_id: str, expected: type[J] = JobRecord, *, complete: bool = False) -> J:
        """The record, or ``UsageError`` naming how to list jobs (or saying it is not an ``expected`` job).

        A damaged file is a ``DamagedRecord`` (exit 3) naming it; ``complete`` also requires the
        fields the job commands act on.
        """
        path = self.path(job_id)
        self.check_folder()
        try:
            record = read_record(path, complete=complete)
        except FileNotFoundError as exc:
            raise errors.UsageError(f"no job {job_id} in {self.folder}",
                                    f"Run {script_command('jobs.py', 'list')} (or set MEDIAGEN_JOB_STORE to the right "
                                    "store).") from exc
        except OSError as exc:
            raise errors.ConfigError(f"cannot read the job record {path}: {describe_os_error(exc)}",
                                     "Check the job store folder (MEDIAGEN_JOB_STORE).") from exc
        if not isinstance(record, expected):
            raise errors.UsageError(f"job {job_id} is a {record.kind} job, not a {expected.__name__} record",
                                    f"Check it with {script_command('jobs.py', 'status', job_id)}.")
        return record

    def update(self, job_id: str, **changes: Any) -> JobRecord:
        """Merge ``changes`` into the record atomically (read-modify-write under a short lock)."""
        with file_lock(self.folder / f"{job_id}.record.lock", timeout=30):
            record = self.get(job_id)
            was = record.state
            record.set(**changes, updated=now_iso())
            if record.state == was:
                self._write(self.path(job_id), record)
                return record
            with self.index.recording(job_id, record.created, record.state, was):   # a state change: indexed
                self._write(self.path(job_id), record)
        return record

    def list(self, state: str | None = None, limit: int | None = None) -> list[JobRecord]:
        """Readable records, newest first (optionally only one state, or ``active``; at most ``limit``)."""
        return self.scan(state, limit)[0]

    def scan(self, state: str | None = None,
             limit: int | None = None) -> tuple[list[JobRecord], list[DamagedRecord]]:
        """Readable records (newest first, optionally one state or ``active``, at most ``limit``) and damaged files.

        The index picks the records, so a page costs the same however many jobs the store holds; it lists
        damaged files first, so they are named on every page.
        """
        self.check_folder()
        if not self.folder.is_dir():
            return [], []
        records: list[JobRecord] = []
        damaged: list[DamagedRecord] = []
        with contextlib.closing(self.index.newest_first(state)) as entries:
            for entry in entries:
                if not _plain(entry.job_id):
                    continue
                try:
                    record = read_record(self.folder / f"{entry.job_id}.json", complete=True)
                except DamagedRecord as exc:
                    damaged.append(exc)
                    continue
                except OSError:
                    continue            # vanished while listing (another process finished it)
                if _in_state(record, state):
                    records.append(record)
                if limit is not None and len(records) >= limit:
                    break
        return records, damaged

    def planned_elsewhere(self, job_id: str) -> set[Path]:
        """Final paths other unfinished jobs have planned for their results (never offered to a new job)."""
        return {Path(p) for record in self.list() if record.job_id != job_id and record.state not in TERMINAL_STATES
                for p in getattr(record, "planned", None) or []}

    def _write(self, path: Path, record: JobRecord) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(redact(record.to_json()), indent=2, ensure_ascii=False, default=str)
        atomic_write_text(path, text + "\n", private=True)


def _plain(job_id: str) -> bool:
    """A job id that names a file inside the store (an index edited by hand could say anything)."""
    return bool(job_id) and not any(c in job_id for c in "/\\") and not job_id.startswith(".")


def _in_state(record: JobRecord, state: str | None) -> bool:
    if state == "active":
        return record.state in ACTIVE_STATES
    return not state or record.state == state
