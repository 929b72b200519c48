"""The job store's index: ``index.jsonl``, so listing the newest jobs reads one page, not every record.

One line per job creation or state change, appended under ``index.lock``
just before the record itself is written (the writer holds the lock for both)::

    {"job_id": "vid-...", "created": "2026-...", "state": "running", "was": "submitting",
     "top": "<latest created so far>", "count": 12, "names": 81263544}

``top`` is the latest creation time of any line up to this one, so a reader
going backwards from the end knows when no older line can hold a newer job,
and stops. ``count`` and ``names`` (the sum of the CRC-32s of their names)
describe the ``*.json`` files the folder holds once the write is done, and
``index.size`` holds the index's length in bytes. A listing checks them (one
directory read, one small file); when one is off (a record deleted or copied
in by hand, an index deleted, damaged or cut short, a process killed between
its index line and the size) the index is rebuilt
from the records, atomically, under the same lock: the listing is the same
as if there were no index. ``was`` keeps the state before a change, so a
state filter still finds a job whose record write never happened (a process
killed between its index line and its record); the records of the page are
read and checked anyway.

A ``*.json`` file that is not a record (not JSON, not an object, a state
that is not a name) is indexed as ``damaged`` with a creation time that
sorts after every real one, after the records' lines and outside ``top``:
every listing, whatever its filter, meets it first and names it, and the
walk still stops early.
"""
from __future__ import annotations

import heapq
import json
import os
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from mediagen.core.files import atomic_write_text, file_lock

INDEX_NAME = "index.jsonl"
SIZE_NAME = "index.size"
LOCK_NAME = "index.lock"
BLOCK = 1 << 16                # bytes read at a time, from the end
ACTIVE = frozenset({"submitting", "running", "downloading"})
DAMAGED = "damaged"            # the state of an indexed file that is not a readable record
NEWEST = "~"                   # its creation time: sorts after every ISO time, so listings meet it first


class Damaged(Exception):
    """The index cannot be trusted: rebuild it from the records."""


@dataclass(frozen=True)
class Entry:
    """A job as its latest index line describes it."""

    job_id: str
    created: str
    state: str | None
    was: str | None = None

    def matches(self, state: str | None) -> bool:
        """Whether the job may be in ``state`` (None: any; ``active``: submitting, running or downloading)."""
        if state is None or self.state == DAMAGED:
            return True
        states = {self.state, self.was}
        return bool(states & ACTIVE) if state == "active" else state in states


class JobIndex:
    """The index of the records in ``folder`` (each record is ``<job_id>.json``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / INDEX_NAME
        self.size_path = self.folder / SIZE_NAME

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the index lock (writers append and write their record under it; rebuilds run under it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with file_lock(self.folder / LOCK_NAME, timeout=60):
            yield

    @contextmanager
    def recording(self, job_id: str, created: str | None, state: str | None, was: str | None = None, *,
                  new: bool = False) -> Iterator[None]:
        """Note a job's creation (``new``) or change of state, then let the caller write its record, under the lock.

        Without a sound index nothing is noted: the next listing rebuilds it from the records.
        """
        with self.locked():
            last = self._sound_last()
            if last is None and not self.path.exists() and not _record_names(self.folder):
                self.rebuild()                  # a new store is indexed from its first job
                last = self._sound_last()
            if last is not None:
                created = created or ""
                self._append({"job_id": job_id, "created": created, "state": state, "was": was,
                              "top": max(str(last.get("top") or ""), created),
                              "count": last["count"] + (1 if new else 0),
                              "names": (last["names"] + (_name_sum([f"{job_id}.json"]) if new else 0)) % _MOD})
            yield

    def newest_first(self, state: str | None = None) -> Iterator[Entry]:
        """Jobs that may be in ``state``, newest first (by creation time, then id), healing the index first."""
        if not self._consistent():
            with self.locked():
                if not self._consistent():
                    self.rebuild()
        given: set[str] = set()
        try:
            for entry in self._walk(state):
                given.add(entry.job_id)
                yield entry
        except Damaged:
            with self.locked():
                self.rebuild()
            yield from (entry for entry in self._walk(state) if entry.job_id not in given)

    def rebuild(self) -> None:
        """Write the index again from the records (call it under ``locked()``)."""
        names = _record_names(self.folder)
        found = sorted(_entry_of(self.folder / name) for name in names)
        lines, top, folder = [], "", {"count": len(names), "names": _name_sum(names)}
        for created, job_id, state in found:
            if state != DAMAGED:
                top = max(top, created)
            lines.append(_line({"job_id": job_id, "created": created, "state": state, "top": top, **folder}))
        lines.append(_line({"job_id": None, "top": top, **folder}))      # says so for an empty store too
        text = "".join(lines)
        atomic_write_text(self.path, text, private=True)
        atomic_write_text(self.size_path, str(len(text.encode("utf-8"))), private=True)

    def _append(self, doc: dict[str, Any]) -> None:
        with open(self.path, "ab") as out:
            out.write(_line(doc).encode("utf-8"))
            size = out.tell()
        atomic_write_text(self.size_path, str(size), private=True)

    # -- reading -----------------------------------------------------------------------------

    def _consistent(self) -> bool:
        """The index is whole (its recorded size) and describes the ``*.json`` files the folder holds."""
        if not self.folder.is_dir():
            return True
        last = self._sound_last()
        names = _record_names(self.folder)
        return last is not None and last["count"] == len(names) and last.get("names") == _name_sum(names)

    def _sound_last(self) -> dict[str, Any] | None:
        """The index's last line, when the index has the size it was last written with (else None)."""
        try:
            recorded = int(self.size_path.read_text(encoding="ascii").strip())
            with open(self.path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size != recorded:
                    return None
                for line in _lines_backwards(handle):
                    return _parse(line)
        except (OSError, ValueError, Damaged):
            return None
        return None

    def _walk(self, state: str | None) -> Iterator[Entry]:
        """Entries from the end of the file, each yielded once no unread line can outrank it."""
        seen: set[str] = set()
        waiting: list[_Newest] = []
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            return
        with handle:
            for line in _lines_backwards(handle):
                doc = _parse(line)
                bound = str(doc.get("top") or "")
                while waiting and waiting[0].entry.created > bound:     # no unread line can hold a newer job
                    yield heapq.heappop(waiting).entry
                job_id = doc.get("job_id")
                if not job_id or job_id in seen:
                    continue
                seen.add(job_id)
                entry = Entry(str(job_id), str(doc.get("created") or ""), doc.get("state"), doc.get("was"))
                if entry.matches(state):
                    heapq.heappush(waiting, _Newest(entry))
        while waiting:
            yield heapq.heappop(waiting).entry


class _Newest:
    """Heap order for entries: the newest (by creation time, then id) first."""

    __slots__ = ("entry", "key")

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.key = (entry.created, entry.job_id)

    def __lt__(self, other: _Newest) -> bool:
        return self.key > other.key


def _line(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def _parse(line: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(line)
    except ValueError as exc:
        raise Damaged(f"unreadable index line: {line[:80]!r}") from exc
    if (not isinstance(doc, dict) or not isinstance(doc.get("count"), int) or not isinstance(doc.get("names"), int)
            or "job_id" not in doc):
        raise Damaged(f"not an index line: {line[:80]!r}")
    return doc


def _lines_backwards(handle: Any) -> Iterator[bytes]:
    """The file's lines, last first; a last line without its newline (a torn append) is damage."""
    handle.seek(0, os.SEEK_END)
    position = handle.tell()
    rest = b""
    first = True
    while position > 0:
        size = min(BLOCK, position)
        position -= size
        handle.seek(position)
        chunk = handle.read(size) + rest
        if first and not chunk.endswith(b"\n"):
            raise Damaged("the last line is cut short")
        first = False
        lines = chunk.split(b"\n")
        rest = lines.pop(0)
        for line in reversed(lines):
            if line.strip():
                yield line
    if rest.strip():
        yield rest


def _record_names(folder: Path) -> list[str]:
    """The ``*.json`` files of the folder (records, and any other JSON the listing skips)."""
    try:
        return [name for name in os.listdir(folder) if name.endswith(".json") and not name.startswith(".")]
    except FileNotFoundError:
        return []


def _name_sum(names: list[str]) -> int:
    """The sum of the names' CRC-32s: with the count, it tells when files were deleted or added behind our back."""
    return sum(zlib.crc32(name.encode("utf-8")) for name in names) % _MOD


_MOD = 1 << 48


def _entry_of(path: Path) -> tuple[str, str, str | None]:
    """(created, job_id, state) of a record; a file that is not one is ``damaged`` and listed first."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return NEWEST, path.stem, DAMAGED
    if not isinstance(doc, dict) or not isinstance(doc.get("state"), (str, type(None))):
        return NEWEST, path.stem, DAMAGED
    return str(doc.get("created") or ""), path.stem, doc.get("state")
