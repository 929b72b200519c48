"""Free checks of a setup: which credential, which backend and why, and what it can see.

Nothing here generates media. The Gemini API key is checked with
``models?pageSize=1`` and a model listing (every page); Vertex by minting a
token (or using the express key) and describing each catalog model; the proxy
by its health route and ``/v1/models``. With ``drift``, what was seen is
compared with the catalog (``ops.drift``).
"""
from __future__ import annotations

import platform
import sys
from typing import Any

from mediagen.config.credentials import BackendChoice, choose_backend, classify_key
from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.ops import frames
from mediagen.ops.drift import Sight, drift_report, summary
from mediagen.transport.http import HttpRequest, RetryPolicy, Transport
from mediagen.wire import endpoints

MAX_MODEL_PAGES = 100          # a guard against a listing that never ends, far above Google's model count
MIN_PYTHON = (3, 10)
FFMPEG_USERS = "storyboards, video_gen.py --remix and the video skill's frame check"


def local_checks(console: Console) -> list[dict[str, Any]]:
    """This machine's prerequisites: the Python version, and ffmpeg/ffprobe with their versions (free, offline).

    A missing ffmpeg is a warning, not a failure: only the modes in ``FFMPEG_USERS`` need it, and they refuse
    before spending.
    """
    version = platform.python_version()
    python_ok = sys.version_info[:2] >= MIN_PYTHON
    checks = [{"name": "python", "ok": python_ok, "version": version, "path": sys.executable,
               "detail": f"Python {version}" + ("" if python_ok else f": mediagen needs {MIN_PYTHON[0]}."
                                                                 f"{MIN_PYTHON[1]} or newer")}]
    for tool, found in frames.tool_versions().items():
        detail = (f"{tool} {found['version'] or '(version unknown)'} at {found['path']}" if found["found"] else
                  f"not installed: {FFMPEG_USERS} need it. {frames.INSTALL_HINT}")
        checks.append({"name": tool, "ok": found["found"], "version": found["version"], "path": found["path"],
                       "detail": detail})
        if not found["found"]:
            console.warn(f"{tool} is not installed: {FFMPEG_USERS} need it. {frames.INSTALL_HINT}")
    return checks


def check_setup(settings: Settings, transport: Transport, load_catalog: Any, console: Console, *,
                drift: bool = False) -> dict[str, Any]:
    """Run every check for the chosen backend (and the proxy when configured); raise on a refused credential.

    ``load_catalog`` is called only once a credential was found, so a machine
    with no credentials gets the setup hint first. ``drift`` adds the ``drift``
    document (see ``ops.drift``); a 403 for one model then means "cannot tell".
    """
    choice = choose_backend(settings, kind="image")
    console.info(f"backend {choice.backend}: {choice.reason}")
    catalog = load_catalog()
    result: dict[str, Any] = {"backend": choice.describe(), "checks": []}
    key = settings.get("api_key")
    if key:
        result["key_type"] = classify_key(key)
    checker = {"gemini-api": _check_gemini, "vertex": _check_vertex, "cliproxy": _check_proxy}[choice.backend]
    try:
        sight = checker(choice, settings, transport, catalog, result, drift)
    except errors.AuthError as exc:
        raise _refused(choice, exc) from exc
    if choice.backend != "cliproxy" and settings.source("cliproxy_url") not in (None, "default"):
        _check_proxy_optional(choice, settings, transport, catalog, result, console)
    for model in result.get("models", []):
        for warning in model.get("warnings", []):
            console.warn(warning)
    if drift:
        result["drift"] = drift_report(catalog, choice.backend, sight)
        console.info(f"drift on {choice.backend}: {summary(result['drift'])}")
    return result


def _check_gemini(choice: BackendChoice, settings: Settings, transport: Transport, catalog: Any,
                  result: dict[str, Any], drift: bool = False) -> Sight:
    base, version = settings["gemini_base_url"], settings["gemini_api_version"]
    url = endpoints.gemini_url(base, version, "models")
    transport.send_json(HttpRequest("GET", url, params={"pageSize": "1"}, label="models.list"),
                        choice.credential.auth)
    result["checks"].append({"name": "api-key", "ok": True,
                             "detail": f"the Gemini API accepted the key ({version} models.list)"})
    sight = Sight(listing=_list_gemini_models(url, transport, choice))
    result["checks"].append({"name": "models", "ok": True, "detail": f"{len(sight.listing)} models visible"})
    result["models"] = _catalog_view(catalog, "gemini-api", sight.recording(lambda wire: wire in sight.listing))
    return sight


def _list_gemini_models(url: str, transport: Transport, choice: BackendChoice) -> dict[str, list[str]]:
    """Every model the key can see (all pages), with its ``supportedGenerationMethods``."""
    visible: dict[str, list[str]] = {}
    token = None
    for _ in range(MAX_MODEL_PAGES):
        params = {"pageSize": "1000", **({"pageToken": token} if token else {})}
        page = transport.send_json(HttpRequest("GET", url, params=params, label="models.list"),
                                   choice.credential.auth)
        for model in page.get("models", []):
            methods = model.get("supportedGenerationMethods")
            visible[str(model.get("name", "")).removeprefix("models/")] = \
                [str(m) for m in methods] if isinstance(methods, list) else []
        token = page.get("nextPageToken")
        if not token:
            break
    return visible


def _check_vertex(choice: BackendChoice, settings: Settings, transport: Transport, catalog: Any,
                  result: dict[str, Any], drift: bool = False) -> Sight:
    auth = choice.credential.auth
    auth.headers()     # mints (or refreshes) an OAuth token: the cheap credential check
    detail = ("express key (no project: express-mode URLs)" if choice.express
              else f"token ready for project {choice.project_id}")
    result["checks"].append({"name": "credential", "ok": True, "detail": detail})
    override = settings.get("vertex_base_url")

    def visible(wire_id: str, location: str | None) -> bool | None:
        url = endpoints.vertex_publisher_model_url(wire_id, location=location or "global", express=choice.express,
                                                   override=override)
        try:
            transport.send_json(HttpRequest("GET", url, label="publisherModels.get"), auth)
        except errors.NotFoundError:
            return False
        except errors.AuthError as exc:
            if drift and exc.status == 403:
                return None        # this model is hidden from this principal: the drift check cannot tell
            raise
        return True

    sight = Sight()
    result["models"] = _catalog_view(catalog, "vertex", sight.recording(visible), pass_location=True)
    return sight


def _check_proxy(choice: BackendChoice, settings: Settings, transport: Transport, catalog: Any,
                 result: dict[str, Any], drift: bool = False) -> Sight:
    auth = choice.credential.auth
    base = auth.url
    try:
        transport.send_json(HttpRequest("GET", endpoints.cliproxy_url(base, "/"), label="proxy health"))
    except errors.NetworkError as exc:
        raise errors.NetworkError(f"CLIProxyAPI is not reachable at {base}",
                                  "Start the proxy (e.g. `ccs` or `cli-proxy-api -config config.yaml`), or set "
                                  "CLIPROXY_URL to where it listens.") from exc
    result["checks"].append({"name": "proxy", "ok": True, "detail": f"CLIProxyAPI answers at {base}"})
    listing = transport.send_json(HttpRequest("GET", endpoints.cliproxy_url(base, "/v1/models"),
                                              label="proxy models"), auth)
    listed = {str(m.get("id")) for m in listing.get("data", []) if isinstance(m, dict)}
    result["checks"].append({"name": "proxy-key", "ok": True, "detail": f"{len(listed)} models listed"})
    sight = Sight(listing={wire: [] for wire in listed})
    result["models"] = _catalog_view(catalog, "cliproxy", sight.recording(lambda wire: wire in listed))
    result["proxy"] = {"url": base, "models": sorted(listed)}
    return sight


def _check_proxy_optional(choice: BackendChoice, settings: Settings, transport: Transport, catalog: Any,
                          result: dict[str, Any], console: Console) -> None:
    """The proxy is configured but not chosen: report its health without failing the run."""
    from mediagen.config.credentials import discover

    proxy = discover(settings).proxy
    if proxy is None:
        return
    probe = BackendChoice("cliproxy", "configured", proxy)
    extra: dict[str, Any] = {"checks": []}
    single = Transport(retry=RetryPolicy(max_attempts=1))     # a side check: one attempt is enough
    try:
        _check_proxy(probe, settings, single, catalog, extra)
        result["proxy"] = {**extra.get("proxy", {}), "ok": True}
    except errors.MediagenError as exc:
        result["proxy"] = {"url": proxy.auth.url, "ok": False, "error": exc.message, "hint": exc.hint}
        console.warn(f"CLIProxyAPI check failed: {exc.message}")


def _catalog_view(catalog: Any, backend: str, is_visible: Any, pass_location: bool = False) -> list[dict[str, Any]]:
    """Every catalog model offered on ``backend`` with its live visibility and lifecycle warnings.

    Entries the file marks retired are left out; one its firm shutdown date retired (on the catalog's
    date) is listed as retired, so the check says so instead of "deprecated".
    """
    rows = []
    for model in catalog.models():
        entry = model.backends.get(backend)
        if entry is None or (entry.status == "retired" and not entry.retired_by_date):
            continue
        location = entry.locations[0] if entry.locations else None
        seen = is_visible(entry.id, location) if pass_location else is_visible(entry.id)
        row: dict[str, Any] = {"id": model.id, "wire_id": entry.id, "kind": model.kind,
                               "status": entry.status, "visible": seen if seen is None else bool(seen), "warnings": []}
        for key in ("shutdown", "shutdown_not_before", "replacement"):
            if getattr(entry, key):
                row[key] = getattr(entry, key)
        note = catalog.unavailable(model, backend)[0] if entry.retired_by_date else \
            catalog.lifecycle_warning(model, entry)
        if note:
            row["warnings"].append(note)
        rows.append(row)
    return rows


def _refused(choice: BackendChoice, exc: errors.ApiError) -> errors.CredentialsError:
    credential = choice.credential
    hint = {
        "gemini-api-key": "Check the key at https://aistudio.google.com/apikey (AQ. keys belong to Vertex).",
        "express-key": "Check the key in the Vertex console (APIs & Services > Credentials) and that the "
                       "Vertex AI API is enabled.",
        "proxy-key": "Set CLIPROXY_API_KEY to one of the proxy's api-keys (CCS uses ccs-internal-managed).",
    }.get(credential.kind, "Grant the principal roles/aiplatform.user on the project and enable the Vertex AI API.")
    if choice.alternatives:
        hint += " Other credentials found: " + "; ".join(choice.alternatives) + " (pick one with --backend)."
    return errors.CredentialsError(f"the {credential.kind} from {credential.source} was refused: {exc.message}",
                                   hint, status=exc.status, details=exc.to_dict().get("details"))
