"""Media bytes served by the fake: images (Pillow), MP4 clips (ffmpeg) and
synthetic large video blobs.

* Images are solid colour by default (cheap to encode, tiny to ship) and
  carry the exact pixel size a real model would return; ``noise=True`` makes
  them incompressible for memory benchmarks.
* Clips are real, playable MP4s made once per (seconds, aspect) by ffmpeg
  (``testsrc2`` video + 440 Hz sine audio, H.264/AAC, faststart) and cached
  for the whole process. If ffmpeg is missing or fails, ``data/tiny.mp4`` (a
  real 1 s clip made once by ffmpeg) plus a ``free`` box is used instead: it has
  the ``ftyp`` and ``moov`` boxes a player (and mediagen's media check) needs.
* Synthetic blobs are generated on the fly chunk by chunk for any byte range,
  so a 300 MB download never sits in memory: the tiny clip, then a ``free``
  box of filler up to the requested size.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import os
import shutil
import struct
import subprocess
import tempfile
import threading
from collections import OrderedDict
from typing import Iterator

from PIL import Image

# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------

_IMG_CACHE: OrderedDict[tuple, bytes] = OrderedDict()
_IMG_LOCK = threading.Lock()
_IMG_CACHE_MAX = 48

PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


def color_for(seed: str) -> tuple[int, int, int]:
    """A stable colour per prompt, so different prompts give distinguishable images."""
    h = hashlib.sha256(seed.encode("utf-8")).digest()
    return h[0], h[1], h[2]


def _encode(img: Image.Image, mime: str) -> bytes:
    buf = io.BytesIO()
    fmt = PIL_FORMATS.get(mime, "PNG")
    if fmt == "PNG":
        img.save(buf, format="PNG", compress_level=1)
    elif fmt == "JPEG":
        img.save(buf, format="JPEG", quality=85)
    else:
        img.save(buf, format=fmt)
    return buf.getvalue()


def image_bytes(width: int, height: int, mime: str = "image/png",
                color: tuple[int, int, int] = (66, 133, 244), noise: bool = False) -> bytes:
    """Encode a ``width`` x ``height`` image as ``mime`` (png, jpeg or webp)."""
    if mime not in PIL_FORMATS:
        mime = "image/png"
    if noise:
        # Random pixels do not compress: the encoded size is ~w*h*3 bytes.
        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
        return _encode(img, mime)
    key = (width, height, mime, color)
    with _IMG_LOCK:
        hit = _IMG_CACHE.get(key)
        if hit is not None:
            _IMG_CACHE.move_to_end(key)
            return hit
    data = _encode(Image.new("RGB", (width, height), color), mime)
    with _IMG_LOCK:
        _IMG_CACHE[key] = data
        while len(_IMG_CACHE) > _IMG_CACHE_MAX:
            _IMG_CACHE.popitem(last=False)
    return data


def image_dims(data: bytes) -> tuple[int, int] | None:
    """Pixel size of an encoded image, or None when Pillow cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return None


# --------------------------------------------------------------------------
# MP4 clips
# --------------------------------------------------------------------------

_MP4_CACHE: dict[tuple, bytes] = {}
_MP4_LOCKS: dict[tuple, threading.Lock] = {}
_MP4_GUARD = threading.Lock()
_DURATIONS: dict[str, float] = {}   # sha1(bytes) -> seconds, for clips we made
_TMPDIR: str | None = None
_FFMPEG_BROKEN = False


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg") or (os.path.exists("/usr/bin/ffmpeg") and "/usr/bin/ffmpeg") or None


def ffprobe_path() -> str | None:
    return shutil.which("ffprobe") or (os.path.exists("/usr/bin/ffprobe") and "/usr/bin/ffprobe") or None


def _tmpdir() -> str:
    global _TMPDIR
    with _MP4_GUARD:
        if _TMPDIR is None:
            _TMPDIR = tempfile.mkdtemp(prefix="fake_google_media_")
            atexit.register(shutil.rmtree, _TMPDIR, True)
        return _TMPDIR


def dims_for_aspect(aspect: str) -> tuple[int, int]:
    return (180, 320) if aspect == "9:16" else (320, 180)


TINY_MP4 = os.path.join(os.path.dirname(__file__), "data", "tiny.mp4")


def tiny_mp4() -> bytes:
    """A real 1 s, 64x36 H.264 MP4 (``ftyp``, ``moov``, ``mdat``), made once by ffmpeg and kept in ``data/``."""
    with open(TINY_MP4, "rb") as fh:
        return fh.read()


def fallback_mp4(seconds: float = 8.0) -> bytes:
    """Without ffmpeg: the tiny real MP4 plus a ``free`` box naming ``seconds`` (plays 1 s; ``moov`` present)."""
    payload = (b"fake-google-video-%05.1fs " % seconds) * 32
    return tiny_mp4() + struct.pack(">I4s", 8 + len(payload), b"free") + payload


def mp4_bytes(seconds: float, aspect: str = "16:9") -> bytes:
    """A playable MP4 of ``seconds`` at 320x180 (16:9) or 180x320 (9:16), cached."""
    global _FFMPEG_BROKEN
    seconds = max(0.5, float(seconds))
    key = (round(seconds, 3), "9:16" if aspect == "9:16" else "16:9")
    with _MP4_GUARD:
        if key in _MP4_CACHE:
            return _MP4_CACHE[key]
        lock = _MP4_LOCKS.setdefault(key, threading.Lock())
    with lock:  # one ffmpeg run per key even under concurrent first use
        with _MP4_GUARD:
            if key in _MP4_CACHE:
                return _MP4_CACHE[key]
        data = None
        ffmpeg = ffmpeg_path()
        if ffmpeg and not _FFMPEG_BROKEN:
            w, h = dims_for_aspect(key[1])
            out = os.path.join(_tmpdir(), f"clip_{key[0]:.3f}s_{w}x{h}.mp4")
            cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                   "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate=24",
                   "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                   "-t", f"{key[0]:.3f}",
                   "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                   "-c:a", "aac", "-shortest", "-movflags", "+faststart", out]
            try:
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
                with open(out, "rb") as fh:
                    data = fh.read()
            except (OSError, subprocess.SubprocessError):
                _FFMPEG_BROKEN = True
                data = None
        if data is None:
            data = fallback_mp4(key[0])
        with _MP4_GUARD:
            _MP4_CACHE[key] = data
            _DURATIONS[hashlib.sha1(data).hexdigest()] = key[0]
        return data


def probe_duration(data: bytes) -> float | None:
    """Duration in seconds of an MP4: known clips from the cache, else ffprobe."""
    digest = hashlib.sha1(data).hexdigest()
    with _MP4_GUARD:
        if digest in _DURATIONS:
            return _DURATIONS[digest]
    ffprobe = ffprobe_path()
    if not ffprobe:
        return None
    path = os.path.join(_tmpdir(), f"probe_{digest}.bin")
    try:
        with open(path, "wb") as fh:
            fh.write(data)
        res = subprocess.run([ffprobe, "-v", "error", "-show_entries", "format=duration",
                              "-of", "csv=p=0", path], capture_output=True, text=True, timeout=30)
        value = float(res.stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    with _MP4_GUARD:
        _DURATIONS[digest] = value
    return value


# --------------------------------------------------------------------------
# Synthetic large blobs
# --------------------------------------------------------------------------

_PATTERN = hashlib.sha256(b"fake-google").digest() * 2048          # 64 KiB
_BIG = _PATTERN * 17                                                 # > 1 MiB + 64 KiB


def synthetic_header(size: int) -> bytes:
    """The tiny real MP4 (``ftyp``, ``moov``, ``mdat``) + a 64-bit ``free`` box header claiming the rest."""
    tiny = tiny_mp4()
    free = struct.pack(">I4sQ", 1, b"free", max(16, size - len(tiny)))
    return (tiny + free)[:size]


def synthetic_iter(size: int, start: int, end: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """Bytes ``start..end`` (inclusive) of a deterministic ``size``-byte video blob."""
    header = synthetic_header(size)
    hlen = len(header)
    pos = start
    while pos <= end:
        if pos < hlen:
            piece = header[pos:min(hlen, end + 1)]
        else:
            n = min(chunk, end + 1 - pos)
            off = (pos - hlen) % len(_PATTERN)
            piece = _BIG[off:off + n]
        yield piece
        pos += len(piece)


def synthetic_bytes(size: int, start: int = 0, end: int | None = None) -> bytes:
    end = size - 1 if end is None else end
    return b"".join(synthetic_iter(size, start, end))
