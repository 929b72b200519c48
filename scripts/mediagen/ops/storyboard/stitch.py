"""Join clips into one MP4 with ffmpeg, keeping audio.

``concat`` looks at every clip with ffprobe first. When they already agree
(same video codec, size, frame rate, pixel format and time base, and every
clip has audio with the same codec, rate and channels) the concat demuxer
copies the streams: fast and lossless. Otherwise every clip is re-encoded to
a common shape (the first clip's size and frame rate, letterboxed where the
aspect differs; 48 kHz stereo AAC), and a clip without an audio stream gets
silence of its own length, so the joined film keeps one continuous audio
track. Each clip's audio is padded or trimmed to its video length, so sound
never drifts across the joins.
"""
from __future__ import annotations

import concurrent.futures
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from mediagen.core import errors
from mediagen.core.files import atomic_path
from mediagen.ops import frames

AUDIO_RATE = 48000
VIDEO_ARGS = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]
AUDIO_ARGS = ["-c:a", "aac", "-b:a", "192k", "-ar", str(AUDIO_RATE), "-ac", "2"]


@dataclass(frozen=True)
class ClipInfo:
    """What ffprobe says about one clip (only what joining needs)."""

    path: Path
    duration: float
    width: int
    height: int
    fps: Fraction
    video_codec: str
    pix_fmt: str
    time_base: str
    audio_codec: str | None
    sample_rate: int | None
    channels: int | None

    @property
    def has_audio(self) -> bool:
        """True when the clip has an audio stream."""
        return self.audio_codec is not None

    def video_key(self) -> tuple[Any, ...]:
        """What must match between clips for their video streams to be copied."""
        return (self.video_codec, self.width, self.height, self.fps, self.pix_fmt, self.time_base)

    def audio_key(self) -> tuple[Any, ...]:
        """What must match between clips for their audio streams to be copied."""
        return (self.audio_codec, self.sample_rate, self.channels)


def clip_info(path: Path) -> ClipInfo:
    """Probe ``path``; a file without a video stream is ``LocalToolFailed`` (exit 5, as ffprobe failing on it)."""
    info = frames.probe(path)
    streams = info.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None:
        raise errors.LocalToolFailed(f"ffprobe finds no video stream in {path}",
                                     "Regenerate the shot (storyboard.py --redo N).")
    duration = float(video.get("duration") or (info.get("format") or {}).get("duration") or 0.0)
    return ClipInfo(path=Path(path), duration=duration, width=int(video["width"]), height=int(video["height"]),
                    fps=_fps(video), video_codec=str(video.get("codec_name")), pix_fmt=str(video.get("pix_fmt")),
                    time_base=str(video.get("time_base")),
                    audio_codec=str(audio.get("codec_name")) if audio else None,
                    sample_rate=int(audio["sample_rate"]) if audio and audio.get("sample_rate") else None,
                    channels=int(audio["channels"]) if audio and audio.get("channels") else None)


def _fps(stream: dict[str, Any]) -> Fraction:
    for key in ("r_frame_rate", "avg_frame_rate"):
        text = str(stream.get(key) or "0/0")
        num, _, den = text.partition("/")
        if den and int(den) and int(num):
            return Fraction(int(num), int(den))
    return Fraction(24)


def compatible(infos: list[ClipInfo]) -> bool:
    """True when the streams can be copied as they are (no re-encoding)."""
    first = infos[0]
    if not all(info.has_audio for info in infos):
        return False
    return all(i.video_key() == first.video_key() and i.audio_key() == first.audio_key() for i in infos)


def concat(clips: list[Path], dest: Path) -> dict[str, Any]:
    """Join ``clips`` in order into ``dest`` (written atomically); return what was made."""
    if not clips:
        raise errors.UsageError("nothing to join", "Generate at least one shot first.")
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(clips))) as pool:
        infos = list(pool.map(clip_info, [Path(c) for c in clips]))      # ffprobe start-up dominates: overlap it
    dest.parent.mkdir(parents=True, exist_ok=True)
    method = "copy" if compatible(infos) else "reencode"
    with atomic_path(dest, suffix=".mp4") as tmp:
        if method == "copy":
            _concat_copy(infos, tmp)
        else:
            _concat_reencode(infos, tmp)
    result = clip_info(dest)
    return {"path": str(dest), "duration_s": round(result.duration, 3), "has_audio": result.has_audio,
            "width": result.width, "height": result.height, "fps": float(result.fps), "method": method,
            "clips": len(infos)}


def _concat_copy(infos: list[ClipInfo], dest: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="mediagen-concat-") as work:
        listing = Path(work) / "clips.txt"
        listing.write_text("".join(f"file {_quote(info.path.resolve())}\n" for info in infos), encoding="utf-8")
        _run([frames.require("ffmpeg"), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
              "-map", "0:v:0", "-map", "0:a:0", "-c", "copy", "-movflags", "+faststart", str(dest)])


def _quote(path: Path) -> str:
    """A path for the concat demuxer's list file (single quotes, inner quotes escaped)."""
    return "'" + path.as_posix().replace("'", "'\\''") + "'"


def _concat_reencode(infos: list[ClipInfo], dest: Path) -> None:
    width, height, fps = _even(infos[0].width), _even(infos[0].height), infos[0].fps
    command = [frames.require("ffmpeg"), "-v", "error", "-y"]
    for info in infos:
        command += ["-i", str(info.path)]
    silent_inputs: dict[int, int] = {}
    for index, info in enumerate(infos):
        if not info.has_audio:
            silent_inputs[index] = len(infos) + len(silent_inputs)
            command += ["-f", "lavfi", "-t", f"{info.duration:.3f}", "-i",
                        f"anullsrc=r={AUDIO_RATE}:cl=stereo"]
    graph = _filter_graph(infos, silent_inputs, width, height, fps)
    command += ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", *VIDEO_ARGS, *AUDIO_ARGS,
                "-movflags", "+faststart", str(dest)]
    _run(command)


def _filter_graph(infos: list[ClipInfo], silent_inputs: dict[int, int], width: int, height: int,
                  fps: Fraction) -> str:
    """Scale/pad/fps each video, resample (or synthesize) each audio to the clip's length, then concat."""
    parts, pads = [], []
    for index, info in enumerate(infos):
        length = f"{info.duration:.3f}"
        parts.append(f"[{index}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
                     f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={fps},format=yuv420p,"
                     f"trim=duration={length},setpts=PTS-STARTPTS[v{index}]")
        source = f"[{silent_inputs[index]}:a:0]" if index in silent_inputs else f"[{index}:a:0]"
        parts.append(f"{source}aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
                     f"apad,atrim=duration={length},asetpts=PTS-STARTPTS[a{index}]")
        pads.append(f"[v{index}][a{index}]")
    parts.append(f"{''.join(pads)}concat=n={len(infos)}:v=1:a=1[v][a]")
    return ";".join(parts)


def _even(value: int) -> int:
    """H.264 with yuv420p needs even dimensions."""
    return value + (value % 2)


class StitchError(errors.LocalToolFailed):
    """ffmpeg could not join the clips (a damaged or unreadable shot file): exit 5, as any local tool failure."""

    type = "stitch_failed"


def _run(command: list[str]) -> None:
    done = frames.run_tool(command)
    if done.returncode != 0:
        raise StitchError(f"ffmpeg could not join the clips: {done.stderr.strip()[-400:]}",
                          "Check that every shot file plays (ffprobe FILE); regenerate a broken one "
                          "with storyboard.py --redo N.")
