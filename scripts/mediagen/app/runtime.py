"""Objects one run needs, built from settings: the transport and the catalog."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from mediagen.config.settings import Settings, host_list, process_date, process_env
from mediagen.core.console import Console
from mediagen.core.paths import user_cache_dir
from mediagen.transport.http import HttpRequest, RetryPolicy, Transport



def make_transport(settings: Settings, console: Console) -> Transport:
    """A transport whose retries are announced on stderr."""

    def announce(request: HttpRequest, attempt: int, delay: float, reason: str) -> None:
        console.info(f"{request.label or request.method}: {reason}; retrying in {delay:.1f}s "
                     f"(attempt {attempt + 1})")

    retries = int(settings.get("retries") or 4)
    deadline = settings.get("url_deadline_s")
    return Transport(retry=RetryPolicy(max_attempts=retries), on_retry=announce,
                     credential_hosts=host_list(settings.get("credential_redirect_hosts")),
                     fetch_deadline_s=float(deadline) if deadline else None)


def load_catalog(env: Mapping[str, str]) -> Any:
    """The model catalog, with the user's override file (``$MEDIAGEN_CATALOG_OVERRIDE``) merged in, as of
    ``$MEDIAGEN_TODAY`` (default: today)."""
    from mediagen.catalog import Catalog

    override = process_env(env, "catalog_override")
    return Catalog.load(override_path=Path(override) if override else None, cache_dir=user_cache_dir(env),
                        today=process_date(env, "today"))
