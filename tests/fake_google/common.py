"""Shared plumbing for the fake Google services.

Request/response objects, Google's error envelope, a tiny regex router and
small helpers (ids, timestamps, casing, base64, byte ranges) used by every
service module. Nothing here knows about a particular Google API.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import re
import secrets
import string
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

# google.rpc.Code names for the HTTP statuses Google's front end emits.
HTTP_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# gRPC integer codes, used inside long-running-operation `error` objects
# (google-media-apis.md §6.4), where `code` is NOT the HTTP status.
GRPC_CODES = {
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "UNAUTHENTICATED": 16,
}


# --------------------------------------------------------------------------
# Request / response
# --------------------------------------------------------------------------

_UNSET = object()


class Request:
    """One parsed HTTP request as seen by a service handler.

    ``path`` keeps percent-encoding (GCS object names need the raw form);
    ``query`` is parsed into ``dict[str, list[str]]``; header names are
    lower-cased.
    """

    def __init__(self, service: str, method: str, raw_path: str, headers: dict[str, str], body: bytes):
        self.service = service
        self.method = method
        path, _, qs = raw_path.partition("?")
        self.path = path
        self.query_string = qs
        self.query = urllib.parse.parse_qs(qs, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self._json: Any = _UNSET

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def q(self, name: str, default: str | None = None) -> str | None:
        vals = self.query.get(name)
        return vals[0] if vals else default

    def json(self) -> Any:
        """Parsed JSON body; raises a Google-style 400 when it is not JSON."""
        if self._json is _UNSET:
            if not self.body.strip():
                self._json = None
            else:
                try:
                    self._json = json.loads(self.body.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise ApiError(google_error(
                        400, f"Invalid JSON payload received. {exc}"))
        return self._json

    def try_json(self) -> Any:
        try:
            return self.json()
        except ApiError:
            return None


@dataclass
class Response:
    """What a handler wants written back.

    ``body`` is bytes, or an iterable of byte chunks whose total is
    ``length`` (used to stream big synthetic blobs without holding them in
    memory). ``close_after`` sends only that many body bytes and then closes
    the connection (a mid-download drop). ``abort`` closes the connection
    without writing anything (a connection reset).
    """

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    length: int | None = None
    close_after: int | None = None
    abort: bool = False

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class ApiError(Exception):
    """Raised by handlers/validators to answer with a prepared Response."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def json_response(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(obj, indent=2).encode("utf-8")
    hdrs = [("Content-Type", "application/json; charset=UTF-8")]
    hdrs.extend(headers or [])
    return Response(status=status, body=body, headers=hdrs)


def text_response(text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8",
                  headers: list[tuple[str, str]] | None = None) -> Response:
    hdrs = [("Content-Type", content_type)]
    hdrs.extend(headers or [])
    return Response(status=status, body=text.encode("utf-8"), headers=hdrs)


def google_error(code: int, message: str, status: str | None = None,
                 details: list[dict] | None = None,
                 headers: list[tuple[str, str]] | None = None) -> Response:
    """Google's ``{"error": {"code", "message", "status", "details"}}`` envelope."""
    err: dict[str, Any] = {
        "code": code,
        "message": message,
        "status": status or HTTP_STATUS_NAMES.get(code, "UNKNOWN"),
    }
    if details:
        err["details"] = details
    return json_response({"error": err}, status=code, headers=headers)


def bad_request(message: str, field_path: str | None = None) -> ApiError:
    """400 INVALID_ARGUMENT, with a BadRequest detail like Google's transcoder."""
    details = None
    if field_path is not None:
        details = [{
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field_path, "description": message}],
        }]
    return ApiError(google_error(400, message, details=details))


def unknown_field(name: str, at: str | None = None) -> ApiError:
    """The transcoder's message for a JSON key the proto does not have."""
    where = f" at '{at}'" if at else ""
    msg = f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
    return bad_request(msg, field_path=at or "")


def not_found(message: str) -> ApiError:
    return ApiError(google_error(404, message))


# --------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------

@dataclass
class Route:
    methods: tuple[str, ...]
    regex: re.Pattern
    fn: Callable[..., Response]
    generation: bool = False   # subject to latency_s and rate_limit_rps


class Router:
    """Ordered list of (methods, full-match regex, handler)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, methods: str | Iterable[str], pattern: str, fn: Callable[..., Response],
            generation: bool = False) -> None:
        if isinstance(methods, str):
            methods = (methods,)
        self.routes.append(Route(tuple(m.upper() for m in methods), re.compile(pattern), fn, generation))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            m = route.regex.fullmatch(path)
            if m and (method in route.methods or (method == "HEAD" and "GET" in route.methods)):
                groups = {k: urllib.parse.unquote(v) if v is not None else None
                          for k, v in m.groupdict().items()}
                return route, groups
        return None, {}


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

_ID_ALPHABET = string.ascii_lowercase + string.digits


def rand_id(n: int = 12, alphabet: str = _ID_ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def rand_b64(nbytes: int = 18) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode().rstrip("=")


def now_rfc3339(offset_s: float = 0.0) -> str:
    t = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=offset_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}Z"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode_lenient(value: Any) -> bytes | None:
    """Decode base64 the way proto bytes fields do (standard or URL-safe, padding optional).

    Returns None when the value is not decodable.
    """
    if not isinstance(value, str):
        return None
    s = value.strip()
    if re.search(r"[^A-Za-z0-9+/=_\-\s]", s):
        return None
    s = re.sub(r"\s+", "", s).replace("-", "+").replace("_", "/")
    s = s.rstrip("=")
    if len(s) % 4 == 1:
        return None
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None


def api_key(req: Request) -> str | None:
    """Google API key from ``x-goog-api-key`` or ``?key=``."""
    return req.header("x-goog-api-key") or req.q("key")


def bearer(req: Request) -> str | None:
    auth = req.header("authorization")
    if not auth:
        return None
    parts = auth.split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1].strip()
    return None


def snake_to_camel(name: str) -> str:
    if "_" not in name:
        return name
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# Keys whose values are free-form (google.protobuf.Struct / JSON schema), so
# their inner keys must not be renamed.
FREEFORM_KEYS = frozenset({
    "args", "response", "parameters", "parametersJsonSchema", "responseSchema",
    "responseJsonSchema", "properties", "metadata", "labels", "userMetadata",
})


def camelize(obj: Any, path: str = "") -> Any:
    """Return a copy with every key in lowerCamelCase (typed-message JSON).

    The Google transcoder accepts both the proto (snake_case) and JSON
    (lowerCamelCase) spellings at every level, including mixtures such as
    ``{"inlineData": {"mime_type": ...}}`` (sdk-observations.md §3).
    Giving both spellings of one field is rejected, as protobuf's JSON
    parser does.
    """
    if isinstance(obj, list):
        return [camelize(v, f"{path}[{i}]") for i, v in enumerate(obj)]
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for key, value in obj.items():
        ckey = snake_to_camel(key) if isinstance(key, str) else key
        if ckey in out:
            raise bad_request(
                f'Invalid JSON payload received. Field "{camel_to_snake(ckey)}" was given more than once'
                + (f" at '{path}'" if path else "") + ".")
        sub = f"{path}.{camel_to_snake(ckey)}" if path else camel_to_snake(ckey)
        out[ckey] = value if ckey in FREEFORM_KEYS else camelize(value, sub)
    return out


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse a single ``Range: bytes=...`` header into an inclusive (start, end).

    Returns None for "no (usable) range header" (serve everything); raises
    RangeNotSatisfiable when the range starts past the end.
    """
    if not header:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m or (not m.group(1) and not m.group(2)):
        return None  # unparsable or multi-range: servers may ignore it
    first, last = m.group(1), m.group(2)
    if first == "":
        n = int(last)
        if n == 0:
            raise RangeNotSatisfiable()
        return max(0, size - n), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or start > end:
        raise RangeNotSatisfiable()
    return start, end


def serve_bytes(req: Request, size: int, reader: Callable[[int, int], bytes | Iterable[bytes]],
                content_type: str, extra_headers: list[tuple[str, str]] | None = None) -> Response:
    """A 200/206/416 response for a byte source honouring ``Range``.

    ``reader(start, end_inclusive)`` returns bytes or an iterable of chunks.
    """
    headers = [("Content-Type", content_type), ("Accept-Ranges", "bytes")]
    headers.extend(extra_headers or [])
    try:
        rng = parse_range(req.header("range"), size)
    except RangeNotSatisfiable:
        return Response(status=416, headers=headers + [("Content-Range", f"bytes */{size}")], body=b"")
    if rng is None:
        body = reader(0, size - 1) if size else b""
        return Response(status=200, headers=headers, body=body, length=size)
    start, end = rng
    headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
    return Response(status=206, headers=headers, body=reader(start, end), length=end - start + 1)


def page(items: list, req: Request, default_size: int = 50, max_size: int = 1000) -> tuple[list, str | None]:
    """Slice ``items`` by ``pageSize``/``pageToken`` (opaque base64 offsets)."""
    raw_size = req.q("pageSize") or req.q("page_size")
    try:
        size = int(raw_size) if raw_size else default_size
    except ValueError:
        raise bad_request(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw_size}\"", "page_size")
    if size <= 0:
        size = default_size
    size = min(size, max_size)
    token = req.q("pageToken") or req.q("page_token")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
        except Exception:
            raise bad_request("Invalid page token.", "page_token")
    chunk = items[start:start + size]
    nxt = None
    if start + size < len(items):
        nxt = base64.urlsafe_b64encode(str(start + size).encode()).decode().rstrip("=")
    return chunk, nxt


def as_int(value: Any) -> int | None:
    """Accept ints, integral floats and numeric strings (Google's int64-as-string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None
