"""Edge faults for money-safety tests: a body cut short of its Content-Length, a redirect to another host,
a download that drips, and a reply whose Content-Type lies.

They live apart from the classic faults (``FakeGoogle.add_fault``) and act on
the answer a route produced (or instead of it, for redirects):

* ``fake.add_cut(service, path_contains, method, after_bytes=N)``: the next
  matching answer sends N bytes of its body, then closes the connection
  (its Content-Length promised more).
* ``fake.add_redirect(service, path_contains, method, location=..., status=302)``:
  the next matching request is answered with a redirect; ``location`` is a URL
  or a callable ``(request) -> URL``.
* ``fake.set_drip(seconds, chunk_bytes=4096, path_contains="/_blob/")``: matching
  downloads send ``chunk_bytes`` at a time with a pause between chunks (until
  ``set_drip(None)`` or ``reset()``).
* ``fake.add_content_type(service, path_contains, method, content_type=...)``:
  the next matching answer carries this Content-Type instead of its own.
* ``fake.add_short_length(service, path_contains, method, length=N)``: the next
  matching answer claims a Content-Length of N, sends N bytes and closes: a
  complete-looking answer that is missing its end.
* ``fake.edges_pending()``: how many armed edge faults have not fired yet.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from .common import Request, Response


@dataclass
class _Edge:
    service: str | None
    path_contains: str | None
    method: str | None
    times: int | None
    value: Any

    def matches(self, service: str, method: str, path: str) -> bool:
        return ((self.service is None or self.service == service)
                and (self.method is None or self.method.upper() == method)
                and (self.path_contains is None or self.path_contains in path))


@dataclass
class _Drip:
    seconds: float
    chunk_bytes: int
    path_contains: str


class Edges:
    """The armed edge faults of one fake (cleared by ``FakeGoogle.reset``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, list[_Edge]] = {"cut": [], "redirect": [], "content_type": [], "length": []}
        self.drip: _Drip | None = None

    def clear(self) -> None:
        with self._lock:
            for edges in self._armed.values():
                edges.clear()
            self.drip = None

    def arm(self, kind: str, edge: _Edge) -> None:
        with self._lock:
            self._armed[kind].append(edge)

    def pending(self) -> int:
        with self._lock:
            return sum(1 if edge.times is None else edge.times for edges in self._armed.values() for edge in edges)

    def take(self, kind: str, service: str, method: str, path: str) -> _Edge | None:
        with self._lock:
            for edge in self._armed[kind]:
                if edge.matches(service, method, path):
                    if edge.times is not None:
                        edge.times -= 1
                        if edge.times <= 0:
                            self._armed[kind].remove(edge)
                    return edge
        return None

    def redirect(self, service: str, method: str, req: Request) -> Response | None:
        """A redirect answer for this request, if one is armed."""
        edge = self.take("redirect", service, method, req.path)
        if edge is None:
            return None
        status, location = edge.value
        target = location(req) if callable(location) else location
        return Response(status, b"", [("Location", target), ("Content-Type", "text/html; charset=UTF-8")])

    def finish(self, service: str, method: str, req: Request, resp: Response) -> Response:
        """The answer as sent: cut short, dripping, or with another Content-Type, as armed."""
        typed = self.take("content_type", service, method, req.path)
        if typed is not None:
            resp.headers = [(k, v) for k, v in resp.headers if k.lower() != "content-type"]
            resp.headers.append(("Content-Type", typed.value))
        cut = self.take("cut", service, method, req.path)
        if cut is not None:
            resp.close_after = int(cut.value)
        short = self.take("length", service, method, req.path)
        if short is not None:
            # The header matches what is sent, so the client sees a complete answer; closing keeps the rest of
            # the body off the connection.
            resp.length = resp.close_after = int(short.value)
        drip = self.drip
        if drip is not None and drip.path_contains in req.path and resp.status in (200, 206):
            if resp.length is None and isinstance(resp.body, (bytes, bytearray)):
                resp.length = len(resp.body)            # a streamed body announces its length itself
            resp.body = _dripping(resp.body, drip.seconds, drip.chunk_bytes)
        return resp


def _dripping(body: bytes | Iterable[bytes], seconds: float, chunk_bytes: int) -> Iterator[bytes]:
    """The body in small pieces with a pause before each (a slow or stalling download)."""
    chunks = [body] if isinstance(body, (bytes, bytearray)) else body
    for chunk in chunks:
        for start in range(0, len(chunk), chunk_bytes):
            time.sleep(seconds)
            yield bytes(chunk[start:start + chunk_bytes])


class EdgeControls:
    """The public knobs (mixed into ``FakeGoogle``)."""

    edges: Edges

    def add_cut(self, service: str | None = None, path_contains: str | None = None, method: str | None = None, *,
                after_bytes: int, times: int | None = 1) -> None:
        """The next ``times`` matching answers stop after ``after_bytes`` body bytes (Content-Length lies)."""
        self.edges.arm("cut", _Edge(service, path_contains, method, times, after_bytes))

    def add_redirect(self, service: str | None = None, path_contains: str | None = None, method: str | None = None,
                     *, location: str | Callable[[Request], str], status: int = 302, times: int | None = 1) -> None:
        """The next ``times`` matching requests are answered with a redirect to ``location``."""
        self.edges.arm("redirect", _Edge(service, path_contains, method, times, (status, location)))

    def add_content_type(self, service: str | None = None, path_contains: str | None = None,
                         method: str | None = None, *, content_type: str, times: int | None = 1) -> None:
        """The next ``times`` matching answers claim ``content_type``."""
        self.edges.arm("content_type", _Edge(service, path_contains, method, times, content_type))

    def add_short_length(self, service: str | None = None, path_contains: str | None = None,
                         method: str | None = None, *, length: int, times: int | None = 1) -> None:
        """The next ``times`` matching answers claim (and send) only ``length`` body bytes: the rest is missing."""
        self.edges.arm("length", _Edge(service, path_contains, method, times, length))

    def edges_pending(self) -> int:
        """How many armed edge faults (cuts, redirects, Content-Types, short lengths) have not fired yet."""
        return self.edges.pending()

    def set_drip(self, seconds: float | None, *, chunk_bytes: int = 4096, path_contains: str = "/_blob/") -> None:
        """Matching downloads send ``chunk_bytes`` per ``seconds`` (None: full speed again)."""
        self.edges.drip = None if seconds is None else _Drip(float(seconds), int(chunk_bytes), path_contains)
