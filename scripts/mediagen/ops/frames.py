"""Video helpers on ffmpeg/ffprobe: duration, stream facts, and still frames.

ffmpeg is an external program (installed by the user, or by CI); a clear
error names how to install it when it is missing.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from mediagen.core import errors

INSTALL_HINT = ("Install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg; "
                "Windows: winget install ffmpeg) and make sure it is on PATH.")


def require(tool: str = "ffmpeg") -> str:
    """The path of ffmpeg/ffprobe, or a ``ConfigError`` naming how to install it."""
    path = shutil.which(tool)
    if not path:
        raise errors.ConfigError(f"{tool} is not installed", INSTALL_HINT)
    return path


def probe(path: Path) -> dict[str, Any]:
    """ffprobe's format and streams as JSON."""
    command = [require("ffprobe"), "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise errors.UsageError(f"ffprobe cannot read {path}: {done.stderr.strip()[:200]}",
                                "Check that the file is a complete video.")
    return json.loads(done.stdout or "{}")


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
    """Write the frame at ``at`` seconds as a PNG (an empty result is an error, not a silent file)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    command = [require("ffmpeg"), "-v", "error", "-y", "-ss", f"{max(0.0, at):.3f}", "-i", str(video),
               "-frames:v", "1", str(dest)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not dest.is_file() or dest.stat().st_size == 0:
        raise errors.UsageError(f"could not extract a frame at {at:.2f}s from {video}: "
                                f"{done.stderr.strip()[:200]}", "Pick a time inside the clip.")
    return dest


def last_frame(video: Path, dest: Path) -> Path:
    """The last frame as a PNG (taken 0.1 s before the end; the very end often decodes to nothing)."""
    length = duration(video)
    try:
        return extract_frame(video, max(0.0, length - 0.1), dest)
    except errors.UsageError:
        return extract_frame(video, length / 2, dest)     # very short clips
