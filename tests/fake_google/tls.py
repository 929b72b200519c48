"""Google's real hostnames for tests: a test CA and a local TLS-terminating CONNECT proxy.

Clients run with ``HTTPS_PROXY``/``HTTP_PROXY`` set to ``TlsProxy.url`` and
``REQUESTS_CA_BUNDLE`` set to ``TestCA.bundle``, and no base-URL overrides, so
they build the same URLs they would build in production. For each
``CONNECT host:443`` the proxy

1. refuses hosts the fake does not play (``hosts.service_for``), so nothing
   can leak to the real network;
2. answers the TLS handshake with a certificate for exactly that hostname,
   issued on first use by the session's CA (ECDSA P-256: milliseconds each);
3. opens a plain connection to the fake service for that host and tells the
   fake which hostname the connection carries (``FakeGoogle.register_tunnel``),
   so the fake can refuse a path on the wrong host and a poll on a host that
   did not create the operation;
4. relays bytes both ways until either side closes; a reset from the fake is
   passed on as a reset.

Plain-HTTP proxy requests (``GET http://...``) are refused with 403: Google is
only reached over TLS. Everything here is test-only.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import select
import socket
import socketserver
import ssl
import struct
import tempfile
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .hosts import service_for

RELAY_CHUNK = 1 << 16
IDLE_WAIT_S = 0.5          # how often an idle tunnel checks whether the proxy is stopping


class TestCA:
    """A certificate authority made for one test session, and the leaf certificates it signs."""

    __test__ = False       # not a pytest test class

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder or tempfile.mkdtemp(prefix="fake-google-ca-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake_google test CA")])
        self.cert = (_builder(name, name, self._key.public_key(), days=2)
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(_key_usage(ca=True), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()),
                                    critical=False)
                     .sign(self._key, hashes.SHA256()))
        self.bundle = self.folder / "ca.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def server_context(self, hostname: str) -> ssl.SSLContext:
        """A server-side TLS context whose certificate names exactly ``hostname`` (made once, then cached)."""
        with self._lock:
            context = self._contexts.get(hostname)
            if context is None:
                context = self._contexts[hostname] = self._make_context(hostname)
            return context

    def _make_context(self, hostname: str) -> ssl.SSLContext:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
        public = self._leaf_key.public_key()
        leaf = (_builder(subject, self.cert.subject, public, days=1)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(_key_usage(ca=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                               critical=False)
                .sign(self._key, hashes.SHA256()))
        chain = self.folder / f"{hostname}.pem"
        chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM)
                          + self._leaf_key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        return context


def _builder(subject: x509.Name, issuer: x509.Name, public_key, *, days: int) -> x509.CertificateBuilder:
    now = _dt.datetime.now(_dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(hours=1)).not_valid_after(now + _dt.timedelta(days=days)))


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not ca, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


class TlsProxy:
    """A CONNECT proxy on 127.0.0.1 that ends TLS for Google's hostnames and relays to a real-hostname fake."""

    def __init__(self, fake, ca: TestCA) -> None:
        if not fake.real_hosts:
            raise ValueError("the TLS proxy needs a FakeGoogle(real_hosts=True)")
        self.fake = fake
        self.ca = ca
        self.refused: list[str] = []       # CONNECT targets (or plain-HTTP requests) it turned away
        self.stopping = threading.Event()
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the proxy first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """The standard variables that send ``requests`` (and google-auth) through this proxy, trusting the CA."""
        return {"HTTPS_PROXY": self.url, "HTTP_PROXY": self.url, "NO_PROXY": "127.0.0.1,localhost",
                "REQUESTS_CA_BUNDLE": str(self.ca.bundle)}

    def start(self) -> TlsProxy:
        self._server = _ProxyServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fake-google-tls-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> TlsProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def backend_address(self, hostname: str) -> tuple[str, int] | None:
        """The local address of the fake service that answers for ``hostname`` (None: refused)."""
        service = service_for(hostname)
        if service is None:
            return None
        host, _, port = self.fake.local_urls[service].removeprefix("http://").rpartition(":")
        return host, int(port)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, proxy: TlsProxy) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.proxy = proxy


class _ProxyHandler(socketserver.BaseRequestHandler):
    """One client connection: a CONNECT, the TLS handshake, then the relay."""

    def handle(self) -> None:
        proxy: TlsProxy = self.server.proxy
        client: socket.socket = self.request
        client.settimeout(10)
        head = _read_head(client)
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(parts) < 2 or parts[0] != "CONNECT":
            self._refuse(client, proxy, f"plain HTTP through the proxy: {' '.join(parts[:2])}")
            return
        hostname, _, port = parts[1].rpartition(":")
        hostname = hostname.lower()
        backend_address = proxy.backend_address(hostname) if port == "443" else None
        if backend_address is None:
            self._refuse(client, proxy, f"CONNECT {parts[1]}")
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with socket.create_connection(backend_address, timeout=10) as backend:
            local_port = backend.getsockname()[1]
            proxy.fake.register_tunnel(local_port, hostname)
            try:
                _Tunnel(client, backend, proxy.ca.server_context(hostname), proxy.stopping).run()
            finally:
                proxy.fake.forget_tunnel(local_port)

    @staticmethod
    def _refuse(client: socket.socket, proxy: TlsProxy, what: str) -> None:
        proxy.refused.append(what)
        body = f"fake_google TLS proxy: refused {what}\n".encode()
        with contextlib.suppress(OSError):
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def _read_head(sock: socket.socket) -> bytes:
    """The request line and headers of the proxy request (the client sends nothing more before our answer)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


class _Tunnel:
    """TLS with the client through memory buffers (one thread, no shared SSL socket), plain to the fake."""

    def __init__(self, client: socket.socket, backend: socket.socket, context: ssl.SSLContext,
                 stopping: threading.Event) -> None:
        self.client, self.backend, self.stopping = client, backend, stopping
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def run(self) -> None:
        try:
            self._handshake()
            self._relay()
        except (OSError, ssl.SSLError):
            pass                   # a client that hangs up mid-way is not the proxy's problem

    def _flush(self) -> None:
        pending = self.outgoing.read()
        if pending:
            self.client.sendall(pending)

    def _receive(self) -> bool:
        """Feed what the client sent into TLS; False when it closed the connection."""
        data = self.client.recv(RELAY_CHUNK)
        if not data:
            self.incoming.write_eof()
            return False
        self.incoming.write(data)
        return True

    def _handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                if not self._receive():
                    raise ConnectionAbortedError("client left during the handshake")

    def _relay(self) -> None:
        self.client.settimeout(None)
        # The client's first request may have come in the same packet as its last handshake message.
        if not self._decrypted_to_fake():
            return
        while not self.stopping.is_set():
            ready, _, _ = select.select([self.client, self.backend], [], [], IDLE_WAIT_S)
            if self.client in ready and not (self._receive() and self._decrypted_to_fake()):
                self._decrypted_to_fake()      # whatever the client sent before it closed
                return
            if self.backend in ready and not self._fake_to_client():
                return

    def _decrypted_to_fake(self) -> bool:
        """Pass on everything TLS can decrypt from what arrived so far; False once the client closed TLS."""
        while True:
            try:
                plain = self.tls.read(RELAY_CHUNK)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return False
            if not plain:
                return False
            self.backend.sendall(plain)
        self._flush()              # TLS may answer on its own (key updates, alerts)
        return True

    def _fake_to_client(self) -> bool:
        try:
            data = self.backend.recv(RELAY_CHUNK)
        except ConnectionResetError:
            _reset(self.client)    # the fake reset the connection: so does "Google"
            return False
        if not data:
            return False
        self.tls.write(data)
        self._flush()
        return True


def _reset(sock: socket.socket) -> None:
    """Close with RST, as the fake's ``reset`` faults do."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
