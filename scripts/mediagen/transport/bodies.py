"""Request bodies too large to hold as one string: long base64 values written in chunks, files sent from disk.

A request whose JSON holds a ``Base64Of`` (the bytes of a large input, encoded
only as the body is written) is built into a spooled file: the JSON text is
assembled around the base64, which is written 48 KiB at a time, and the file
is sent with its known Content-Length. The raw bytes, their base64 and the
JSON text are never in memory together (decision 0006). The same writer
writes the JSONL input files of batch jobs. ``FileBody`` sends a file on disk
as the body (a JSONL file to Cloud Storage) without reading it into memory.
"""
from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

from mediagen.core import errors
from mediagen.core.files import describe_os_error

CHUNK = 3 * 16 * 1024                # a multiple of 3: the base64 of each chunk joins without padding
SPOOL_IN_MEMORY = 1 << 20            # a spooled body stays in memory up to this size, then goes to disk


class Base64Of:
    """A long base64 string standing for ``data`` (bytes, or a file read again): encoded chunk by chunk when the
    body is written."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | Path) -> None:
        self.data = data

    def __len__(self) -> int:
        size = self.data.stat().st_size if isinstance(self.data, Path) else len(self.data)
        return 4 * ((size + 2) // 3)

    def __repr__(self) -> str:
        return f"Base64Of({len(self)} characters)"

    def chunks(self) -> Iterator[bytes]:
        """The base64 text in pieces of at most 64 KiB."""
        if isinstance(self.data, Path):
            with open(self.data, "rb") as handle:
                for block in iter(lambda: handle.read(CHUNK), b""):
                    yield base64.b64encode(block)
            return
        view = memoryview(self.data)
        for start in range(0, len(view), CHUNK):
            yield base64.b64encode(view[start:start + CHUNK])


@dataclass(frozen=True)
class FileBody:
    """A file on disk sent as a request body (opened afresh for every attempt)."""

    path: Path
    content_type: str = "application/octet-stream"

    def __len__(self) -> int:
        return Path(self.path).stat().st_size


def has_streams(doc: Any) -> bool:
    """Whether a JSON document holds any ``Base64Of`` value."""
    if isinstance(doc, Base64Of):
        return True
    if isinstance(doc, dict):
        return any(has_streams(v) for v in doc.values())
    if isinstance(doc, list):
        return any(has_streams(v) for v in doc)
    return False


def preview(doc: Any) -> Any:
    """The document with each ``Base64Of`` shown as ``<N characters elided>`` (for dry runs and errors)."""
    if isinstance(doc, Base64Of):
        return f"<{len(doc)} characters elided>"
    if isinstance(doc, dict):
        return {k: preview(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [preview(v) for v in doc]
    return doc


def write_json(doc: Any, out: IO[bytes]) -> int:
    """Write ``doc`` as compact UTF-8 JSON, each ``Base64Of`` written in chunks; return the bytes written."""
    written = 0
    for piece in _pieces(doc):
        for chunk in piece.chunks() if isinstance(piece, Base64Of) else (piece,):
            out.write(chunk)
            written += len(chunk)
    return written


def json_size(doc: Any) -> int:
    """How many bytes ``write_json`` writes for ``doc`` (nothing is encoded)."""
    return sum(len(piece) for piece in _pieces(doc))


def _pieces(doc: Any) -> list[bytes | Base64Of]:
    """The JSON text of ``doc`` as UTF-8 pieces, with the ``Base64Of`` values between them."""
    streams: list[Base64Of] = []
    tag = f"@@mediagen-{secrets.token_hex(8)}-"

    def swap(value: Any) -> Any:
        if isinstance(value, Base64Of):
            streams.append(value)
            return f"{tag}{len(streams) - 1}@@"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(doc), ensure_ascii=False, separators=(",", ":"))
    parts = re.split(re.escape(tag) + r"(\d+)@@", text)      # text, stream index, text, ...
    return [streams[int(part)] if index % 2 else part.encode("utf-8") for index, part in enumerate(parts)]


@dataclass
class Payload:
    """What one send puts on the wire: a JSON document, or data (bytes or a rewindable file), plus headers."""

    json: Any = None
    data: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def rewind(self) -> None:
        """Back to the first byte, so a retry or a redirect sends the whole body again."""
        if hasattr(self.data, "seek"):
            self.data.seek(0)


@contextlib.contextmanager
def prepared(json_doc: Any, data: Any) -> Iterator[Payload]:
    """The payload of a request for the whole of one send (its retries included); spooled bodies are removed after."""
    if isinstance(data, FileBody):
        with open(data.path, "rb") as handle:
            yield Payload(data=handle, headers={"Content-Type": data.content_type})
    elif json_doc is not None and has_streams(json_doc):
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, prefix="mediagen-body-") as spool:
            try:
                write_json(json_doc, spool)
            except OSError as exc:          # an input file gone, or no room for the spool: nothing was sent
                raise errors.UsageError(f"could not build the request body: {describe_os_error(exc)}",
                                        "Check the input files and the space in the temporary folder; nothing "
                                        "was sent.") from exc
            spool.seek(0)
            yield Payload(data=spool, headers={"Content-Type": "application/json"})
    else:
        yield Payload(json=json_doc, data=data)
