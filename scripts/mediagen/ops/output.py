"""Saving results: unique names, atomic writes, and the JSON sidecar next to each file.

A name is reserved with an exclusive create before anything is written, so
parallel workers (``--count``) and concurrent scripts never overwrite each
other or an existing file. Bytes go to a temporary file in the same folder and
are renamed into place, so a crash never leaves a half-written image under
its final name. Each saved file gets a ``Sidecar`` (``fox.png`` -> ``fox.json``)
written with ``"schema": 1`` (see ``mediagen.ops.records``).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from mediagen.core import errors
from mediagen.core.files import atomic_write_text, partial_path
from mediagen.core.redaction import redact
from mediagen.ops.records import Record

EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/heic": ".heic",
              "image/heif": ".heif", "image/gif": ".gif", "video/mp4": ".mp4", "video/quicktime": ".mov",
              "video/webm": ".webm"}
MEDIA_SUFFIXES = frozenset(EXTENSIONS.values()) | {".jpeg"}
SIDECAR_SUFFIX = ".json"


def extension_for(mime_type: str | None, default: str = ".bin") -> str:
    """The file extension for a MIME type."""
    return EXTENSIONS.get((mime_type or "").split(";")[0].strip().lower(), default)


def slug(text: str, words: int = 6, max_len: int = 48) -> str:
    """A short, file-system-safe name from a prompt ("A red fox, in snow!" -> "a-red-fox-in-snow")."""
    tokens = re.findall(r"[a-z0-9]+", text.lower())[:words]
    return ("-".join(tokens)[:max_len].strip("-")) or "media"


def timestamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


class OutputPlan:
    """Where results go: a folder (names derived from the prompt) or an explicit file name."""

    def __init__(self, target: str | Path | None, default_dir: str | Path, prompt: str, kind: str) -> None:
        path = Path(target).expanduser() if target else Path(default_dir).expanduser()
        self.explicit_file = bool(target) and path.suffix.lower() in MEDIA_SUFFIXES
        self.folder = (path.parent if self.explicit_file else path).resolve()
        self.stem = path.stem if self.explicit_file else f"{slug(prompt)}-{timestamp()}"
        self.requested_suffix = path.suffix.lower() if self.explicit_file else None
        self.kind = kind

    def reserve(self, mime_type: str | None, index: int | None = None) -> Path:
        """Reserve and return a fresh path for one result (``stem[-index][-n].ext``)."""
        suffix = extension_for(mime_type, ".png" if self.kind == "image" else ".mp4")
        stem = self.stem if index is None else f"{self.stem}-{index}"
        return reserve_unique(self.folder, stem, suffix)

    def describe(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "stem": self.stem, "explicit_file": self.explicit_file}


def reserve_unique(folder: Path, stem: str, suffix: str) -> Path:
    """Create ``folder/stem{suffix}`` (or ``stem-2``, ``stem-3``...) exclusively; its sidecar and part names free."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        name = stem if n == 1 else f"{stem}-{n}"
        path = folder / f"{name}{suffix}"
        if sidecar_path(path).exists() or partial_path(path).exists():     # a .part reserves a download's name
            continue
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise FileExistsError(f"no free name for {stem}{suffix} in {folder}")


@dataclass(kw_only=True)
class Sidecar(Record):
    """What made a saved image or video and what it cost: the JSON file next to it.

    Images fill the pixel size, videos the duration, mode and job; every field a
    kind does not use stays unset (and is not written).
    """

    mediagen_version: str | None = None
    kind: str | None = None
    created: str | None = None
    file: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    duration_s: float | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    mode: str | None = None
    model: dict[str, Any] | None = None
    backend: dict[str, Any] | None = None
    location: str | None = None
    job_id: str | None = None
    operation: str | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[dict[str, Any]] | None = None
    extend_source: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    response_id: str | None = None
    text: str | None = None
    cost: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None
    safety: dict[str, Any] | None = None
    remote: dict[str, Any] | None = None        # a Gemini file URI (and its expiry) or a gs:// copy
    gcs_uri: str | None = None                  # where --upload-gcs put the file
    omni: dict[str, Any] | None = None          # the interaction id an extension continues from
    batch: dict[str, Any] | None = None         # the batch line and key the file came from
    session: dict[str, Any] | None = None       # the conversation turn that made it: {"id", "turn", "parent"}


def sidecar_path(media: Path) -> Path:
    """``fox.png`` -> ``fox.json``."""
    return media.with_suffix(SIDECAR_SUFFIX)


def write_sidecar(media: Path, sidecar: Sidecar) -> Path:
    """Write the (redacted) sidecar next to ``media`` atomically."""
    path = sidecar_path(media)
    text = json.dumps(redact(sidecar.to_json()), indent=2, ensure_ascii=False, default=str) + "\n"
    atomic_write_text(path, text)
    return path


def read_sidecar(media: Path) -> Sidecar | None:
    """The sidecar of a file, or None if there is none (or it is unreadable or damaged)."""
    try:
        return load_sidecar(media)
    except errors.UsageError:
        return None


def load_sidecar(media: Path) -> Sidecar | None:
    """The sidecar of a file, None if there is none, or a ``UsageError`` (exit 2) naming a damaged one."""
    path = sidecar_path(Path(media))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _damaged_sidecar(path, f"it cannot be read ({exc})") from exc
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:         # RecursionError: nested deeper than the parser goes
        raise _damaged_sidecar(path, f"it is not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise _damaged_sidecar(path, f"it holds a JSON {type(doc).__name__}, not an object")
    sidecar = Sidecar.from_json(doc)
    problems = sidecar.problems()
    if problems:
        raise _damaged_sidecar(path, "; ".join(problems))
    return sidecar


def _damaged_sidecar(path: Path, problem: str) -> errors.UsageError:
    return errors.UsageError(f"the sidecar {path} is damaged: {problem}",
                             f"Repair or move {path.name} away: mediagen reads it to continue the clip it describes "
                             "(without it the clip is treated as a plain video file).",
                             details={"file": str(path), "problem": problem})


def release(paths: Iterable[Path]) -> None:
    """Remove reserved-but-unused (empty) files after a failure."""
    for path in paths:
        try:
            if path.exists() and path.stat().st_size == 0:
                path.unlink()
        except OSError:
            pass


def image_size(data: bytes) -> tuple[int | None, int | None]:
    """Pixel width and height, read lazily with Pillow (None if unreadable)."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # noqa: BLE001
        return None, None
