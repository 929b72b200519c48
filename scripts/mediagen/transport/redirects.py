"""Redirects followed by the transport itself, so credentials reach only the origin they were meant for.

``requests`` drops ``Authorization`` when a redirect changes host, but keeps
custom headers such as ``x-goog-api-key``, so a Gemini file download
redirected to another host would carry the API key there. Here every
credential header is dropped, for good, at the first hop to another origin
(scheme, host or port), unless the target host is on the allow-list (the
``credential_redirect_hosts`` setting, empty by default: Google's signed
download URLs need no key).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlparse

import requests

from mediagen.core import errors
from mediagen.core.redaction import redact_text

MAX_REDIRECTS = 10
# Headers that identify or authorize the caller: never sent to another origin unless it is allowed.
CREDENTIAL_HEADERS = frozenset({"authorization", "x-goog-api-key", "proxy-authorization", "cookie",
                                "x-goog-user-project"})


def follow_redirects(session: requests.Session, response: requests.Response, request: Any,
                     headers: dict[str, str], *, stream: bool, timeout: Any,
                     allowed: frozenset[str]) -> requests.Response:
    """The final answer after following ``response``'s redirects (at most ``MAX_REDIRECTS``).

    ``request`` is the ``HttpRequest`` being sent (its method, URL, label and body).
    """
    start, method = origin(request.url), request.method
    for _ in range(MAX_REDIRECTS):
        if not response.is_redirect:
            return response
        target = urljoin(response.url, response.headers["Location"])
        response.close()
        method, keep_body = redirected_method(method, response.status_code)
        if origin(target) != start and not may_carry_credentials(target, allowed):
            headers = {k: v for k, v in headers.items() if k.lower() not in CREDENTIAL_HEADERS}
        response = session.request(method, target, headers=headers, json=request.json if keep_body else None,
                                   data=_rewound(request.data) if keep_body else None, stream=stream,
                                   timeout=timeout, allow_redirects=False)
    response.close()
    raise errors.NetworkError(f"{request.label or request.method}: more than {MAX_REDIRECTS} redirects",
                              "Check the base URL settings (see --show-defaults).", method=request.method,
                              url=redact_text(request.url))


def _rewound(data: Any) -> Any:
    """A body to send again: a file (a spooled body) goes back to its first byte."""
    if hasattr(data, "seek"):
        data.seek(0)
    return data


def may_carry_credentials(url: str, allowed: frozenset[str]) -> bool:
    """Whether a redirect target is on the allow-list (``host`` or ``host:port``)."""
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    return bool(host) and (host in allowed or f"{host}:{parsed.port}" in allowed)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parsed = urlparse(url)
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme)
    return parsed.scheme.lower(), (parsed.hostname or "").lower(), port


def redirected_method(method: str, status: int) -> tuple[str, bool]:
    """The method of the next hop and whether the body goes with it (as browsers and ``requests`` do)."""
    if status in (307, 308):
        return method, True
    if status == 303 and method != "HEAD":
        return "GET", False
    if status in (301, 302) and method == "POST":
        return "GET", False
    return method, method not in ("GET", "HEAD")
