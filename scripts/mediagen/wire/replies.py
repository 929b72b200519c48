"""Replies read and checked in one place, against the shape each API surface documents.

A 2xx answer to a create or a poll may stand for money already spent, so
anything unusable in it is an error that says so: an HTML page (a proxy or a
captive portal), an empty body, JSON that is truncated, not UTF-8 or not an
object, an error object inside a 200, fields of the wrong type, base64 that
does not decode, a MIME type that is not one. Each becomes a ``BadReply``
(exit 5) whose message says the request may have been billed and names it,
and whose hint says how to recover; a connection that dies mid-body becomes a
``NetworkError`` with the same words. Parsers in the other ``wire`` modules
then read a document whose types they can trust.

Shapes are small: a mapping of the keys a parser reads to what they must be
(``str``, ``bool``, ``INT``, ``dict`` for any object, ``[spec]`` for a list,
``{...}`` for a nested object, ``B64``, ``MIME``, ``DATA_URI``); keys that are
absent are fine, unknown keys are ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from mediagen.core import errors
from mediagen.core.redaction import redact_text
from mediagen.transport.http import Body
from mediagen.wire.blobs import Blob, JsonBlobReader

B64 = "base64"
MIME = "mime type"
INT = "integer"
DATA_URI = "data: URI"
_MIME_RE = re.compile(r"[a-z]+/[a-z0-9][a-z0-9.+-]*")
_B64_BAD = re.compile(rb"[^A-Za-z0-9+/=]")
_TYPE_NAMES = {str: "a string", bool: "true or false", dict: "an object", float: "a number"}


@dataclass(frozen=True)
class Subject:
    """What a reply answers, for the error when it cannot be used: the name to give and how to recover."""

    name: str
    recover: str
    billed: str = "the request may have been billed"


@dataclass(frozen=True)
class Shape:
    """What one surface's answer must look like.

    ``needs``: at least one of these keys must be present (an answer with
    none of them, or an ``error`` object instead, is not an answer).
    """

    name: str
    fields: dict[str, Any]
    needs: tuple[str, ...] = ()
    empty_ok: bool = False          # ``{}`` is a documented answer (Imagen: every image filtered)

    def problem(self, doc: Any) -> str | None:
        """What is wrong with ``doc`` for this surface (None when it is usable)."""
        if not isinstance(doc, dict):
            return f"the answer is {_describe(doc)}, not a JSON object"
        if "error" in doc and not any(key in doc for key in self.needs):
            return f"the answer is an error inside a 200: {_error_text(doc['error'])}"
        if self.needs and not any(key in doc for key in self.needs) and not (self.empty_ok and not doc):
            return f"the answer has none of {', '.join(self.needs)}"
        return _check(doc, self.fields, "")


def read_reply(body: Body, shape: Shape, subject: Subject) -> dict[str, Any]:
    """The JSON document of a 2xx answer, checked against ``shape``; every problem names ``subject``.

    Long base64 strings come back as ``Blob`` handles (see ``mediagen.wire.blobs``).
    """
    reader, total = JsonBlobReader(), 0
    try:
        for chunk in body.chunks:
            if total == 0 and chunk.lstrip()[:1] == b"<":
                raise possibly_billed(_html(chunk), subject)
            total += len(chunk)
            reader.feed(chunk)
    except errors.NetworkError as exc:
        raise possibly_billed(exc.message, subject, errors.NetworkError) from exc
    if total == 0:
        raise possibly_billed("the answer is empty (a 200 with no body)", subject)
    doc = _parse(reader, subject)
    problem = shape.problem(doc)
    if problem:
        raise possibly_billed(problem, subject)
    return doc


def possibly_billed(problem: str, subject: Subject,
                    kind: type[errors.ApiError] = errors.BadReply) -> errors.ApiError:
    """The error for an answer that cannot be used: what is wrong, that it may be billed, how to recover."""
    return kind(redact_text(f"{subject.name}: {problem}; {subject.billed}"), subject.recover)


def _parse(reader: JsonBlobReader, subject: Subject) -> Any:
    try:
        doc = reader.finish()
    except UnicodeDecodeError as exc:
        raise possibly_billed("the answer is not UTF-8 text", subject) from exc
    except ValueError as exc:
        raise possibly_billed(f"the answer is not valid JSON (truncated or malformed: {exc})", subject) from exc
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        return doc[0]            # streaming-style answers wrap the object in a list
    return doc


def _html(first: bytes) -> str:
    text = re.sub(rb"<[^>]+>", b" ", first[:400]).decode("utf-8", "replace")
    excerpt = " ".join(text.split())[:120]
    return f"the answer is an HTML page, not JSON ({excerpt!r})" if excerpt else "the answer is an HTML page"


def _check(value: Any, spec: Any, path: str) -> str | None:
    """The first problem of ``value`` against ``spec`` at ``path``, or None."""
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return _wrong(path, value, "an object")
        for key, inner in spec.items():
            if key in value and value[key] is not None:
                problem = _check(value[key], inner, f"{path}.{key}" if path else key)
                if problem:
                    return problem
        return None
    if isinstance(spec, list):
        if not isinstance(value, list):
            return _wrong(path, value, "a list")
        for index, item in enumerate(value):
            problem = _check(item, spec[0], f"{path}[{index}]")
            if problem:
                return problem
        return None
    return _leaf(value, spec, path)


def _leaf(value: Any, spec: Any, path: str) -> str | None:
    if spec == B64:
        return _base64_problem(value, path)
    if spec == MIME:
        ok = isinstance(value, str) and _MIME_RE.fullmatch(value) is not None
        return None if ok else f"{path} is not a MIME type ({_describe(value)})"
    if spec == DATA_URI:
        return _data_uri_problem(value, path)
    if spec == INT:
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit())
        return None if ok else _wrong(path, value, "a whole number")
    if spec is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else _wrong(path, value, "a number")
    if spec is str and isinstance(value, Blob):
        return None              # a long text value, spooled
    return None if isinstance(value, spec) else _wrong(path, value, _TYPE_NAMES.get(spec, spec.__name__))


def _base64_problem(value: Any, path: str) -> str | None:
    """Standard base64 (padding optional): anything else would decode to garbage."""
    if isinstance(value, Blob):
        ok = _base64_ok(value.chunks(), value.length)
    elif isinstance(value, str):
        ok = value.isascii() and _base64_ok([value.encode("ascii")], len(value))
    else:
        return _wrong(path, value, "a base64 string")
    return None if ok else f"{path} is not valid base64"


def _base64_ok(chunks: Iterable[bytes], length: int) -> bool:
    """Only the base64 alphabet, ``=`` only at the very end, and a length a decoder accepts."""
    padded = False
    for chunk in chunks:
        if _B64_BAD.search(chunk) or (padded and chunk.strip(b"=")):
            return False
        pad = chunk.find(b"=")
        if pad >= 0:
            if chunk[pad:].strip(b"="):
                return False
            padded = True
    return length % 4 != 1


def _data_uri_problem(value: Any, path: str) -> str | None:
    prefix = value.prefix if isinstance(value, Blob) else value if isinstance(value, str) else ""
    header, comma, _ = prefix.partition(",")
    if not header.startswith("data:") or ";base64" not in header or not comma:
        return f"{path} is not a base64 data: URI"
    mime = header[5:].split(";", 1)[0]
    if mime and not _MIME_RE.fullmatch(mime):
        return f"{path} declares {mime!r}, which is not a MIME type"
    if isinstance(value, str):
        return _base64_problem(value.split(",", 1)[1], path)
    skip = len(header) + 1
    ok = _base64_ok(_skipping(value.chunks(), skip), value.length - skip)
    return None if ok else f"{path} is not valid base64"


def _skipping(chunks: Iterable[bytes], skip: int) -> Iterable[bytes]:
    """``chunks`` without their first ``skip`` bytes."""
    for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        yield chunk[skip:]
        skip = 0


def _wrong(path: str, value: Any, wanted: str) -> str:
    return f"{path or 'the answer'} is {_describe(value)}, not {wanted}"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (str, Blob)):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("status") or error.get("code") or "no message")[:200]
    return str(error)[:200]


# -- the surfaces ----------------------------------------------------------------------------------

_INLINE = {"mimeType": MIME, "mime_type": MIME, "data": B64}
_PART = {"text": str, "thought": bool, "inlineData": _INLINE, "inline_data": _INLINE, "thoughtSignature": str}
GENERATE_CONTENT = Shape("generateContent", {
    "candidates": [{"content": {"parts": [_PART], "role": str}, "finishReason": str, "index": INT}],
    "promptFeedback": {"blockReason": str}, "usageMetadata": dict, "modelVersion": str, "responseId": str},
    needs=("candidates", "promptFeedback"))
IMAGEN_PREDICT = Shape("predict", {
    "predictions": [{"bytesBase64Encoded": B64, "mimeType": MIME, "gcsUri": str, "raiFilteredReason": str}]},
    needs=("predictions",), empty_ok=True)
CHAT_COMPLETIONS = Shape("chat.completions", {
    "choices": [{"message": {"images": [{"image_url": {"url": DATA_URI}}]}, "finish_reason": str,
                 "native_finish_reason": str}], "usage": dict, "model": str, "id": str},
    needs=("choices",))
_VIDEO = {"uri": str, "encodedVideo": B64, "encoding": MIME}
_VERTEX_VIDEO = {"bytesBase64Encoded": B64, "gcsUri": str, "mimeType": MIME}
_VIDEO_RESPONSE = {"generatedSamples": [{"video": _VIDEO}], "videos": [_VERTEX_VIDEO], "raiMediaFilteredCount": INT,
                   "raiMediaFilteredReasons": [str]}
VEO_OPERATION = Shape("operation", {
    "name": str, "done": bool, "error": {"message": str}, "metadata": dict,
    "response": {"generateVideoResponse": _VIDEO_RESPONSE, **_VIDEO_RESPONSE}}, needs=("name", "done"))
_BLOCK = {"type": str, "mime_type": MIME, "data": B64, "uri": str, "text": str}
INTERACTION = Shape("interaction", {
    "id": str, "status": str, "model": str, "usage": dict, "errors": [dict],
    "steps": [{"type": str, "content": [_BLOCK], "error": dict}],
    "output_video": {"mime_type": MIME, "data": B64, "uri": str}}, needs=("id", "status"))
BATCH = Shape("batch", {"name": str, "done": bool, "metadata": dict, "response": dict, "error": dict, "state": str},
              needs=("name", "metadata", "state"))
