"""Parse JSON responses that carry media as huge base64 strings, without holding them twice.

Google returns images and (on Vertex) whole videos as base64 inside JSON. A
plain ``response.json()`` keeps the raw body, a decoded copy of the text and
the parsed string in memory at once, then the decoded bytes on top. Here the
body is scanned chunk by chunk: any string value longer than a threshold is
spooled (to disk when large) and replaced by a ``Blob`` handle; the rest, now
small, goes to ``json.loads``. Blobs decode straight into their destination
file in chunks, so memory stays near one chunk whatever the media size.
"""
from __future__ import annotations

import base64
import json
import re
import tempfile
from typing import IO, Any, Iterable

BLOB_THRESHOLD = 64 * 1024           # strings longer than this become blobs
SPOOL_IN_MEMORY = 1 << 20            # blobs above this size live in a temp file
DECODE_CHUNK = 4 * (1 << 18)         # a multiple of 4 base64 characters
_PLACEHOLDER = "\u0000mediagen-blob:{}\u0000"
_PLACEHOLDER_RE = re.compile("^\u0000mediagen-blob:([0-9]+)\u0000$")
_STOP = re.compile(rb'["\\]')


class Blob:
    """A long JSON string value kept out of memory (ASCII text, usually base64 or a data: URI)."""

    def __init__(self) -> None:
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        self.length = 0
        self._prefix = b""

    def write(self, data: bytes) -> None:
        if len(self._prefix) < 128:
            self._prefix += data[: 128 - len(self._prefix)]
        self._spool.write(data)
        self.length += len(data)

    @property
    def prefix(self) -> str:
        """The first characters (enough to read a ``data:<mime>;base64,`` header)."""
        return self._prefix.decode("ascii", "replace")

    def chunks(self, size: int = DECODE_CHUNK) -> Iterable[bytes]:
        self._spool.seek(0)
        while True:
            chunk = self._spool.read(size)
            if not chunk:
                return
            yield chunk

    def decode_to(self, out: IO[bytes], *, skip: int = 0) -> int:
        """Base64-decode into ``out`` chunk by chunk (after ``skip`` leading chars); return bytes written."""
        written, carry, skipped = 0, b"", 0
        for chunk in self.chunks():
            if skipped < skip:
                take = min(skip - skipped, len(chunk))
                chunk, skipped = chunk[take:], skipped + take
            data = carry + chunk
            usable = len(data) - len(data) % 4
            if usable:
                decoded = base64.b64decode(data[:usable])
                out.write(decoded)
                written += len(decoded)
            carry = data[usable:]
        if carry.strip(b"="):
            decoded = base64.b64decode(carry + b"=" * (-len(carry) % 4))
            out.write(decoded)
            written += len(decoded)
        return written

    def decoded_bytes(self, *, skip: int = 0) -> bytes:
        """The decoded content in memory (for small blobs)."""
        import io

        buffer = io.BytesIO()
        self.decode_to(buffer, skip=skip)
        return buffer.getvalue()

    def text(self) -> str:
        """The raw string (use only for small blobs)."""
        return b"".join(self.chunks()).decode("utf-8", "replace")

    def close(self) -> None:
        self._spool.close()


class JsonBlobReader:
    """Incremental JSON reader: ``feed`` chunks, then ``finish`` returns the document."""

    def __init__(self, threshold: int = BLOB_THRESHOLD) -> None:
        self.threshold = threshold
        self.blobs: list[Blob] = []
        self._text = bytearray()          # the small remainder of the document
        self._in_string = False
        self._escape = False
        self._pending = bytearray()       # current string content, until it proves long
        self._blob: Blob | None = None

    def feed(self, chunk: bytes) -> None:
        pos, end = 0, len(chunk)
        while pos < end:
            if not self._in_string:
                quote = chunk.find(b'"', pos)
                if quote < 0:
                    self._text += chunk[pos:]
                    return
                self._text += chunk[pos:quote + 1]
                self._in_string, pos = True, quote + 1
                continue
            pos = self._feed_string(chunk, pos, end)

    def _feed_string(self, chunk: bytes, pos: int, end: int) -> int:
        if self._escape:
            self._escape = False
            self._emit(b"\\" + chunk[pos:pos + 1] if self._blob is None else _unescape(chunk[pos:pos + 1]))
            return pos + 1
        match = _STOP.search(chunk, pos)
        stop = match.start() if match else end
        self._emit(chunk[pos:stop])
        if match is None:
            return end
        if chunk[stop:stop + 1] == b"\\":
            self._escape = True
            return stop + 1
        self._close_string()
        return stop + 1

    def _emit(self, data: bytes) -> None:
        if self._blob is not None:
            self._blob.write(data)
            return
        self._pending += data
        if len(self._pending) > self.threshold:
            self._blob = Blob()
            # The pending text still carries its JSON escapes; the blob holds the real characters.
            self._blob.write(json.loads(b'"' + bytes(self._pending) + b'"').encode("utf-8"))
            self._pending.clear()

    def _close_string(self) -> None:
        if self._blob is not None:
            self.blobs.append(self._blob)
            self._text += _PLACEHOLDER.format(len(self.blobs) - 1).encode("utf-8").replace(b"\x00", b"\\u0000")
            self._blob = None
        else:
            self._text += self._pending
        self._pending.clear()
        self._text += b'"'
        self._in_string = False

    def finish(self) -> Any:
        """Parse what was fed; long strings come back as ``Blob`` objects."""
        doc = json.loads(bytes(self._text)) if self._text.strip() else {}
        return _restore(doc, self.blobs)


def read_json_stream(chunks: Iterable[bytes], threshold: int = BLOB_THRESHOLD) -> Any:
    """Convenience: feed every chunk and finish."""
    reader = JsonBlobReader(threshold)
    for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()


def as_bytes(value: Any) -> bytes:
    """Decoded bytes of a base64 value that may be a ``Blob`` or a plain string."""
    if isinstance(value, Blob):
        return value.decoded_bytes()
    return base64.b64decode(value or "")


def as_text(value: Any) -> str:
    """A string value that may have become a ``Blob``."""
    return value.text() if isinstance(value, Blob) else str(value or "")


def _unescape(char: bytes) -> bytes:
    # Inside base64 only "\/" is plausible; keep the escaped character itself.
    return char


def _restore(node: Any, blobs: list[Blob]) -> Any:
    if isinstance(node, str):
        match = _PLACEHOLDER_RE.match(node)
        return blobs[int(match.group(1))] if match else node
    if isinstance(node, dict):
        return {k: _restore(v, blobs) for k, v in node.items()}
    if isinstance(node, list):
        return [_restore(v, blobs) for v in node]
    return node
