"""An explicit output name keeps its format: ``-o "my fox.jpg"`` is a JPEG, whatever the model returned.

Before anything is sent, ``check_output_name`` refuses a file name whose
format an image cannot be saved in (Pillow cannot write it, or it is a video
name): exit 2, nothing spent. After the answer, ``save_as`` writes the
payload as returned when its type matches the name, and otherwise converts
it with Pillow; the result says ``transcoded_from``. A name is never swapped
for another extension behind the user's back.
"""
from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path
from typing import Any, Callable

from mediagen.core import errors
from mediagen.core.files import atomic_output
from mediagen.ops.output import MEDIA_SUFFIXES
from mediagen.ops.payloads import save_payload
from mediagen.wire.common import MediaPayload

SUFFIX_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
                ".gif": "image/gif", ".heic": "image/heic", ".heif": "image/heif"}
PILLOW_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF",
                  "image/heic": "HEIF", "image/heif": "HEIF"}
WRITABLE_HINT = "Name the file .png, .jpg or .webp, or give a folder (-o out/) to keep the returned format."


def wanted_type(suffix: str | None) -> str | None:
    """The image type an explicit file name's suffix asks for (None: no name, keep what is returned)."""
    return SUFFIX_TYPES.get((suffix or "").lower())


def check_output_name(target: str | None) -> None:
    """Refuse, before sending, an image file name (``-o``) whose format cannot be written (``UsageError``)."""
    suffix = Path(target).suffix.lower() if target else ""
    if suffix not in MEDIA_SUFFIXES:
        return                                  # a folder: names follow the returned type
    wanted = wanted_type(suffix)
    if wanted is None:
        raise errors.UsageError(f"-o {target}: an image cannot be saved as {suffix}", WRITABLE_HINT)
    if not can_write(wanted):
        raise errors.UsageError(f"-o {target}: this Python's Pillow cannot write {suffix} files, and the model "
                                "may return another format; nothing was sent", WRITABLE_HINT)


def can_write(mime_type: str) -> bool:
    """True when Pillow has a writer for the type."""
    from PIL import Image

    Image.init()
    return PILLOW_FORMATS.get(mime_type, "") in Image.SAVE


def save_as(payload: MediaPayload, path: Path, mime_type: str | None, warn: Callable[[str], Any]) -> dict[str, Any]:
    """Save ``payload`` at ``path`` as ``mime_type``: as returned when the types match, else converted.

    Paid bytes are never dropped: if they cannot be converted they are saved as returned, and ``warn`` says so.
    """
    if not mime_type or _same(payload.mime_type, mime_type) or payload.data is None:
        return save_payload(payload, path)
    data = _decoded(payload)
    try:
        converted = _convert(data, mime_type)
    except (OSError, ValueError) as exc:
        warn(f"could not convert the returned {payload.mime_type} to {mime_type} ({exc}); {path} holds the "
             f"{payload.mime_type} bytes as returned")
        return save_payload(MediaPayload(payload.mime_type, base64.b64encode(data).decode("ascii")), path)
    with atomic_output(path) as handle:
        handle.write(converted)
    with _image(converted) as image:
        width, height = image.size
    return {"path": str(path), "mime_type": mime_type, "bytes": len(converted),
            "sha256": hashlib.sha256(converted).hexdigest(), "width": width, "height": height,
            "transcoded_from": payload.mime_type}


def _image(data: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(data))


def _same(returned: str, wanted: str) -> bool:
    return returned.split(";")[0].strip().lower() == wanted


def _decoded(payload: MediaPayload) -> bytes:
    if isinstance(payload.data, str):
        return base64.b64decode(payload.data)
    buffer = io.BytesIO()
    payload.data.decode_to(buffer)              # type: ignore[union-attr]
    return buffer.getvalue()


def _convert(data: bytes, mime_type: str) -> bytes:
    """The image re-encoded as ``mime_type`` (transparency flattened on white where the format has none)."""
    from PIL import Image

    out = io.BytesIO()
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        if mime_type == "image/jpeg" and image.mode not in ("RGB", "L"):
            background = Image.new("RGB", image.size, "white")
            rgba = image.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            image = background
        image.save(out, format=PILLOW_FORMATS[mime_type], **({"quality": 95} if mime_type == "image/jpeg" else {}))
    return out.getvalue()
