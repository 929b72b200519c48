"""The only place that does network I/O: ``requests`` sessions, the retry policy, downloads and fetches.

Spend safety lives here. A *billable* request (a create call that may start a
paid generation) is retried only when we know the server did not act on it:
a 429 or 503 answer, or a connection that was never established. It is never
re-sent after a read timeout, a dropped connection, or a 500/504, because the
server may have started (and will bill) the work. Non-billable requests
(polls, downloads, listings, token mints) also retry transient 5xx and
timeouts. Every wait honours ``RetryInfo.retryDelay`` and ``Retry-After``.
"""
from __future__ import annotations

import contextlib
import email.utils
import hashlib
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

import requests
import requests.adapters
import urllib3
from urllib3.exceptions import NewConnectionError

from mediagen import __version__
from mediagen.core import errors
from mediagen.core.files import partial_path
from mediagen.core.redaction import redact_headers, redact_text
from mediagen.core.resources import script_command
from mediagen.transport import bodies
from mediagen.transport.http_errors import ErrorBody, error_for_status, parse_error_body
from mediagen.transport.redirects import follow_redirects

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 300.0          # 4K image generation can take minutes
POLL_READ_TIMEOUT_S = 60.0
BILLABLE_RETRY_STATUSES = frozenset({429, 503})
SAFE_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DOWNLOAD_CHUNK = 1 << 20
FETCH_CHUNK = 1 << 16
USER_AGENT = f"mediagen/{__version__}"


def new_session(pool_size: int | None = None) -> requests.Session:
    """A fresh ``requests.Session`` that names mediagen; ``pool_size`` sets how many connections it keeps per host.

    Without ``pool_size`` the session keeps requests' default of 10 per host.
    """
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    if pool_size is not None:
        for prefix in ("https://", "http://"):
            session.mount(prefix, requests.adapters.HTTPAdapter(pool_maxsize=max(1, int(pool_size))))
    return session


# ``details`` of a NetworkError whose connection was never established: the server saw nothing, nothing is billed.
NEVER_SENT = {"connected": False}


class Auth(Protocol):
    """What the transport needs from a credential."""

    def headers(self) -> dict[str, str]:
        """Headers that authenticate a request (may refresh a token first)."""

    def refresh(self) -> bool:
        """Force a token refresh after a 401; False when the credential cannot refresh."""


@dataclass(frozen=True)
class HttpRequest:
    """A fully built request. Builders return these; only ``Transport`` sends them."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None                    # may hold ``bodies.Base64Of`` values: the body is then spooled
    data: bytes | bodies.FileBody | None = None
    billable: bool = False
    read_timeout: float | None = None
    label: str = ""

    def describe(self, auth_headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A JSON-safe view for --dry-run and errors, with secrets masked."""
        headers = {**(auth_headers or {}), **self.headers}
        doc: dict[str, Any] = {"method": self.method, "url": redact_text(self.url),
                               "headers": redact_headers(dict(headers))}
        if self.params:
            doc["params"] = {k: redact_text(str(v)) for k, v in self.params.items()}
        if self.json is not None:
            doc["json"] = bodies.preview(self.json)
        if self.data is not None:
            doc["data_bytes"] = len(self.data)
        return doc


@dataclass
class RetryPolicy:
    """How many times, and how long, to wait between attempts."""

    max_attempts: int = 4
    base_delay_s: float = 1.0
    max_backoff_s: float = 30.0
    max_server_delay_s: float = 90.0   # a server asking for a longer wait is reported, not obeyed blindly

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for ``attempt`` (1-based)."""
        ceiling = min(self.max_backoff_s, self.base_delay_s * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


RetryListener = Callable[[HttpRequest, int, float, str], None]


@dataclass
class DownloadResult:
    """A file written by ``Transport.download``."""

    path: Path
    size: int
    sha256: str
    content_type: str | None
    resumed: int = 0


@dataclass
class FetchResult:
    """A body read whole into memory by ``Transport.fetch``."""

    content: bytes
    content_type: str | None
    status: int


@dataclass
class Body:
    """A 2xx answer being read: its chunks (a connection that dies mid-body raises ``NetworkError``),
    its Content-Type and its declared length."""

    chunks: Iterator[bytes]
    content_type: str
    length: int | None


class ResponseTooLarge(errors.ApiError):
    """``Transport.fetch`` stopped reading: the body is over the caller's size cap."""

    type = "too_large"


class Transport:
    """Sends ``HttpRequest`` objects with retries, timeouts and error mapping."""

    def __init__(self, session: requests.Session | None = None, *, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 on_retry: RetryListener | None = None,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S,
                 credential_hosts: Iterable[str] = (), fetch_deadline_s: float | None = None) -> None:
        self.session = session or new_session()
        # requests gives every session its own "python-requests/x" agent, so setdefault would never apply.
        if str(self.session.headers.get("User-Agent", "")).startswith("python-requests/"):
            self.session.headers["User-Agent"] = USER_AGENT
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.on_retry = on_retry
        self.connect_timeout_s = connect_timeout_s
        # Hosts ("host" or "host:port") a redirect may carry credentials to besides the request's own origin.
        self.credential_hosts = frozenset(h.strip().lower() for h in credential_hosts if h and h.strip())
        # The overall deadline callers give ``fetch`` for user URLs (None: the caller's own default).
        self.fetch_deadline_s = fetch_deadline_s

    def send(self, request: HttpRequest, auth: Auth | None = None, *,
             stream: bool = False) -> requests.Response:
        """Send with the retry policy; return a 2xx response or raise an ``ApiError``."""
        with bodies.prepared(request.json, request.data) as payload:
            return self._send(request, payload, auth, stream)

    def _send(self, request: HttpRequest, payload: bodies.Payload, auth: Auth | None,
              stream: bool) -> requests.Response:
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._attempt(request, payload, auth, stream)
            except _Retryable as exc:
                self._wait_or_raise(request, attempt, None, exc.error, exc.reason)
                continue
            if response.status_code < 400:
                return response
            body = parse_error_body(response.content, response.headers.get("Content-Type", ""))
            if response.status_code == 401 and auth is not None and not refreshed and auth.refresh():
                refreshed = True       # an expired token: refresh once, then resend
                continue
            error = error_for_status(response.status_code, body, method=request.method, url=request.url)
            if not self._retryable_status(request, response.status_code, body):
                raise error
            delay = _server_delay(response, body)
            self._wait_or_raise(request, attempt, delay, error, f"HTTP {response.status_code}")

    @contextlib.contextmanager
    def stream_body(self, request: HttpRequest, auth: Auth | None = None) -> Iterator[Body]:
        """Send (with the retry policy) and hand over the 2xx answer's body as it arrives."""
        with self.send(request, auth, stream=True) as response:
            declared = response.headers.get("Content-Length", "")
            yield Body(_body_chunks(response, request), response.headers.get("Content-Type", ""),
                       int(declared) if declared.isdigit() else None)

    def send_json(self, request: HttpRequest, auth: Auth | None = None) -> dict[str, Any]:
        """Send and decode a JSON object body (an empty body decodes to ``{}``)."""
        response = self.send(request, auth)
        if not response.content.strip():
            return {}
        try:
            doc = response.json()
        except ValueError as exc:
            raise errors.ServerError(f"{request.label or request.method} returned a body that is not JSON",
                                     "The server (or a proxy in between) answered with something unexpected; "
                                     "retry later.", status=response.status_code,
                                     details={"excerpt": redact_text(response.text[:200])}) from exc
        if isinstance(doc, list) and doc and isinstance(doc[0], dict):
            doc = doc[0]         # streaming-style answers wrap the object in a list
        if not isinstance(doc, dict):
            raise errors.ServerError(f"{request.label or request.method} returned JSON that is not an object")
        return doc

    def download(self, request: HttpRequest, dest: Path, auth: Auth | None = None, *,
                 max_resumes: int = 5, check: Callable[[Path, str | None], None] | None = None) -> DownloadResult:
        """Stream a body to ``dest`` through ``.dest.part``, resuming with ``Range`` after a dropped connection.

        Memory stays flat whatever the size: chunks go straight to the part
        file. A part file left by an earlier (killed) download is continued,
        not restarted. ``check`` may inspect the complete part file (and the
        declared Content-Type) before it is renamed to ``dest``; if it raises,
        the part file is removed. Redirects keep credentials only on the same
        origin (see ``send``).
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = partial_path(dest)
        digest, written = _continue_hash(tmp)
        resumed, content_type = 0, None
        while True:
            try:
                content_type = self._download_once(request, auth, tmp, digest, written) or content_type
                break
            except _Restart:
                digest, written = hashlib.sha256(), 0
                tmp.unlink(missing_ok=True)
            except _Interrupted as cut:
                digest, written = cut.digest, cut.written
                resumed += 1
                if resumed > max_resumes:
                    retry = script_command("jobs.py", "download", "JOB_ID")
                    raise errors.NetworkError(f"download kept failing: {redact_text(str(cut.cause))}",
                                              f"Retry later with {retry}.") from cut.cause
                self.sleep(self.retry.backoff(resumed))
        if check is not None:
            try:
                check(tmp, content_type)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        os.replace(tmp, dest)
        return DownloadResult(dest, _size_of(dest), digest.hexdigest(), content_type, resumed)

    def _download_once(self, request: HttpRequest, auth: Auth | None, tmp: Path, digest: Any,
                       written: int) -> str | None:
        """One GET (ranged after ``written`` bytes) appended to ``tmp``; returns its Content-Type."""
        ranged = request if not written else replace(request, headers={**request.headers, "Range": f"bytes={written}-"})
        try:
            with self.send(ranged, auth, stream=True) as response:
                if written and response.status_code != 206:
                    raise _Restart()             # the server ignored Range: start over
                with open(tmp, "ab") as out:
                    for chunk in _raw_chunks(response):
                        out.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
                return response.headers.get("Content-Type")
        except errors.ApiError as exc:
            if written and exc.status == 416:
                raise _Restart() from exc        # the part no longer matches what the server holds
            if not isinstance(exc, errors.NetworkError):
                raise
            raise _Interrupted(exc, digest, written) from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                urllib3.exceptions.HTTPError) as exc:
            raise _Interrupted(exc, digest, written) from exc

    def fetch(self, url: str, *, max_bytes: int, timeout: float,
              read_timeout: float = POLL_READ_TIMEOUT_S) -> FetchResult:
        """GET ``url`` into memory: at most ``max_bytes``, and all of it within ``timeout`` seconds.

        One attempt and no credential: this is for URLs a user passes (input
        images), not for Google's APIs. ``timeout`` is an overall deadline, so a
        server that drips its body a byte at a time cannot hold the caller;
        ``read_timeout`` bounds each wait for data. An HTTP error status raises
        the matching ``ApiError`` (body unread), an oversized body
        ``ResponseTooLarge``, the deadline ``RequestTimeout``.
        """
        request = HttpRequest("GET", url, label="download")
        deadline = time.monotonic() + timeout
        limits = urllib3.Timeout(connect=min(self.connect_timeout_s, timeout), read=min(read_timeout, timeout),
                                 total=timeout)
        watchdog = _Watchdog(deadline)
        try:
            with self.session.get(url, stream=True, timeout=limits) as response:
                if response.status_code >= 400:
                    raise error_for_status(response.status_code, ErrorBody(message=response.reason or "error"),
                                           method="GET", url=url)
                with watchdog.guarding(response):
                    content = _read_capped(response, max_bytes, request, watchdog)
                if watchdog.fired:            # the cut connection may have ended the body early
                    raise _deadline_error(request, timeout)
                return FetchResult(content, response.headers.get("Content-Type"), response.status_code)
        except errors.ApiError:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _fetch_error(request, exc, timeout, watchdog.fired or time.monotonic() >= deadline) from exc

    # -- internals -------------------------------------------------------

    def _attempt(self, request: HttpRequest, payload: bodies.Payload, auth: Auth | None,
                 stream: bool) -> requests.Response:
        headers = {**(auth.headers() if auth else {}), **payload.headers, **request.headers}
        read_timeout = request.read_timeout or (READ_TIMEOUT_S if request.billable else POLL_READ_TIMEOUT_S)
        timeout = (self.connect_timeout_s, read_timeout)
        payload.rewind()
        try:
            response = self.session.request(request.method, request.url, headers=headers,
                                            params=dict(request.params) or None, json=payload.json,
                                            data=payload.data, stream=stream, timeout=timeout,
                                            allow_redirects=False)
            return follow_redirects(self.session, response, replace(request, json=payload.json, data=payload.data),
                                    headers, stream=stream, timeout=timeout, allowed=self.credential_hosts)
        except requests.ConnectTimeout as exc:
            raise _Retryable(errors.NetworkError(_net_message(request, exc), _NET_HINT, details=dict(NEVER_SENT)),
                             "connect timeout") from exc
        except requests.ReadTimeout as exc:
            error = errors.RequestTimeout(
                f"{request.label or request.method} timed out after {read_timeout:.0f}s",
                _BILLABLE_TIMEOUT_HINT if request.billable else "Retry later; the service is slow.",
                method=request.method, url=redact_text(request.url))
            if request.billable:
                raise error from exc       # the server may be generating (and billing) already
            raise _Retryable(error, "read timeout") from exc
        except requests.ConnectionError as exc:
            never = _never_connected(exc)
            error = errors.NetworkError(_net_message(request, exc), _NET_HINT, method=request.method,
                                        url=redact_text(request.url), details=dict(NEVER_SENT) if never else None)
            if never or not request.billable:
                raise _Retryable(error, "connection failed") from exc
            raise error from exc

    def _retryable_status(self, request: HttpRequest, status: int, body: ErrorBody) -> bool:
        if body.per_day_quota:
            return False
        allowed = BILLABLE_RETRY_STATUSES if request.billable else SAFE_RETRY_STATUSES
        return status in allowed

    def _wait_or_raise(self, request: HttpRequest, attempt: int, server_delay: float | None,
                       error: errors.ApiError, reason: str) -> None:
        if attempt >= self.retry.max_attempts:
            raise error
        if server_delay is not None and server_delay > self.retry.max_server_delay_s:
            error.hint = (f"The server asked to wait {server_delay:.0f}s, longer than mediagen waits on its own. "
                          f"Try again later. {error.hint}").strip()
            raise error
        delay = server_delay if server_delay is not None else self.retry.backoff(attempt)
        if self.on_retry:
            self.on_retry(request, attempt, delay, reason)
        self.sleep(delay)


def _body_chunks(response: requests.Response, request: HttpRequest) -> Iterator[bytes]:
    """The body in chunks; a read that fails (a dropped connection, a body shorter than its Content-Length,
    a read timeout) is a ``NetworkError`` saying how much arrived."""
    received = 0
    try:
        for chunk in response.iter_content(DOWNLOAD_CHUNK):
            received += len(chunk)
            yield chunk
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        declared = response.headers.get("Content-Length")
        expected = f"of {declared} " if declared else ""
        raise errors.NetworkError(
            f"the connection broke after {received} {expected}bytes of the answer to "
            f"{request.label or request.method}", _NET_HINT, method=request.method,
            url=redact_text(request.url), details={"received_bytes": received}) from exc


def _raw_chunks(response: requests.Response) -> Any:
    """Body chunks as they arrive. ``read1`` keeps a partial last chunk when the connection drops
    (``iter_content`` would discard it), so a resume starts exactly where the data stopped."""
    while True:
        chunk = response.raw.read1(DOWNLOAD_CHUNK, decode_content=True)
        if not chunk:
            return
        yield chunk


def _read_capped(response: requests.Response, max_bytes: int, request: HttpRequest,
                 watchdog: _Watchdog) -> bytes:
    """The decoded body, refusing (before buffering more) once it passes ``max_bytes``."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(request, max_bytes)
    chunks, total = [], 0
    while True:
        # read1 returns whatever one socket read brings, so a slow server cannot park us inside a
        # large read; the watchdog bounds the wait for that read.
        chunk = response.raw.read1(FETCH_CHUNK, decode_content=True)
        if not chunk or watchdog.fired:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(request, max_bytes)
        chunks.append(chunk)


class _Watchdog:
    """Cuts a streaming response's connection at the deadline, so a blocked read returns at once."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._done = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def guarding(self, response: requests.Response) -> Any:
        timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._cut, [response])
        timer.daemon = True
        timer.start()
        try:
            yield self
        finally:
            with self._lock:        # after this, a late timer leaves the connection alone
                self._done = True
            timer.cancel()

    def _cut(self, response: requests.Response) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            with contextlib.suppress(OSError, ValueError):
                # shutdown() through a duplicate descriptor wakes the blocked reader (also under TLS)
                # without touching the objects the reading thread is using
                with socket.fromfd(response.raw.fileno(), socket.AF_INET, socket.SOCK_STREAM) as duplicate:
                    duplicate.shutdown(socket.SHUT_RDWR)


def _too_large(request: HttpRequest, max_bytes: int) -> ResponseTooLarge:
    return ResponseTooLarge(redact_text(f"{request.url} is larger than {max_bytes} bytes"),
                            "Download and shrink it first.", method=request.method, url=redact_text(request.url))


def _deadline_error(request: HttpRequest, timeout: float) -> errors.RequestTimeout:
    return errors.RequestTimeout(f"{request.label} of {redact_text(request.url)} did not finish within {timeout:g}s",
                                 "The server is sending too slowly; download the file yourself and pass a "
                                 "local path.", method=request.method, url=redact_text(request.url))


def _fetch_error(request: HttpRequest, exc: Exception, timeout: float, past_deadline: bool) -> errors.ApiError:
    """The ``ApiError`` for a failed fetch: the deadline, a read timeout, or a network failure."""
    if past_deadline:
        return _deadline_error(request, timeout)
    if isinstance(exc, (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError)):
        return errors.RequestTimeout(f"{request.label} of {redact_text(request.url)} timed out",
                                     "Retry later, or download the file yourself and pass a local path.",
                                     method=request.method, url=redact_text(request.url))
    return errors.NetworkError(_net_message(request, exc), _NET_HINT, method=request.method,
                               url=redact_text(request.url))


class _Restart(Exception):
    """Internal: the partial download cannot be continued; start it again from the first byte."""


class _Interrupted(Exception):
    """Internal: the connection broke mid-download after ``written`` bytes (hashed into ``digest``)."""

    def __init__(self, cause: Exception, digest: Any, written: int) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.digest = digest
        self.written = written


def _continue_hash(part: Path) -> tuple[Any, int]:
    """The sha256 and size of what an earlier download left in ``part`` (nothing: a fresh hash, 0)."""
    digest = hashlib.sha256()
    if not part.is_file():
        return digest, 0
    with open(part, "rb") as handle:
        for chunk in iter(lambda: handle.read(DOWNLOAD_CHUNK), b""):
            digest.update(chunk)
    return digest, part.stat().st_size


def _size_of(path: Path) -> int:
    """The size of a file (0 when it is gone)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _Retryable(Exception):
    """Internal: an attempt failed in a way the policy may retry."""

    def __init__(self, error: errors.ApiError, reason: str) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason


_NET_HINT = "Check the network and the base URL settings (see --show-defaults); the request can be retried."
_BILLABLE_TIMEOUT_HINT = ("The request was sent but no answer came back in time. It was NOT retried, because "
                          f"Google may still generate and bill it. Check {script_command('jobs.py', 'list')} and "
                          "the ledger before trying again.")


def _net_message(request: HttpRequest, exc: Exception) -> str:
    return redact_text(f"{request.label or request.method} could not reach {request.url}: {exc}")


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when the TCP connection was never established, so the server saw nothing."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, NewConnectionError) or isinstance(exc, requests.ConnectTimeout):
        return True
    text = str(exc)
    return "Connection refused" in text or "Failed to establish a new connection" in text


def _server_delay(response: requests.Response, body: ErrorBody) -> float | None:
    """The wait the server asked for: RetryInfo in the body, else the Retry-After header."""
    if body.retry_delay_s is not None:
        return body.retry_delay_s
    header = (response.headers.get("Retry-After") or "").strip()
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None             # unreadable ("soon-ish"): the ordinary backoff applies
    return max(0.0, parsed.timestamp() - time.time())
