"""Writing files atomically: a temporary file in the same folder, then one rename.

A crash never leaves a half-written file under its final name, and readers
see either the old content or the new one. ``private`` files (job records,
sessions) are readable by the owner only; others (media, sidecars, pages)
follow the process umask at the time they are written.
"""
from __future__ import annotations

import errno
import hashlib
import os
import secrets
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

# A full disk shows up as any of these: no space, over quota, or over the process's file size limit.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
PROBE_PREFIX = ".mediagen-probe-"


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


def partial_path(path: Path) -> Path:
    """``fox.mp4`` -> ``.fox.mp4.part``: where a download grows until it is complete (and what reserves the name)."""
    path = Path(path)
    return path.with_name(f".{path.name}.part")


def disk_full(exc: BaseException) -> bool:
    """Whether an error means the disk (or the quota, or the file size limit) is full."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL


def probe_folder(folder: Path) -> None:
    """Prove ``folder`` takes new files: create it if needed, then create, write, sync and remove a probe file.

    Raises the ``OSError`` that a real write would meet.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=folder)
    try:
        os.write(fd, b"mediagen write probe\n")
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(name)


def describe_os_error(exc: OSError) -> str:
    """A short reason for a failed write, in words a user acts on."""
    if disk_full(exc):
        return "the disk is full"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a regular file, not a folder"
    if exc.errno == errno.EISDIR:
        return "the path is a folder, not a file"
    if exc.errno == errno.EEXIST:
        return "a regular file is in the way"
    return exc.strerror or type(exc).__name__



@contextmanager
def file_lock(lock: Path, timeout: float) -> Iterator[None]:
    """Hold ``lock`` exclusively, across processes and threads; ``TimeoutError`` after ``timeout`` seconds.

    On POSIX this is the ``flock`` the filelock package takes there, without its import (about 9 ms, paid on
    every run: agents start a process per image); elsewhere (Windows) it is filelock itself. A lock file is
    never deleted (deleting one under a waiting process would let two holders in).
    """
    try:
        import fcntl
    except ImportError:                     # Windows
        from filelock import FileLock

        with FileLock(str(lock), timeout=timeout):
            yield
        return
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"the lock {lock} stayed busy for {timeout:g}s") from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)                        # closing the descriptor releases the lock
