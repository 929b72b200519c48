"""Check before paying: every place a paid result or its record will go is proven writable first.

A billable create that succeeds and then meets a folder it cannot write
costs money for nothing, so before any create the output folder, the job
store and the ledger are checked: each folder must be a folder (not a
regular file), and a probe file is created, written and removed in it. A
path that fails is refused with a ``ConfigError`` (exit 3) naming it. The
check cannot see the future (a disk may fill during a long job), which is
what the rescue folder (``mediagen.ops.rescue``) is for.
"""
from __future__ import annotations

from pathlib import Path

from mediagen.core import errors
from mediagen.core.files import describe_os_error, probe_folder


def check_before_paying(*, output: Path | None = None, store: Path | None = None,
                        ledger: Path | None = None, others: tuple[Path, ...] = ()) -> None:
    """Refuse (exit 3, the path named) unless every given destination can be written now.

    ``output`` and ``store`` (and ``others``) are folders; ``ledger`` is a file.
    """
    for folder, what in [(output, "output folder"), (store, "job store"),
                         *((other, "output folder") for other in others)]:
        if folder is not None:
            check_folder(Path(folder), what)
    if ledger is not None:
        check_file(Path(ledger), "ledger")


def check_folder(folder: Path, what: str) -> None:
    """``folder`` is (or can become) a folder that takes new files; else a ``ConfigError`` naming it."""
    if folder.exists() and not folder.is_dir():
        raise _refusal(what, folder, "it is a regular file, not a folder")
    try:
        probe_folder(folder)
    except OSError as exc:
        raise _refusal(what, folder, _reason(folder, exc)) from exc


def check_file(path: Path, what: str) -> None:
    """``path`` is (or can become) a regular file its folder lets us write; else a ``ConfigError`` naming it."""
    if path.is_dir():
        raise _refusal(what, path, "it is a folder, not a file")
    check_folder(path.parent, f"folder of the {what}")


def _reason(path: Path, exc: OSError) -> str:
    """Why a write failed, naming the regular file in the way when that is the cause."""
    for parent in [path, *path.parents]:
        if parent.exists():
            if not parent.is_dir():
                return f"{parent} is a regular file, not a folder"
            break
    return describe_os_error(exc)


def _refusal(what: str, path: Path, reason: str) -> errors.ConfigError:
    return errors.ConfigError(
        f"cannot write the {what} {path}: {reason}; nothing was sent",
        f"Point it at a folder you can write (the {_setting_hint(what)}), or free space on that disk, then "
        "run the command again: nothing was paid for.", details={"path": str(path), "what": what})


def _setting_hint(what: str) -> str:
    if "ledger" in what:
        return "ledger setting / MEDIAGEN_LEDGER"
    if "job store" in what:
        return "job_store setting / MEDIAGEN_JOB_STORE"
    return "-o / output_dir setting / MEDIAGEN_OUTPUT_DIR"
