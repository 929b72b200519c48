"""Keep secrets out of everything a user or log can see.

Two layers: credentials register their secret values here when loaded, and
well-known secret shapes (API keys, OAuth tokens, ``key=`` query values) are
masked by pattern even if they were never registered.
"""
from __future__ import annotations

import json
import re
import threading
from typing import Any

MASK = "***"

_PATTERNS = (
    re.compile(r"AIza[0-9A-Za-z_\-]{10,}"),            # Gemini API keys
    re.compile(r"\bAQ\.[0-9A-Za-z_\-.]{6,}"),            # Vertex express keys
    re.compile(r"ya29\.[0-9A-Za-z_\-.]{6,}"),            # Google OAuth access tokens
    re.compile(r"1//[0-9A-Za-z_\-]{10,}"),               # Google refresh tokens
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)(?<=[?&]key=)[^&#\s\"']+"),         # key= in URLs
    re.compile(r"(?i)(?<=bearer )[0-9A-Za-z_\-.~+/=]{8,}"),
)

_lock = threading.Lock()
_secrets: set[str] = set()

SECRET_HEADERS = frozenset({"authorization", "x-goog-api-key", "x-api-key", "proxy-authorization"})


def register_secret(value: str | None) -> None:
    """Remember a secret so every later redaction masks it, in its escaped forms too (short values are ignored)."""
    if value and isinstance(value, str) and len(value) >= 6:
        with _lock:
            _secrets.update(_escaped_forms(value))


def _escaped_forms(value: str) -> set[str]:
    """The secret as text may show it: as is, as JSON or ``repr`` escape it, and those escaped once more.

    A key holding a newline appears as ``\\n`` inside a JSON document or an exception's repr.
    """
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], repr(value)[1:-1],
             value.encode("unicode_escape").decode("ascii")}
    forms |= {json.dumps(form)[1:-1] for form in list(forms)}
    return {form for form in forms if len(form) >= 6}


def redact_text(text: str) -> str:
    """Mask registered secrets and secret-shaped substrings in ``text``."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    return text


def redact(value: Any) -> Any:
    """Redact strings anywhere inside JSON-like data (dicts, lists, strings)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: (MASK if _is_secret_key(k) and isinstance(v, str) and v else redact(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers with the values of authentication headers masked."""
    return {k: (MASK if k.lower() in SECRET_HEADERS else redact_text(v)) for k, v in headers.items()}


def _is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and key.lower() in SECRET_HEADERS | {"api_key", "access_token",
                                                                      "refresh_token", "client_secret",
                                                                      "private_key"}
