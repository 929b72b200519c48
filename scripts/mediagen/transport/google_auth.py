"""google-auth's token calls, sent on a session of ours with our timeouts.

google-auth refreshes a credential by calling a ``google.auth.transport.Request``.
Its stock one makes its own ``requests.Session`` and waits up to two minutes;
this one uses ``new_session()`` and the transport's connect/poll timeouts, so
token mints follow the same rules as every other call mediagen makes.
"""
from __future__ import annotations

from typing import Any

import google.auth.transport
import google.auth.transport.requests
import requests

from mediagen.transport.http import CONNECT_TIMEOUT_S, POLL_READ_TIMEOUT_S, new_session

TOKEN_TIMEOUT = (CONNECT_TIMEOUT_S, POLL_READ_TIMEOUT_S)


class _TokenRequest(google.auth.transport.requests.Request):
    """google-auth's requests adapter with our default timeout (an explicit one from google-auth still wins)."""

    def __init__(self, session: requests.Session, timeout: Any) -> None:
        super().__init__(session)
        self.default_timeout = timeout

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None,
                 timeout: Any = None, **kwargs: Any) -> google.auth.transport.Response:
        return super().__call__(url, method=method, body=body, headers=headers,
                                timeout=timeout if timeout is not None else self.default_timeout, **kwargs)


def token_request(session: requests.Session | None = None, *,
                  timeout: Any = TOKEN_TIMEOUT) -> google.auth.transport.Request:
    """A callable to pass to ``credentials.refresh()``, sending on ``session`` (default: a new one of ours).

    ``timeout`` is a ``requests`` timeout: seconds, or (connect, read).
    """
    return _TokenRequest(session if session is not None else new_session(), timeout)
