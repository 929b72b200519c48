"""The transport's bounded fetch cannot be held by a slow server (the import boundary: test_architecture)."""
from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from mediagen.core import errors
from mediagen.ops import inputs
from mediagen.transport.http import ResponseTooLarge, Transport

PACKAGE = Path(__file__).resolve().parents[1] / "scripts" / "mediagen"
NETWORK_MODULES = ("requests", "urllib3", "http.client", "socket", "urllib.request", "google.auth.transport")
ALLOWED_FOLDER = "transport"


# -- a deliberately bad server ---------------------------------------------------------

class _BadServer(http.server.BaseHTTPRequestHandler):
    """``/drip`` sends a byte every 0.1 s, ``/stall`` sends headers then nothing, ``/late`` is slow to answer,
    ``/big`` declares more than the test cap, ``/unsized`` streams past it without a length."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
        try:
            getattr(self, "_" + self.path.strip("/"), self._ok)()
        except OSError:
            pass        # the client cut the connection: that is what the tests want

    def _ok(self) -> None:
        self._head(200, {"Content-Type": "image/png", "Content-Length": "5"})
        self.wfile.write(b"hello")

    def _missing(self) -> None:
        self._head(404, {"Content-Length": "0"})

    def _drip(self) -> None:
        self._head(200, {"Content-Length": "1000"})
        for _ in range(100):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.1)

    def _stall(self) -> None:
        self._head(200, {"Content-Length": "1000"})
        time.sleep(5)

    def _late(self) -> None:
        time.sleep(5)
        self._ok()

    def _big(self) -> None:
        self._head(200, {"Content-Length": str(4 << 20)})
        self.wfile.write(b"x" * (64 << 10))

    def _unsized(self) -> None:
        self._head(200, {})
        for _ in range(64):
            self.wfile.write(b"x" * (64 << 10))

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def bad_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BadServer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# -- the bounded fetch ------------------------------------------------------------------

def test_fetch_reads_a_small_body(bad_server: str) -> None:
    result = Transport().fetch(bad_server + "/ok", max_bytes=100, timeout=5)
    assert (result.content, result.content_type, result.status) == (b"hello", "image/png", 200)


@pytest.mark.parametrize("path", ["/drip", "/stall", "/late"])
def test_fetch_gives_up_at_the_deadline(bad_server: str, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(errors.RequestTimeout) as caught:
        Transport().fetch(bad_server + path, max_bytes=10_000, timeout=1.0, read_timeout=30)
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.8, elapsed
    assert "did not finish within 1s" in caught.value.message


@pytest.mark.parametrize("path", ["/big", "/unsized"])
def test_fetch_refuses_a_body_over_the_cap(bad_server: str, path: str) -> None:
    with pytest.raises(ResponseTooLarge) as caught:
        Transport().fetch(bad_server + path, max_bytes=1 << 20, timeout=5)
    assert "larger than 1048576 bytes" in caught.value.message


def test_fetch_reports_http_errors_with_their_status(bad_server: str) -> None:
    with pytest.raises(errors.NotFoundError) as caught:
        Transport().fetch(bad_server + "/missing", max_bytes=100, timeout=5)
    assert caught.value.status == 404


def test_input_urls_keep_their_usage_messages(bad_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "URL_MAX_BYTES", 1 << 20)
    monkeypatch.setattr(inputs, "URL_DEADLINE_S", 1.0)
    cases = {"/missing": "HTTP 404", "/big": "is larger than 1 MB", "/unsized": "is larger than 1 MB",
             "/drip": "did not finish within 1s"}
    for path, expected in cases.items():
        with pytest.raises(errors.UsageError) as caught:
            inputs.read_source(bad_server + path)           # no transport: inputs makes a plain one
        assert expected in caught.value.message, (path, caught.value.message)
        assert "local path" in caught.value.hint or "shrink" in caught.value.hint
    with pytest.raises(errors.UsageError) as caught:
        inputs.read_source("http://127.0.0.1:9/x.png", transport=Transport())
    assert caught.value.message.startswith("could not download http://127.0.0.1:9/x.png: ")
    assert inputs.read_source(bad_server + "/ok", transport=Transport()) == (b"hello", bad_server + "/ok")
