"""The storyboard's ``manifest.json`` (its state, shot by shot) and the lock that keeps one run per folder.

A shot's job id is recorded *before* its create request is sent, so a rerun
polls that job instead of sending a second create request.
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from mediagen.core import errors
from mediagen.core.files import atomic_write_text, file_lock
from mediagen.ops.jobstore import now_iso

MANIFEST_NAME = "manifest.json"
RESUMABLE = frozenset({"submitting", "running", "error"})     # a job exists: poll it, never create again
STOPPED = frozenset({"failed", "blocked"})                     # needs --redo


class Manifest:
    """``manifest.json``: the storyboard's state, saved atomically after every change (thread-safe)."""

    def __init__(self, folder: Path, data: dict[str, Any]) -> None:
        self.folder = folder
        self.path = folder / MANIFEST_NAME
        self.data = data
        self._lock = threading.RLock()

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """The folder's manifest, or a new empty one when there is none yet."""
        path = folder / MANIFEST_NAME
        if not path.is_file():
            return cls(folder, {"version": 1, "created": now_iso(), "shots": [], "references": {}})
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as exc:     # RecursionError: nested deeper than the parser goes
            raise _damaged(path, str(exc)) from exc
        problem = _shape_problem(data)
        if problem:
            raise _damaged(path, problem)
        data.setdefault("references", {})
        return cls(folder, data)

    def shot(self, shot_id: str) -> dict[str, Any]:
        """The entry of shot ``shot_id`` (the stored dict itself; empty when it is not recorded)."""
        with self._lock:
            return next((s for s in self.data["shots"] if s["id"] == shot_id), {})

    def update_shot(self, shot_id: str, **changes: Any) -> dict[str, Any]:
        """Change a shot's entry and save; return a copy of the entry."""
        with self._lock:
            entry = self.shot(shot_id)
            entry.update(changes)
            self.save()
            return dict(entry)

    def update(self, **changes: Any) -> None:
        """Change top-level fields and save."""
        with self._lock:
            self.data.update(changes)
            self.save()

    def save(self) -> None:
        """Write the manifest atomically, stamping ``updated``."""
        with self._lock:
            self.data["updated"] = now_iso()
            self.folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps(self.data, indent=2, ensure_ascii=False, default=str) + "\n"
            atomic_write_text(self.path, text)

    def rel(self, path: Path | str) -> str:
        """A path inside the folder as a relative POSIX path (others stay absolute)."""
        path = Path(path).resolve()
        try:
            return path.relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return str(path)

    def abs(self, rel: str | None) -> Path | None:
        """A path recorded in the manifest as an absolute path (None when there is none)."""
        return None if not rel else (self.folder / rel).resolve()


def _shape_problem(data: Any) -> str | None:
    """What keeps a manifest from being used (None: nothing): the shots, with their ids, and the references."""
    if not isinstance(data, dict):
        return f"it holds a JSON {type(data).__name__}, not an object"
    shots = data.get("shots")
    if not isinstance(shots, list) or not all(isinstance(s, dict) and isinstance(s.get("id"), str) for s in shots):
        return "shots is not a list of shots with ids"
    if not isinstance(data.get("references", {}), dict):
        return "references is not an object"
    return None


def _damaged(path: Path, problem: str) -> errors.ConfigError:
    return errors.ConfigError(f"the manifest {path} is damaged: {problem}",
                              "Restore it, or use a new output folder (-o).", details={"file": str(path),
                                                                                   "problem": problem})


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One run per storyboard folder at a time (two would submit the same shots twice)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with file_lock(folder / ".storyboard.lock", timeout=0):
            yield
    except TimeoutError as exc:
        raise errors.UsageError(f"another storyboard.py run is working in {folder}",
                                "Wait for it to finish (or stop it), then rerun; nothing is lost.") from exc
