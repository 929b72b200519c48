"""Paid results whose destination failed: kept in the rescue folder, named in the error, billed in the ledger.

When Google has answered (and billed) but the result cannot be written where
it was asked to go (the disk filled up, the folder vanished), the bytes are
written to the rescue folder instead: ``<per-user state folder>/rescue``,
else ``<system temp folder>/mediagen-rescue``. The error (``PaidNotSaved``,
exit 10) names the copies; when no folder takes them it says the result is
lost and names what identifies it (the run and request, the job, the remote
URI).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Mapping

from mediagen.core import errors
from mediagen.core.files import atomic_output, describe_os_error
from mediagen.core.paths import user_state_dir

RESCUE_FOLDER = "rescue"


def rescue_folders(env: Mapping[str, str]) -> list[Path]:
    """Where rescued results go, in order of preference."""
    return [user_state_dir(env) / RESCUE_FOLDER, Path(tempfile.gettempdir()) / "mediagen-rescue"]


def rescue(write: Callable[[IO[bytes]], Any], name: str, env: Mapping[str, str]) -> Path | None:
    """Write a paid result (``write`` fills a handle) into the first rescue folder that takes it; None if none does."""
    for folder in rescue_folders(env):
        path = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = _free_name(folder, Path(name).name)
            with atomic_output(path) as handle:
                write(handle)
            return path
        except OSError:
            _forget(path)
    return None


def _forget(path: Path | None) -> None:
    """Remove a rescue name claimed for a copy that could not be written."""
    try:
        if path is not None:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def _free_name(folder: Path, name: str) -> Path:
    """``name`` in ``folder``, or ``stem-2.ext``, ``stem-3.ext``... when it is taken (claimed exclusively)."""
    stem, suffix = os.path.splitext(name)
    for n in range(1, 10_000):
        path = folder / (name if n == 1 else f"{stem}-{n}{suffix}")
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free name for {name} in {folder}")


def paid_not_saved(what: str, target: Path, exc: OSError, rescued: list[Path], *, identity: str,
                   recover: str, remote: str | None = None) -> errors.PaidNotSaved:
    """The error for paid results that could not be written to ``target`` (``rescued``: the copies kept).

    ``remote`` says where Google still holds the result (a job that can be downloaded again).
    """
    reason = describe_os_error(exc)
    if remote and not rescued:
        return errors.PaidNotSaved(
            f"{what} was paid for but could not be written to {target} ({reason}); Google still holds it "
            f"({remote})", f"Free space on that disk. {recover}".strip(),
            details={"target": str(target), "identity": identity, "remote": remote})
    if rescued:
        kept = ", ".join(str(p) for p in rescued)
        return errors.PaidNotSaved(
            f"{what} was paid for but could not be written to {target} ({reason}); it was kept in the rescue "
            f"folder: {kept}",
            f"Move {kept} where you want it (nothing is lost). {recover}".strip(),
            rescued=[str(p) for p in rescued], details={"target": str(target), "identity": identity})
    return errors.PaidNotSaved(
        f"{what} was paid for but could not be written to {target} ({reason}), and no rescue folder could take "
        f"it either: the result is lost ({identity})",
        f"Free space on that disk. {recover}".strip(), details={"target": str(target), "identity": identity})
