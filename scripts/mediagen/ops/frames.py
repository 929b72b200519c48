"""Video helpers on ffmpeg/ffprobe: duration, stream facts, and still frames.

ffmpeg is an external program (installed by the user, or by CI). Its causes
of failure each have one exit code: a missing ffmpeg/ffprobe is a
``ConfigError`` (exit 3) naming one-line installs, found before anything is
spent (``require_tools``); a tool that runs but fails on a file is
``LocalToolFailed`` (exit 5). The tools never read the caller's stdin, so a
``while read`` loop around a script keeps its input.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediagen.core import errors

if TYPE_CHECKING:
    import subprocess

TOOLS = ("ffmpeg", "ffprobe")
INSTALL_HINT = ("Install ffmpeg, which brings ffprobe (Debian/Ubuntu: sudo apt install ffmpeg; macOS: brew install "
                "ffmpeg; Windows: winget install Gyan.FFmpeg), then open a new terminal so it is on PATH.")


def require(tool: str = "ffmpeg") -> str:
    """The path of ffmpeg/ffprobe, or a ``ConfigError`` naming how to install it."""
    path = shutil.which(tool)
    if not path:
        raise errors.ConfigError(f"{tool} is not installed (not found on PATH)", INSTALL_HINT)
    return path


def missing_tools() -> list[str]:
    """The ones of ffmpeg and ffprobe that are not on PATH."""
    return [tool for tool in TOOLS if not shutil.which(tool)]


def require_tools(purpose: str) -> None:
    """Refuse (``ConfigError``, exit 3) when ffmpeg or ffprobe is missing; ``purpose`` names what needs them."""
    missing = missing_tools()
    if missing:
        raise errors.ConfigError(f"{purpose} needs {' and '.join(missing)}, which "
                                 f"{'is' if len(missing) == 1 else 'are'} not installed; nothing was sent",
                                 INSTALL_HINT, details={"missing": missing})


def missing_warning(purpose: str) -> str | None:
    """The warning an estimate or dry run gives when the real run would be refused for a missing tool."""
    missing = missing_tools()
    if not missing:
        return None
    return (f"{purpose} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed: "
            f"the real run will be refused until then. {INSTALL_HINT}")


def tool_versions() -> dict[str, dict[str, Any]]:
    """For ffmpeg and ffprobe: whether found, where, and the version line they print."""
    found: dict[str, dict[str, Any]] = {}
    for tool in TOOLS:
        path = shutil.which(tool)
        version = None
        if path:
            done = run_tool([path, "-version"])
            words = ((done.stdout or "").splitlines() or [""])[0].split()
            # "ffmpeg version 6.1.1-3ubuntu5 Copyright ..." -> "6.1.1-3ubuntu5"
            version = words[2] if done.returncode == 0 and len(words) > 2 and words[1] == "version" else None
        found[tool] = {"found": bool(path), "path": path, "version": version}
    return found


def run_tool(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg/ffprobe without a stdin (it would eat the caller's), capturing text output."""
    import subprocess  # here: image runs import this module but start no tool (subprocess costs ~1 ms)

    try:
        return subprocess.run(command, capture_output=True, text=True, encoding="utf-8", errors="replace",
                              stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        raise errors.LocalToolFailed(f"{Path(command[0]).name} could not start: {exc}", INSTALL_HINT) from exc


def probe(path: Path) -> dict[str, Any]:
    """ffprobe's format and streams as JSON."""
    command = [require("ffprobe"), "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    done = run_tool(command)
    if done.returncode != 0:
        raise errors.LocalToolFailed(f"ffprobe cannot read {path}: {done.stderr.strip()[:200]}",
                                     "Check that the file is a complete video (it plays in a player).")
    try:
        return json.loads(done.stdout or "{}")
    except ValueError as exc:
        raise errors.LocalToolFailed(f"ffprobe gave no readable answer for {path}",
                                     "Check the ffmpeg installation (ffprobe -version).") from exc


def duration(path: Path) -> float:
    """The duration in seconds."""
    info = probe(path)
    value = (info.get("format") or {}).get("duration")
    if value is None:
        streams = [s for s in info.get("streams", []) if s.get("duration")]
        value = streams[0]["duration"] if streams else 0
    return float(value)


def duration_or_none(path: Path) -> float | None:
    """The duration in seconds rounded to milliseconds, or None when ffprobe cannot tell."""
    try:
        return round(duration(path), 3)
    except errors.MediagenError:
        return None


def parse_time(value: str | float | None) -> float | None:
    """``"1:05"``, ``"0:00:03.5"`` or ``"4.2"`` -> seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        parts = [float(p) for p in str(value).split(":")]
    except ValueError as exc:
        raise errors.UsageError(f"not a time: {value!r}", "Use seconds (4.5) or M:SS (1:05).") from exc
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def extract_frame(video: Path, at: float, dest: Path) -> Path:
    """Write the frame at ``at`` seconds as an image (an empty result is an error, not a silent file)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    command = [require("ffmpeg"), "-v", "error", "-y", "-ss", f"{max(0.0, at):.3f}", "-i", str(video),
               "-frames:v", "1", str(dest)]
    done = run_tool(command)
    if done.returncode != 0 or not dest.is_file() or dest.stat().st_size == 0:
        raise errors.LocalToolFailed(f"ffmpeg could not extract a frame at {at:.2f}s from {video}: "
                                     f"{done.stderr.strip()[:200]}",
                                     "Check that the clip plays, and pick a time inside it.")
    return dest


def last_frame(video: Path, dest: Path) -> Path:
    """The last frame as a PNG (taken 0.1 s before the end; the very end often decodes to nothing)."""
    length = duration(video)
    try:
        return extract_frame(video, max(0.0, length - 0.1), dest)
    except errors.LocalToolFailed:
        return extract_frame(video, length / 2, dest)     # very short clips
