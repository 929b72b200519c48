"""Input media: read local files, URLs, ``data:`` URIs and ``gs://`` references safely.

The type always comes from the bytes, never the file name: a ``.png`` that is
really a GIF is treated as a GIF. Formats the APIs do not accept are converted
where that loses nothing important (GIF -> first frame as PNG) and refused
otherwise, before any request is sent. Oversized images are downscaled (with a
note) to fit the proxy's inline limit; a large local image in an accepted format
is kept as its path and read again when it is sent (memory stays flat).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
from pathlib import Path

from mediagen.core import errors
from mediagen.core.redaction import redact_text
from mediagen.wire.common import STREAM_INLINE_ABOVE, MediaInput
from mediagen.transport.http import ResponseTooLarge, Transport

URL_TIMEOUT_S = 60.0            # the longest wait for the next bytes
URL_DEADLINE_S = 300.0          # the whole download, however the server paces it
URL_MAX_BYTES = 50 * 1024 * 1024
API_IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/x-msvideo", "video/mpeg")


def sniff_mime(data: bytes) -> str | None:
    """The MIME type from magic bytes (images and common video containers), or None."""
    head = data[:32]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:2] == b"BM":
        return "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"):
            return "image/heic"
        if brand in (b"mif1", b"msf1"):
            return "image/heif"
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    return None


def read_source(source: str, *, transport: Transport | None = None) -> tuple[bytes, str]:
    """The bytes behind a path, ``http(s)://`` URL or ``data:`` URI, and a printable origin."""
    if source.startswith("data:"):
        return _data_uri(source), "data: URI"
    if source.startswith(("http://", "https://")):
        return _download(source, transport), redact_text(source)
    path = Path(source).expanduser()
    if not path.is_file():
        raise errors.UsageError(f"input file not found: {source}", "Check the path (quote paths with spaces).")
    return path.read_bytes(), str(path)


def load_image(source: str, *, transport: Transport | None = None, allow_gcs: bool = False,
               max_bytes: int | None = None) -> MediaInput:
    """An image input the APIs accept, converted and downscaled as needed."""
    if source.startswith("gs://"):
        if not allow_gcs:
            raise errors.UsageError(f"{source}: gs:// inputs work only on Vertex",
                                    "Download the file and pass a local path, or use --backend vertex.")
        return MediaInput(source, _mime_from_name(source), gcs_uri=source)
    if max_bytes is None:
        large = _large_local_image(source)
        if large is not None:
            return large
    data, origin = read_source(source, transport=transport)
    mime = sniff_mime(data)
    item = MediaInput(origin, mime or "application/octet-stream", data,
                      original_sha256=hashlib.sha256(data).hexdigest())
    if mime == "image/gif":
        item.data, item.mime_type = _first_frame_png(data, source), "image/png"
        item.notes.append("GIF converted to PNG (first frame): the APIs do not accept image/gif")
    elif mime not in API_IMAGE_TYPES:
        found = mime or "an unknown format"
        raise errors.UsageError(f"{source} is {found}, which the image APIs do not accept",
                                "Convert it to PNG, JPEG or WebP first (HEIC/HEIF are accepted as they are).")
    if max_bytes and item.data is not None and len(item.data) > max_bytes:
        _downscale(item, max_bytes)
    return item


def _large_local_image(source: str) -> MediaInput | None:
    """A local image above the streaming size, in a format the APIs take as it is: kept as its path (hashed in
    chunks) and read again when it is sent, so its bytes never sit in memory. None for anything else."""
    path = Path(source).expanduser()
    if source.startswith(("data:", "http://", "https://")) or not path.is_file() \
            or path.stat().st_size <= STREAM_INLINE_ABOVE:
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        head = handle.read(32)
        if sniff_mime(head) not in API_IMAGE_TYPES:
            return None            # converted or refused by the ordinary path
        digest.update(head)
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return MediaInput(str(path), sniff_mime(head) or "", None, original_sha256=digest.hexdigest(), path=path)


def load_video(source: str, *, transport: Transport | None = None, allow_gcs: bool = False) -> MediaInput:
    """A video input (for extension or editing), type sniffed from its bytes."""
    if source.startswith("gs://"):
        if not allow_gcs:
            raise errors.UsageError(f"{source}: gs:// inputs work only on Vertex",
                                    "Use a local file, or --backend vertex.")
        return MediaInput(source, "video/mp4", gcs_uri=source)
    data, origin = read_source(source, transport=transport)
    mime = sniff_mime(data)
    if mime not in VIDEO_TYPES:
        raise errors.UsageError(f"{source} is not a video file mediagen recognises ({mime or 'unknown'})",
                                "Pass an MP4 (or MOV/WebM) file.")
    return MediaInput(origin, mime, data, original_sha256=hashlib.sha256(data).hexdigest())


def _data_uri(uri: str) -> bytes:
    header, _, payload = uri.partition(",")
    if ";base64" not in header:
        raise errors.UsageError("only base64 data: URIs are supported", "Use data:<mime>;base64,<data>.")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.UsageError("the data: URI is not valid base64", "Re-encode the image.") from exc


def _download(url: str, transport: Transport | None) -> bytes:
    """GET a URL with a deadline and a size cap (never buffers more than the cap)."""
    # planning without a transport (e.g. image_gen before it sends anything) still reads URLs
    fetcher = transport if transport is not None else Transport()
    deadline = fetcher.fetch_deadline_s or URL_DEADLINE_S      # the url_deadline_s setting, when the caller has one
    try:
        return fetcher.fetch(url, max_bytes=URL_MAX_BYTES, timeout=deadline, read_timeout=URL_TIMEOUT_S).content
    except ResponseTooLarge as exc:
        raise errors.UsageError(f"{redact_text(url)} is larger than {URL_MAX_BYTES >> 20} MB",
                                "Download and shrink it first.") from exc
    except errors.ApiError as exc:
        reason = f"HTTP {exc.status}" if exc.status else exc.message
        raise errors.UsageError(f"could not download {redact_text(url)}: {redact_text(reason)}",
                                "Check the URL, or download the file and pass a local path.") from exc


def _first_frame_png(data: bytes, source: str) -> bytes:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.seek(0)
            frame = image.convert("RGBA")
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for broken files
        raise errors.UsageError(f"{source}: cannot read this GIF ({exc})", "Convert it to PNG first.") from exc
    out = io.BytesIO()
    frame.save(out, format="PNG")
    return out.getvalue()


def _downscale(item: MediaInput, max_bytes: int) -> None:
    """Shrink an image (halving the pixel count each step) until it fits ``max_bytes``."""
    from PIL import Image

    with Image.open(io.BytesIO(item.data or b"")) as image:
        image.load()
        original = image.size
        fmt = "PNG" if item.mime_type == "image/png" else "JPEG"
        current = image if fmt == "PNG" else image.convert("RGB")
        for _ in range(12):
            width, height = current.size
            current = current.resize((max(1, int(width / 1.414)), max(1, int(height / 1.414))))
            out = io.BytesIO()
            current.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {"optimize": True}))
            if out.tell() <= max_bytes:
                break
    item.data = out.getvalue()
    item.mime_type = "image/png" if fmt == "PNG" else "image/jpeg"
    item.notes.append(f"downscaled from {original[0]}x{original[1]} to {current.size[0]}x{current.size[1]} "
                      f"to fit the {max_bytes >> 20} MB inline limit")


def _mime_from_name(name: str) -> str:
    lower = name.lower()
    for suffix, mime in ((".png", "image/png"), (".jpg", "image/jpeg"), (".jpeg", "image/jpeg"),
                         (".webp", "image/webp"), (".heic", "image/heic"), (".heif", "image/heif")):
        if lower.endswith(suffix):
            return mime
    return "image/png"
