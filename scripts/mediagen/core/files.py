"""Writing files atomically: a temporary file in the same folder, then one rename.

A crash never leaves a half-written file under its final name, and readers
see either the old content or the new one. ``private`` files (job records,
sessions) are readable by the owner only; others (media, sidecars, pages)
follow the process umask at the time they are written.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


@contextmanager
def atomic_path(path: Path, *, private: bool = False, suffix: str = ".part") -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it when the block ends without an error.

    For writers that need a path rather than a handle (ffmpeg).
    """
    path = Path(path)
    tmp = _new_temp(path.parent, f".{path.name}.", suffix, 0o600 if private else 0o666)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _new_temp(folder: Path, prefix: str, suffix: str, mode: int) -> Path:
    """Create an empty file with ``mode`` less the process umask, which the system applies as it creates it.

    (``tempfile.mkstemp`` always makes 0600 files; reading the umask to widen them would mean setting it.)
    """
    for _ in range(100):
        candidate = folder / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            fd = os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), mode)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(f"no free temporary name in {folder}")


@contextmanager
def atomic_output(path: Path, *, private: bool = False, suffix: str = ".part") -> Iterator[IO[bytes]]:
    """A binary handle whose content replaces ``path`` when the block ends without an error."""
    with atomic_path(path, private=private, suffix=suffix) as tmp:
        with open(tmp, "wb") as handle:
            yield handle


def atomic_write_bytes(path: Path, data: bytes, *, private: bool = False) -> str:
    """Write ``data`` to ``path`` atomically; return its sha256."""
    with atomic_output(path, private=private) as handle:
        handle.write(data)
    return hashlib.sha256(data).hexdigest()


def atomic_write_text(path: Path, text: str, *, private: bool = False) -> str:
    """Write UTF-8 ``text`` to ``path`` atomically; return its sha256."""
    return atomic_write_bytes(path, text.encode("utf-8"), private=private)
