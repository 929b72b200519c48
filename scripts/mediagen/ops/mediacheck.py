"""Media checked before success is reported: the bytes are what the answer declared, and they decode.

An answer can be paid for and still hold garbage: a download that is a
sign-in page, an empty body, ``inlineData`` declared ``image/png`` holding
text. Before a result gets its final name it must pass: images have the
magic bytes of their declared type and end where their format says (PNG, JPEG,
GIF, WebP: read from the header and trailer, without importing Pillow, which
costs more than the rest of a save), else Pillow decodes them; MP4/QuickTime
videos start with an ``ftyp`` box, carry a ``moov`` box, end where their last
box ends (a download cut short whose Content-Length matched what arrived still
plays its first seconds in ffprobe's eyes) and, when ffprobe is installed, have
a video stream; WebM starts with its EBML header. A failure is
a ``BadReply`` saying what is wrong; callers add whose request it answered
and that it may have been billed.
"""
from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any

from mediagen.core import errors
from mediagen.ops import frames
from mediagen.ops.inputs import sniff_mime
from mediagen.ops.pixelsize import header_size

# Declared types that name the same kind of bytes.
FAMILIES = {"image/jpg": "image/jpeg", "image/heif": "image/heic", "video/quicktime": "video/mp4"}
ISO_MEDIA = ("video/mp4", "video/quicktime")
MAX_BOXES = 4096
_DECODABLE = ("image/png", "image/jpeg", "image/webp", "image/gif")
_TRAILERS = {"image/png": b"IEND\xaeB`\x82", "image/jpeg": b"\xff\xd9", "image/gif": b"\x3b"}


def check_media(path: Path, declared: str) -> dict[str, Any]:
    """Facts about a result that passed (``width``/``height`` of an image); ``BadReply`` when it did not."""
    declared = (declared or "").split(";")[0].strip().lower()
    with open(path, "rb") as handle:
        head = handle.read(64)
    if not head:
        raise errors.BadReply(f"the {declared or 'media'} result is empty (0 bytes)")
    found = sniff_mime(head)
    if declared.startswith("image/"):
        return _image(path, declared, found, head)
    if declared.startswith("video/"):
        _video(path, declared, found, head)
        return {}
    raise errors.BadReply(f"the answer declared {declared!r}, which is neither an image nor a video type")


def _same(a: str | None, b: str) -> bool:
    return a is not None and FAMILIES.get(a, a) == FAMILIES.get(b, b)


def _image(path: Path, declared: str, found: str | None, head: bytes) -> dict[str, Any]:
    if not _same(found, declared):
        raise errors.BadReply(f"the result declared {declared} is {_describe(found, head)}")
    if found not in _DECODABLE:
        return {"width": None, "height": None}          # HEIC: Pillow cannot read it without a plugin
    size = header_size(path)
    if size is not None and _ends_whole(path, found):
        return {"width": size[0], "height": size[1]}
    from PIL import Image                                   # anything the cheap check cannot vouch for

    try:
        with Image.open(path) as image:
            image.verify()                      # chunk checksums (PNG)
        with Image.open(path) as image:
            image.load()                        # every pixel: a JPEG or GIF cut short fails only here
            width, height = image.size
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for broken files
        raise errors.BadReply(f"the {declared} result does not decode ({exc})") from exc
    return {"width": width, "height": height}


def _ends_whole(path: Path, found: str) -> bool:
    """Whether the file ends where its format says it does (a cut-short answer does not)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if found == "image/webp":                   # RIFF: the length after the first 8 bytes
            head = handle.read(8)
            return len(head) == 8 and struct.unpack("<I", head[4:8])[0] + 8 == size
        trailer = _TRAILERS[found]
        handle.seek(max(0, size - len(trailer)))
        return handle.read() == trailer


def _video(path: Path, declared: str, found: str | None, head: bytes) -> None:
    if declared in ISO_MEDIA or FAMILIES.get(declared) in ISO_MEDIA:
        if head[4:8] != b"ftyp":
            raise errors.BadReply(f"the {declared} result has no ftyp box: it is {_describe(found, head)}")
        boxes = top_level_boxes(path)
        if "moov" not in boxes:
            raise errors.BadReply(f"the {declared} result has no moov box (boxes: {', '.join(boxes[:8])}): it cannot "
                                  "be played")
        short = missing_bytes(path)
        if short:
            raise errors.BadReply(f"the {declared} result is cut short: its last box needs {short} more bytes than "
                                  "the file holds")
    elif not _same(found, declared):
        raise errors.BadReply(f"the result declared {declared} is {_describe(found, head)}")
    if shutil.which("ffprobe"):
        _probe(path, declared)


def _probe(path: Path, declared: str) -> None:
    try:
        streams = frames.probe(path).get("streams") or []
    except errors.MediagenError as exc:
        raise errors.BadReply(f"the {declared} result does not play: {exc.message}") from exc
    if not any(s.get("codec_type") == "video" for s in streams):
        raise errors.BadReply(f"the {declared} result has no video stream")


def top_level_boxes(path: Path) -> list[str]:
    """The types of an ISO media file's top-level boxes, in order (stops at the first malformed one)."""
    return [kind for kind, _ in _boxes(path)]


def missing_bytes(path: Path) -> int:
    """How many bytes the last top-level box of an ISO media file claims beyond the end of the file (0: none)."""
    boxes = _boxes(path)
    return max(0, sum(length for _, length in boxes) - path.stat().st_size) if boxes else 0


def _boxes(path: Path) -> list[tuple[str, int]]:
    """``(type, length)`` of each top-level box, in order (stops at the first malformed one)."""
    size, found, offset = path.stat().st_size, [], 0
    with open(path, "rb") as handle:
        while offset + 8 <= size and len(found) < MAX_BOXES:
            handle.seek(offset)
            length, kind = struct.unpack(">I4s", handle.read(8))
            if length == 1:
                length = struct.unpack(">Q", handle.read(8))[0]
            elif length == 0:
                length = size - offset
            if length < 8:
                break
            found.append((kind.decode("latin-1"), length))
            offset += length
    return found


def _describe(found: str | None, head: bytes) -> str:
    """What the bytes really are, in words."""
    if found:
        return found
    if head.lstrip()[:1] == b"<":
        return "an HTML or XML page"
    if all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head):
        return "text"
    return "unrecognised data"
