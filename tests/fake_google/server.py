"""Harness: one ThreadingHTTPServer per fake service, request recording,
fault injection, rate limiting and the shared in-memory state.

``FakeGoogle`` is the public entry point (re-exported by the package).
Service logic lives in the sibling modules; each exposes a class with a
``router`` (see common.Router) that this harness dispatches to.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import os
import socket
import struct
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cliproxy import CliProxyService
from .common import ApiError, Request, Response, google_error, rand_b64, rand_id, text_response
from .edges import EdgeControls, Edges
from .gcs import GcsService, put_object
from .gemini import GeminiService
from .hosts import PUBLIC_ORIGINS, misdirected
from .oauth import OAuthService
from .vertex import VertexService

SERVICES = ("gemini", "vertex", "oauth", "gcs", "cliproxy")

DEFAULT_GEMINI_API_KEYS = frozenset({"AIzaSyFAKE-test-key-000000000000000000"})
DEFAULT_EXPRESS_KEYS = frozenset({"AQ.FAKE-express-key"})
DEFAULT_VERTEX_TOKENS = frozenset({"ya29.FAKE-raw-token"})
DEFAULT_CLIPROXY_KEYS = frozenset({"ccs-internal-managed", "test-proxy-key"})


@dataclass
class Config:
    """Behaviour knobs. ``FakeGoogle.reset()`` restores these defaults in place."""

    # Which retired Gemini-API families are served again (Veo via
    # predictLongRunning, Imagen via predict).
    gemini_veo_served: bool = False
    gemini_imagen_served: bool = False
    # Drift: models.list also shows these (id -> supportedGenerationMethods), and hides these ids (404).
    gemini_extra_models: dict = dataclasses.field(default_factory=dict)
    gemini_hidden_models: tuple = ()
    # Images
    image_outcome: str = "ok"          # ok|image_safety|no_image|prohibited|prompt_blocked|thoughts
    output_mime: str = "image/png"     # or image/jpeg / image/webp
    image_noise: bool = False          # incompressible pixels (memory benchmarks)
    image_pixels_override: tuple[int, int] | None = None
    imagen_filtered: int = 0           # Imagen: this many of sampleCount are RAI-filtered
    # Long-running video operations (Veo, both back ends)
    operation_polls_until_done: int = 1
    operation_done_after_s: float | None = None   # takes precedence when set
    video_outcome: str = "ok"          # ok|rai_filtered|error
    video_seconds: float | None = None  # override the produced clip length
    video_bytes_size: int | None = None  # serve synthetic video blobs of exactly this size
    veo31_mask_refused: bool = False   # Veo 3.1 (Vertex GA ids) refuses mask edits (UNCERTAIN which is true)
    # Files API / downloads
    file_processing_polls: int = 0     # GET files/{id} says PROCESSING this many times
    file_failed: bool = False          # files end in FAILED instead of ACTIVE
    file_expired: bool = False         # downloads answer 404
    file_ttl_s: float = 48 * 3600      # uploaded files are deleted this long after the upload (expirationTime)
    download_reset_after_bytes: int | None = None  # next download: drop the connection after N body bytes
    # Batch API
    batch_polls_until_done: int = 2
    # Vertex batch prediction (vertex_batch.py)
    vertex_batch_polls_until_done: int = 2
    vertex_batch_outcome: str = "ok"   # ok|failed|partial (the last request fails)
    vertex_batch_output_files: int = 1  # predictions files the lines are split into
    vertex_batch_create_delay_s: float = 0.0  # the job is recorded, then the answer waits this long
    vertex_batch_drop_create_reply: int = 0   # creates recorded, then answered by a dropped connection
    # Interactions API
    interaction_polls_until_done: int = 1
    interaction_outcome: str = "ok"    # ok|failed|no_video
    interaction_reply: str = "steps"   # steps|video_then_text|legacy_outputs (interactions.REPLY_SHAPES)
    interaction_status: str | None = None  # the status a finished interaction reports instead of "completed"
    interaction_max_total_s: float = 40.0  # extension cap (UNCERTAIN: 30 s per some sources)
    # GCS
    gcs_require_auth: bool = True
    # Global
    latency_s: float = 0.0             # sleep before every generation/create answer
    rate_limit_rps: float | None = None  # per-service sliding 1 s window on generation routes
    token_expires_in: int = 3599       # OAuth access-token lifetime reported and enforced


@dataclass
class Recorded:
    """One request as the fake received it."""

    service: str
    method: str
    path: str                          # no query string, percent-encoding kept
    query: dict[str, list[str]]
    headers: dict[str, str]            # lower-cased names
    body: bytes
    json: Any
    time: float                        # time.monotonic() at arrival
    status: int | None = None          # what the fake answered; 0 = connection reset, no answer
    host: str | None = None            # the hostname it was sent to (real-hostname mode only)


@dataclass
class Fault:
    service: str | None
    path_contains: str | None
    method: str | None
    status: int | None
    times: int | None                  # None = until cleared
    retry_delay: str | None
    retry_after: str | None
    body: bytes | None
    quota_id: str | None
    delay_s: float
    reset: bool

    def matches(self, service: str, method: str, path: str, raw_path: str) -> bool:
        if self.service and self.service != service:
            return False
        if self.method and self.method.upper() != method:
            return False
        if self.path_contains and self.path_contains not in path and self.path_contains not in raw_path:
            return False
        return True


class State:
    """Everything the services store; ``reset()`` replaces it wholesale."""

    def __init__(self) -> None:
        self.files: dict[str, dict] = {}          # gemini Files API: id -> record
        self.blobs: dict[str, dict] = {}          # id -> {"data": bytes, "mime": str}
        self.uploads: dict[str, dict] = {}        # gemini resumable sessions
        self.operations: dict[str, dict] = {}     # LRO name -> record
        self.batches: dict[str, dict] = {}
        self.vertex_batches: dict[str, dict] = {}  # batch prediction job id -> record
        self.vertex_batch_seq = 0
        self.interactions: dict[tuple[str, str], dict] = {}   # (backend, id) -> record
        self.issued_turns: dict[str, dict] = {}   # thoughtSignature -> the model turn it came with (context.py)
        self.gcs: dict[tuple[str, str], dict] = {}            # (bucket, name) -> object
        self.gcs_uploads: dict[str, dict] = {}
        self.rate: dict[str, deque] = {}          # service -> arrival times (rate_limit_rps)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive; every answer carries Content-Length
    server_version = "ESF"
    sys_version = ""
    timeout = 120                     # idle keep-alive sockets do not pin threads forever

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr noise
        pass

    def version_string(self) -> str:
        return "ESF"   # the "Server" header Google's front end sends

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        headers: dict[str, str] = {}
        for k, v in self.headers.items():
            lk = k.lower()
            headers[lk] = f"{headers[lk]}, {v}" if lk in headers else v
        self.server.fake._serve(self, self.server.service, self.command, self.path, headers, body,
                                peer_port=self.client_address[1])

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    # -- writing ---------------------------------------------------------------

    def abort(self) -> None:
        """Close with RST and no answer (a "connection reset by peer")."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def send(self, resp: Response) -> None:
        body = resp.body
        if isinstance(body, (bytes, bytearray)):
            length = len(body) if resp.length is None else resp.length
            chunks = [bytes(body)]
        else:
            length = resp.length or 0
            chunks = body
        head_only = self.command == "HEAD" or resp.status in (204, 304)
        try:
            self.send_response(resp.status)
            for k, v in resp.headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(0 if resp.status in (204, 304) else length))
            if resp.close_after is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            if head_only:
                return
            remaining = resp.close_after
            for chunk in chunks:
                if remaining is not None:
                    chunk = chunk[:remaining]
                    remaining -= len(chunk)
                if chunk:
                    self.wfile.write(chunk)
                if remaining is not None and remaining <= 0:
                    break
            self.wfile.flush()
            if resp.close_after is not None:
                # Mid-body drop: the client got exactly close_after bytes of a
                # body whose Content-Length promised more.
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # Google's front ends accept connections as fast as clients open them; with the socketserver
    # default of 5 a burst of new connections lost SYNs and reached the fake a second late.
    request_queue_size = 256

    def __init__(self, addr: tuple[str, int], fake: FakeGoogle, service: str):
        super().__init__(addr, _Handler)
        self.fake = fake
        self.service = service
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    # Track open connections so stop() can drop idle keep-alive sockets too;
    # otherwise a pooled client connection would still be answered by a
    # lingering handler thread after the fake was stopped.
    def get_request(self):
        conn, addr = super().get_request()
        with self._conns_lock:
            self._conns.add(conn)
        return conn, addr

    def shutdown_request(self, request) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _retry_delay_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return f"{value:g}s"
    return str(value)


class FakeGoogle(EdgeControls):
    """Real HTTP fakes of the Gemini API, Vertex AI, Google OAuth, GCS and
    CLIProxyAPI on 127.0.0.1, speaking Google's wire formats.

    >>> with FakeGoogle() as fake:
    ...     fake.urls["gemini"]   # 'http://127.0.0.1:PORT'

    With ``real_hosts=True`` clients reach it under Google's hostnames through
    ``tls.TlsProxy`` (``fake.urls`` are then ``https://<host>`` origins and
    ``fake.local_urls`` the ports the proxy connects to); requests on the wrong
    host are refused (``hosts.py``) and listed in ``fake.misdirected``.

    Credentials written by ``write_service_account`` /
    ``write_authorized_user`` / ``write_cliproxy_token_file`` and the access
    tokens the OAuth endpoint minted survive ``reset()`` (they are identity,
    not stored data); use ``revoke_tokens()`` to forget the tokens.
    """

    def __init__(self, port_base: int | None = None, host: str = "127.0.0.1", *, real_hosts: bool = False):
        self._lock = threading.RLock()
        self._host = host
        self._port_base = port_base
        self._servers: dict[str, _Server] = {}
        self._threads: dict[str, threading.Thread] = {}
        # Where clients reach each service: the local ports, or Google's own origins in real-hostname
        # mode (then only through the TLS proxy of tls.py, which connects to ``local_urls``).
        self.urls: dict[str, str] = {}
        self.local_urls: dict[str, str] = {}
        self.real_hosts = real_hosts
        self.misdirected: list[str] = []     # requests refused for the host they were sent to
        self._tunnels: dict[int, str] = {}   # proxy-side local port -> the hostname the client asked for
        self._current = threading.local()    # the host of the request a handler thread is serving
        self.config = Config()
        self.state = State()
        self._recorded: list[Recorded] = []
        self._faults: list[Fault] = []
        self.server_errors: list[str] = []   # tracebacks of handler crashes (answered 500)
        self.context_log: list[dict] = []    # one verdict per generateContent answer (context.py)
        self.edges = Edges()                 # cut bodies, redirects, drips (edges.py)
        self._reset_credentials()
        # identity registries (kept across reset())
        self._service_accounts: dict[str, dict] = {}   # client_email -> {"public_key", "key_id", ...}
        self._authorized_users: dict[str, dict] = {}   # refresh_token -> {"client_id", "client_secret"}
        self._minted: dict[str, float] = {}            # access token -> monotonic expiry
        self._rsa_key = None
        self._services = {
            "gemini": GeminiService(self),
            "vertex": VertexService(self),
            "oauth": OAuthService(self),
            "gcs": GcsService(self),
            "cliproxy": CliProxyService(self),
        }

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> FakeGoogle:
        if self._servers:
            return self
        for i, name in enumerate(SERVICES):
            port = 0 if self._port_base is None else self._port_base + i
            srv = _Server((self._host, port), self, name)
            self._servers[name] = srv
            self.local_urls[name] = f"http://{self._host}:{srv.server_address[1]}"
            self.urls[name] = PUBLIC_ORIGINS.get(name, self.local_urls[name]) if self.real_hosts \
                else self.local_urls[name]
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                 name=f"fake-google-{name}", daemon=True)
            t.start()
            self._threads[name] = t
        return self

    def stop(self) -> None:
        # shutdown() waits up to one poll interval per server: do them in parallel.
        stoppers = [threading.Thread(target=srv.shutdown, daemon=True) for srv in self._servers.values()]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join(timeout=5)
        for srv in self._servers.values():
            srv.server_close()
            srv.close_connections()
        for t in self._threads.values():
            t.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def token_uri(self) -> str:
        return f"{self.urls['oauth']}/token"

    # -- recording ---------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._recorded)

    def requests_for(self, service: str | None = None, method: str | None = None,
                     path_contains: str | None = None) -> list[Recorded]:
        return [r for r in self.requests
                if (service is None or r.service == service)
                and (method is None or r.method == method.upper())
                and (path_contains is None or path_contains in r.path)]

    def clear(self) -> None:
        """Forget recorded requests (state and knobs stay)."""
        with self._lock:
            self._recorded.clear()

    def reset(self) -> None:
        """Forget requests, faults and stored data; knobs and key sets back to defaults."""
        with self._lock:
            self._recorded.clear()
            self._faults.clear()
            self.edges.clear()
            self.server_errors.clear()
            self.misdirected.clear()
            self.context_log.clear()
            defaults = Config()
            for f in dataclasses.fields(Config):
                setattr(self.config, f.name, getattr(defaults, f.name))
            self.state = State()
            self._reset_credentials()

    def _reset_credentials(self) -> None:
        self.gemini_api_keys: set[str] = set(DEFAULT_GEMINI_API_KEYS)
        self.express_keys: set[str] = set(DEFAULT_EXPRESS_KEYS)
        self.vertex_tokens: set[str] = set(DEFAULT_VERTEX_TOKENS)
        self.cliproxy_keys: set[str] = set(DEFAULT_CLIPROXY_KEYS)

    # -- hostnames (real-hostname mode) --------------------------------------------------

    def register_tunnel(self, local_port: int, hostname: str) -> None:
        """The TLS proxy's connection from ``local_port`` carries requests the client sent to ``hostname``."""
        with self._lock:
            self._tunnels[local_port] = hostname

    def forget_tunnel(self, local_port: int) -> None:
        with self._lock:
            self._tunnels.pop(local_port, None)

    def request_host(self) -> str | None:
        """The hostname of the request this handler thread is serving (None outside real-hostname mode)."""
        return getattr(self._current, "host", None)

    def require_same_host(self, created_on: str | None, what: str) -> None:
        """Refuse (404) a poll, cancel or delete of ``what`` on another host than the one that created it."""
        host = self.request_host()
        if created_on is None or host is None or host == created_on:
            return
        raise self._misdirect(f"{what} was created on {created_on} but addressed on {host}")

    def _misdirect(self, why: str) -> ApiError:
        with self._lock:
            self.misdirected.append(why)
        # Another Google host does not know the resource: a plain 404, named so a test failure is clear.
        return ApiError(google_error(404, f"fake_google (wrong host): {why}."))

    def _host_of(self, peer_port: int | None, headers: dict[str, str]) -> tuple[str | None, str | None]:
        """The hostname a request was sent to, and why it may not be served (real-hostname mode)."""
        if not self.real_hosts:
            return None, None
        with self._lock:
            host = self._tunnels.get(peer_port or -1)
        sent = (headers.get("host") or "").rsplit(":", 1)[0].lower()
        if host is not None and sent != host:
            return host, f"the Host header {sent!r} differs from the tunnel's host {host}"
        return host, None

    # -- faults ----------------------------------------------------------------------

    def add_fault(self, service: str | None = None, path_contains: str | None = None,
                  method: str | None = None, *, status: int | None = None, times: int | None = 1,
                  retry_delay: str | float | None = None, retry_after: str | float | None = None,
                  body: bytes | str | None = None, quota_id: str | None = None,
                  delay_s: float = 0.0, reset: bool = False) -> None:
        """The next ``times`` matching requests get this fault instead of normal handling.

        With neither ``status``, ``body`` nor ``reset`` the fault only delays
        (``delay_s``) and the request is then handled normally. ``times=None``
        keeps the fault until ``reset()``.
        """
        if service is not None and service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for an unlimited fault)")
        if isinstance(body, str):
            body = body.encode("utf-8")
        fault = Fault(service, path_contains, method, status, times, _retry_delay_str(retry_delay),
                      None if retry_after is None else str(retry_after), body, quota_id, float(delay_s), reset)
        with self._lock:
            self._faults.append(fault)

    def faults_pending(self) -> int:
        """How many fault activations are still armed (an unlimited fault counts 1)."""
        with self._lock:
            return sum(1 if f.times is None else f.times for f in self._faults)

    def _take_fault(self, service: str, method: str, path: str, raw_path: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.matches(service, method, path, raw_path):
                    if f.times is not None:
                        f.times -= 1
                        if f.times <= 0:
                            self._faults.remove(f)
                    return f
        return None

    def _fault_response(self, fault: Fault, service: str, path: str) -> Response:
        status = fault.status or 200
        headers: list[tuple[str, str]] = []
        if fault.retry_after is not None:
            headers.append(("Retry-After", fault.retry_after))
        if fault.body is not None:
            ctype = "application/json; charset=UTF-8" if fault.body.lstrip()[:1] in (b"{", b"[") else "text/plain"
            return Response(status=status, body=fault.body, headers=[("Content-Type", ctype)] + headers)
        return error_for_status(status, service, path, retry_delay=fault.retry_delay,
                                quota_id=fault.quota_id, headers=headers)

    # -- rate limiting / latency for generation routes ----------------------------------

    def _gate(self, service: str, path: str) -> Response | None:
        rps = self.config.rate_limit_rps
        if rps:
            now = time.monotonic()
            with self._lock:
                window = self.state.rate.setdefault(service, deque())
                while window and now - window[0] >= 1.0:
                    window.popleft()
                if len(window) >= rps:
                    return error_for_status(429, service, path, retry_delay="1s")
                window.append(now)
        if self.config.latency_s:
            time.sleep(self.config.latency_s)
        return None

    # -- dispatch --------------------------------------------------------------------------

    def _serve(self, handler: _Handler, service: str, method: str, raw_path: str,
               headers: dict[str, str], body: bytes, peer_port: int | None = None) -> None:
        req = Request(service, method, raw_path, headers, body)
        host, wrong = self._host_of(peer_port, headers)
        self._current.host = host
        rec = Recorded(service=service, method=method, path=req.path, query=req.query, headers=headers,
                       body=body, json=req.try_json() if body else None, time=time.monotonic(), host=host)
        with self._lock:
            self._recorded.append(rec)
        if self.real_hosts and not wrong:
            wrong = misdirected(service, host, req.path, api_key=bool(req.header("x-goog-api-key") or req.q("key")))
        if wrong:
            resp = self._misdirect(wrong).response
            rec.status = resp.status
            handler.send(resp)
            return
        fault = self._take_fault(service, method, req.path, raw_path)
        if fault is not None:
            if fault.delay_s:
                time.sleep(fault.delay_s)
            if fault.reset:
                rec.status = 0
                handler.abort()
                return
            if fault.status is not None or fault.body is not None:
                resp = self._fault_response(fault, service, req.path)
                rec.status = resp.status
                handler.send(resp)
                return
        resp = self.edges.redirect(service, method, req) or self._dispatch(req)
        resp = self.edges.finish(service, method, req, resp)
        rec.status = resp.status
        if resp.abort:
            rec.status = 0
            handler.abort()
            return
        handler.send(resp)

    def _dispatch(self, req: Request) -> Response:
        svc = self._services[req.service]
        try:
            route, groups = svc.router.match(req.method, req.path)
            if route is None:
                return svc.no_route(req)
            if route.generation:
                gated = self._gate(req.service, req.path)
                if gated is not None:
                    return gated
            return route.fn(req, **groups)
        except ApiError as exc:
            return exc.response
        except Exception:  # a bug in the fake: answer 500 and keep the trace for the test
            tb = traceback.format_exc()
            with self._lock:
                self.server_errors.append(tb)
            return google_error(500, "Internal error in fake_google: " + tb.strip().splitlines()[-1])

    # -- OAuth identity registry --------------------------------------------------------

    def _mint_token(self, prefix: str = "ya29.fake-") -> str:
        token = prefix + rand_b64(24)
        with self._lock:
            self._minted[token] = time.monotonic() + self.config.token_expires_in
        return token

    def register_token(self, token: str) -> None:
        """Make ``token`` a valid bearer token for Vertex and GCS."""
        with self._lock:
            self._minted[token] = float("inf")

    def revoke_tokens(self) -> None:
        """Forget every minted/registered access token (clients must refresh)."""
        with self._lock:
            self._minted.clear()

    def token_valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            if token in self.vertex_tokens:
                return True
            exp = self._minted.get(token)
        return exp is not None and time.monotonic() < exp

    def _rsa(self):
        # One 2048-bit key per fake: generating is ~50-100 ms, so reuse it.
        if self._rsa_key is None:
            from cryptography.hazmat.primitives.asymmetric import rsa
            self._rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._rsa_key

    def write_service_account(self, path: str | os.PathLike, project_id: str = "fake-project") -> Path:
        """Write a service-account key file whose ``token_uri`` is this fake; return its path."""
        from cryptography.hazmat.primitives import serialization
        key = self._rsa()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        email = f"fake-sa@{project_id}.iam.gserviceaccount.com"
        key_id = rand_id(40, "0123456789abcdef")
        info = {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": email,
            "client_id": "1" + rand_id(20, "0123456789"),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email.replace('@', '%40')}",
            "universe_domain": "googleapis.com",
        }
        with self._lock:
            self._service_accounts[email] = {"public_key": key.public_key(), "key_id": key_id,
                                             "project_id": project_id}
        return _write_json(path, info)

    def _register_user(self) -> dict:
        user = {
            "client_id": rand_id(12, "0123456789") + "-" + rand_id(32) + ".apps.googleusercontent.com",
            "client_secret": "GOCSPX-" + rand_b64(21),
            "refresh_token": "1//0" + rand_b64(60),
        }
        with self._lock:
            self._authorized_users[user["refresh_token"]] = {"client_id": user["client_id"],
                                                             "client_secret": user["client_secret"]}
        return user

    def write_authorized_user(self, path: str | os.PathLike, quota_project_id: str = "fake-project") -> Path:
        """Write an ADC ``authorized_user`` file registered with this fake (``token_uri`` included).

        Note: google-auth ignores ``token_uri`` in such files
        (sdk-observations.md §4); build ``google.oauth2.credentials.Credentials``
        yourself to honour it.
        """
        user = self._register_user()
        info = {
            "type": "authorized_user",
            "client_id": user["client_id"],
            "client_secret": user["client_secret"],
            "refresh_token": user["refresh_token"],
            "quota_project_id": quota_project_id,
            "token_uri": self.token_uri,
            "universe_domain": "googleapis.com",
        }
        return _write_json(path, info)

    def write_cliproxy_token_file(self, path: str | os.PathLike, kind: str = "antigravity") -> Path:
        """Write a CLIProxyAPI OAuth token file (cliproxyapi-and-clinvoker.md §2.3).

        The access token is valid on this fake's Vertex and GCS services; the
        refresh token (with ``client_id``/``client_secret``/``token_uri``)
        works against this fake's ``/token``.
        """
        import datetime as _dt
        user = self._register_user()
        access = self._mint_token()
        with self._lock:
            self._minted[access] = float("inf")
        expiry = (_dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=3599))
        email = "fake-user@example.com"
        if kind == "antigravity":
            info = {
                "type": "antigravity",
                "access_token": access,
                "refresh_token": user["refresh_token"],
                "expires_in": 3599,
                "timestamp": int(time.time() * 1000),
                "expired": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "email": email,
                "project_id": "fake-project",
                "client_id": user["client_id"],
                "client_secret": user["client_secret"],
                "token_uri": self.token_uri,
            }
        elif kind == "gemini":
            info = {
                "token": {
                    "access_token": access,
                    "token_type": "Bearer",
                    "refresh_token": user["refresh_token"],
                    "expiry": expiry.isoformat(timespec="microseconds"),
                    "token_uri": self.token_uri,
                    "client_id": user["client_id"],
                    "client_secret": user["client_secret"],
                    "scopes": ["https://www.googleapis.com/auth/cloud-platform",
                               "https://www.googleapis.com/auth/userinfo.email",
                               "https://www.googleapis.com/auth/userinfo.profile"],
                    "universe_domain": "googleapis.com",
                },
                "project_id": "fake-project",
                "email": email,
                "auto": False,
                "checked": True,
                "type": "gemini",
            }
        else:
            raise ValueError("kind must be 'antigravity' or 'gemini'")
        return _write_json(path, info)

    # -- stored conversations -----------------------------------------------------------------

    def expire_interaction(self, interaction_id: str) -> bool:
        """Forget a stored interaction on every backend (as its retention ran out); True if one was stored."""
        with self._lock:
            keys = [key for key in self.state.interactions if key[1] == interaction_id]
            for key in keys:
                del self.state.interactions[key]
        return bool(keys)

    # -- GCS helpers ------------------------------------------------------------------------

    def gcs_put(self, bucket: str, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store an object in the fake GCS; returns ``gs://bucket/name``."""
        put_object(self, bucket, name, data, content_type)
        return f"gs://{bucket}/{name}"

    def gcs_get(self, bucket: str, name: str) -> bytes | None:
        with self._lock:
            obj = self.state.gcs.get((bucket, name))
        return None if obj is None else obj["data"]

    def gcs_objects(self) -> list[str]:
        with self._lock:
            return sorted(f"gs://{b}/{n}" for (b, n) in self.state.gcs)


def _write_json(path: str | os.PathLike, info: dict) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return p


_HTML_502 = """<!DOCTYPE html>
<html lang=en>
  <meta charset=utf-8>
  <title>Error 502 (Server Error)!!1</title>
  <p><b>502.</b> <ins>That's an error.</ins>
  <p>The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds.  <ins>That's all we know.</ins>
"""


def error_for_status(status: int, service: str, path: str, *, retry_delay: str | None = None,
                     quota_id: str | None = None, headers: list[tuple[str, str]] | None = None) -> Response:
    """Google's answer for an injected HTTP status (429/500/502/503/...)."""
    headers = list(headers or [])
    if status == 502:
        return text_response(_HTML_502, status=502, content_type="text/html; charset=UTF-8", headers=headers)
    details: list[dict] = []
    if status == 429:
        if service == "vertex":
            message = ("Resource exhausted. Please try again later. Please refer to "
                       "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details.")
        else:
            message = ("You exceeded your current quota, please check your plan and billing details. "
                       "For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.")
        if quota_id:
            details.append({
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                    "quotaId": quota_id,
                    "quotaDimensions": {"location": "global"},
                    "quotaValue": "10",
                }],
            })
            details.append({"@type": "type.googleapis.com/google.rpc.Help",
                            "links": [{"description": "Learn more about Gemini API quotas",
                                       "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]})
        if retry_delay:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    elif status == 503:
        message = "The model is overloaded. Please try again later."
    elif status == 500:
        message = ("An internal error has occurred. Please retry or report in "
                   "https://developers.generativeai.google/guide/troubleshooting")
    elif status == 504:
        message = "The request timed out. Please try again."
    elif status == 401:
        message = ("Request had invalid authentication credentials. Expected OAuth 2 access token, "
                   "login cookie or other valid authentication credential.")
    elif status == 403:
        message = "The caller does not have permission"
    elif status == 404:
        message = "Requested entity was not found."
    elif status == 400:
        message = "Request contains an invalid argument."
    else:
        message = f"Injected fault {status}."
    if retry_delay and status != 429:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    return google_error(status, message, details=details or None, headers=headers)
