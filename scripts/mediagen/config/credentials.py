"""Find credentials and choose the backend, saying which and why.

Backends: ``gemini-api`` (API key), ``vertex`` (OAuth or an express key) and
``cliproxy`` (a local CLIProxyAPI, images only). ``auto`` picks, in order:

1. an explicit backend (``--backend``, the config project's ``backend``, ``MEDIAGEN_BACKEND``);
2. ``GOOGLE_GENAI_USE_VERTEXAI=true`` -> vertex;
3. an API key: ``AQ.`` keys -> vertex (express), ``AIza`` and others -> gemini-api;
4. a Vertex OAuth credential with a project: ``GOOGLE_OAUTH_ACCESS_TOKEN``,
   ``GOOGLE_APPLICATION_CREDENTIALS`` / ``credentials_file`` (service account or
   authorized_user), gcloud's ADC file, then CLIProxyAPI/CCS token files;
5. a configured CLIProxyAPI (``CLIPROXY_URL``/``CLIPROXY_API_KEY``/config, or CCS's config file).

When the chosen path cannot work, mediagen stops and lists the other ways it
found; it never falls back silently to a different backend (which could bill
a different account).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from mediagen.config.settings import Settings
from mediagen.core import errors
from mediagen.core.paths import gcloud_config_dir, home_dir
from mediagen.core.redaction import register_secret
from mediagen.core.resources import script_command
from mediagen.core.yamlfile import read_yaml

BACKENDS = ("gemini-api", "vertex", "cliproxy")
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"


def set_variable(name: str, value: str) -> str:
    """How to set an environment variable, in POSIX shells and in PowerShell."""
    return f'export {name}={value} (PowerShell: $env:{name}="{value}")'


def setup_hint(vertex_first: bool = False) -> str:
    """Every way to provide a credential, Vertex ones first when Vertex was asked for."""
    project = set_variable("GOOGLE_CLOUD_PROJECT", "your-project")
    gemini = [f"Gemini API key: {set_variable('GEMINI_API_KEY', 'AIza...')} (https://aistudio.google.com/apikey)"]
    vertex = [f"Vertex express key: {set_variable('GOOGLE_API_KEY', 'AQ....')} (optionally GOOGLE_CLOUD_PROJECT)",
              f"service account: {set_variable('GOOGLE_APPLICATION_CREDENTIALS', '/path/key.json')} and {project}",
              f"gcloud ADC: gcloud auth application-default login, then {project}",
              "an OAuth token: export GOOGLE_OAUTH_ACCESS_TOKEN=$(gcloud auth print-access-token) (PowerShell: "
              "$env:GOOGLE_OAUTH_ACCESS_TOKEN=(gcloud auth print-access-token)) and GOOGLE_CLOUD_PROJECT"]
    proxy = [f"CLIProxyAPI (images only): {set_variable('CLIPROXY_URL', 'http://127.0.0.1:8317')} "
             "[CLIPROXY_API_KEY]"]
    ways = vertex + gemini + proxy if vertex_first else gemini + vertex + proxy
    numbered = "; ".join(f"({n}) {way}" for n, way in enumerate(ways, start=1))
    return (f"Set up one credential: {numbered}. Or write them into mediagen.yaml (README: Configuration). "
            f"Then run {script_command('check_api.py')}.")


SETUP_HINT = setup_hint()


# -- auth objects (the transport calls headers()/refresh()) --------------------

class ApiKeyAuth:
    """An API key sent in the ``x-goog-api-key`` header (never in the URL, so it stays out of logs)."""

    def __init__(self, key: str) -> None:
        self.key = key
        register_secret(key)

    def headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.key}

    def refresh(self) -> bool:
        return False


class BearerAuth:
    """A bearer token that cannot be refreshed (a raw OAuth token, or the proxy's key)."""

    def __init__(self, token: str, quota_project: str | None = None,
                 expires: dt.datetime | None = None) -> None:
        self.token = token
        self.quota_project = quota_project
        self.expires = expires
        register_secret(token)

    def headers(self) -> dict[str, str]:
        if self.expires and self.expires <= dt.datetime.now(dt.timezone.utc):
            raise errors.CredentialsError("the OAuth access token has expired",
                                          "Get a fresh one (gcloud auth print-access-token), or use a "
                                          "service account / ADC file that mediagen can refresh.")
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.quota_project:
            headers["x-goog-user-project"] = self.quota_project
        return headers

    def refresh(self) -> bool:
        return False


class GoogleAuth:
    """google-auth credentials (service account, authorized user, refreshable token file)."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials
        self._token_request: Any = None

    def headers(self) -> dict[str, str]:
        if not self.credentials.valid:
            self.refresh()
        headers: dict[str, str] = {}
        self.credentials.apply(headers)       # adds x-goog-user-project for user credentials
        register_secret(self.credentials.token)
        return headers

    def refresh(self) -> bool:
        import google.auth.exceptions

        from mediagen.transport import google_auth    # lazy: google-auth is heavy to import

        if self._token_request is None:      # one session per credential: refreshes reuse its connection
            self._token_request = google_auth.token_request()
        try:
            self.credentials.refresh(self._token_request)
        except google.auth.exceptions.RefreshError as exc:
            raise errors.CredentialsError(f"could not get an OAuth token: {_first_line(exc)}",
                                          "The credential file may be revoked or for another project; "
                                          "recreate it, or run gcloud auth application-default login.") from exc
        except google.auth.exceptions.TransportError as exc:
            raise errors.NetworkError(f"could not reach the OAuth token endpoint: {_first_line(exc)}",
                                      "Check the network; the token endpoint is in the credential file.") from exc
        register_secret(self.credentials.token)
        return True


# -- credentials and the choice ---------------------------------------------

@dataclass
class Credential:
    """A credential mediagen can use, with where it was found."""

    # gemini-api-key | express-key | service-account | authorized-user | access-token | token-file | proxy-key
    kind: str
    source: str
    auth: Any
    project_id: str | None = None

    def describe(self) -> dict[str, Any]:
        doc = {"kind": self.kind, "source": self.source}
        if self.project_id:
            doc["project_id"] = self.project_id
        return doc


@dataclass
class BackendChoice:
    """The backend for this run, the credential, and the reason (shown in every output)."""

    backend: str
    reason: str
    credential: Credential
    project_id: str | None = None
    alternatives: list[str] = field(default_factory=list)

    @property
    def express(self) -> bool:
        """Vertex with an API key and no project: the express-mode URL form."""
        return self.backend == "vertex" and self.credential.kind == "express-key" and not self.project_id

    def describe(self) -> dict[str, Any]:
        doc = {"name": self.backend, "reason": self.reason, "credential": self.credential.describe()}
        if self.project_id:
            doc["project_id"] = self.project_id
        if self.alternatives:
            doc["alternatives"] = self.alternatives
        return doc


def classify_key(key: str) -> str:
    """``express-key`` for Vertex ``AQ.`` keys, ``access-token`` for ``ya29.``, else ``gemini-api-key``."""
    if key.startswith("AQ."):
        return "express-key"
    if key.startswith("ya29."):
        return "access-token"
    return "gemini-api-key"


def choose_backend(settings: Settings, kind: str = "image", *, require_credential: bool = True) -> BackendChoice:
    """Pick the backend and credential per the module docstring, or raise ``CredentialsError``.

    With ``require_credential=False`` (cost estimates, which send nothing) a
    missing credential yields a choice without one: the requested backend, or
    the Gemini API when none was requested.
    """
    if not require_credential:
        try:
            return choose_backend(settings, kind)
        except errors.CredentialsError as exc:
            wanted = settings.get("backend", "auto")
            backend = wanted if wanted in BACKENDS else "gemini-api"
            return BackendChoice(backend, f"no usable credential ({exc.message}); estimating for {backend}",
                                 Credential("none", "none", None))
    found = discover(settings)
    explicit = settings.get("backend", "auto")
    if explicit not in ("auto", *BACKENDS):
        raise errors.UsageError(f"unknown backend '{explicit}' (from {settings.source('backend')})",
                                f"Use one of: auto, {', '.join(BACKENDS)}.")
    if explicit != "auto":
        choice = _explicit_choice(explicit, found, settings)
    elif settings.get("use_vertex"):
        choice = _explicit_choice("vertex", found, settings, because=f"{settings.source('use_vertex')} is true")
    else:
        choice = _auto_choice(found, settings)
    choice.alternatives = [alt for alt in found.summaries() if not alt.startswith(choice.backend + ":")]
    if kind == "video" and choice.backend == "cliproxy":
        raise errors.UsageError("CLIProxyAPI cannot generate video (it has no Veo or Omni route)",
                                "Use --backend gemini-api with a Gemini API key (Gemini Omni), or "
                                "--backend vertex (Veo).", details={"alternatives": choice.alternatives})
    return choice


@dataclass
class Discovery:
    """Every credential found, by backend."""

    api_key: Credential | None = None
    vertex: list[Credential] = field(default_factory=list)
    proxy: Credential | None = None
    proxy_configured: bool = False
    skipped: list[str] = field(default_factory=list)

    def summaries(self) -> list[str]:
        out = []
        if self.api_key:
            target = "vertex" if self.api_key.kind == "express-key" else "gemini-api"
            out.append(f"{target}: {self.api_key.kind} from {self.api_key.source}")
        out += [f"vertex: {c.kind} from {c.source}" for c in self.vertex]
        if self.proxy and self.proxy_configured:
            out.append(f"cliproxy: {self.proxy.source}")
        return out


def discover(settings: Settings) -> Discovery:
    """Look for every kind of credential without using the network."""
    found = Discovery()
    key = settings.get("api_key")
    if key:
        kind = classify_key(key)
        auth = BearerAuth(key) if kind == "access-token" else ApiKeyAuth(key)
        found.api_key = Credential(kind, settings.source("api_key") or "?", auth)
    found.vertex = _vertex_credentials(settings, found.skipped)
    found.proxy, found.proxy_configured = _proxy_credential(settings)
    return found


def _explicit_choice(backend: str, found: Discovery, settings: Settings, because: str | None = None) -> BackendChoice:
    reason = because or f"backend '{backend}' requested by {settings.source('backend')}"
    if backend == "gemini-api":
        if found.api_key and found.api_key.kind == "gemini-api-key":
            return BackendChoice(backend, reason, found.api_key)
        raise _missing(backend, f"a Gemini API key ({set_variable('GEMINI_API_KEY', 'AIza...')})", found)
    if backend == "vertex":
        credential = _vertex_pick(found, settings)
        if credential:
            return _vertex_choice(credential, reason, settings, found, because or reason)
        raise _missing(backend, "a Vertex credential (service account, ADC, OAuth token or AQ. express key) "
                                "and GOOGLE_CLOUD_PROJECT", found)
    if found.proxy:
        return BackendChoice("cliproxy", reason, found.proxy)
    raise _missing(backend, "CLIPROXY_URL", found)


def _auto_choice(found: Discovery, settings: Settings) -> BackendChoice:
    if found.api_key:
        credential = found.api_key
        if credential.kind == "gemini-api-key":
            return BackendChoice("gemini-api", f"auto: a Gemini API key is set ({credential.source})", credential)
        return _vertex_choice(credential, f"auto: {credential.kind} routes to Vertex ({credential.source})", settings,
                              found, f"{credential.source} is a Vertex credential")
    for credential in found.vertex:
        project = settings.get("project_id") or credential.project_id
        if project:
            return _vertex_choice(credential, _skipped_note(f"auto: Vertex {credential.kind} from {credential.source}",
                                                            found), settings, found)
        if _explicit(credential):
            raise _no_project(credential, found, f"{credential.source} is a Vertex credential")
        found.skipped.append(f"{credential.kind} from {credential.source} (no project: set GOOGLE_CLOUD_PROJECT)")
    if found.proxy and found.proxy_configured:
        reason = _skipped_note(f"auto: CLIProxyAPI configured ({found.proxy.source})", found)
        return BackendChoice("cliproxy", reason, found.proxy)
    details = {"skipped": found.skipped} if found.skipped else None
    raise errors.CredentialsError("no credentials found for Google's image/video APIs", SETUP_HINT,
                                  details=details)


def _explicit(credential: Credential) -> bool:
    """Set by the user for Vertex (a variable or the config file), not found in a default place."""
    return not credential.source.startswith(("adc:", "token file"))


def _skipped_note(reason: str, found: Discovery) -> str:
    """The reason, with the credentials passed over on the way (e.g. gcloud's ADC file without a project)."""
    return f"{reason}; skipped: {'; '.join(found.skipped)}" if found.skipped else reason


def _vertex_pick(found: Discovery, settings: Settings) -> Credential | None:
    if found.api_key and found.api_key.kind in ("express-key", "access-token"):
        return found.api_key
    # As in the auto order: an explicit credential is taken (and refused without a project), and an ADC or
    # token file without a project is passed over for a later one that has one.
    usable = [c for c in found.vertex if settings.get("project_id") or c.project_id or _explicit(c)]
    return (usable or found.vertex or [None])[0]


def _vertex_choice(credential: Credential, reason: str, settings: Settings, found: Discovery,
                   why: str | None = None) -> BackendChoice:
    project = settings.get("project_id") or credential.project_id
    if not project and credential.kind != "express-key":
        raise _no_project(credential, found, why or f"{credential.source} is a Vertex credential")
    if project and isinstance(credential.auth, BearerAuth) and not credential.auth.quota_project:
        credential.auth.quota_project = project   # user tokens bill quota to the project
    return BackendChoice("vertex", reason, credential, project)


def _no_project(credential: Credential, found: Discovery, why: str) -> errors.CredentialsError:
    """Vertex was asked for, but no project is set: an error, never a quiet switch to another account."""
    others = [alt for alt in found.summaries() if not alt.endswith(f"{credential.kind} from {credential.source}")]
    hint = (f"{set_variable('GOOGLE_CLOUD_PROJECT', 'your-project')}, or project_id in mediagen.yaml. mediagen does "
            "not fall back to another credential, which could bill another account.")
    if others:
        hint += " Other credentials found: " + "; ".join(others) + " (to use one, pass --backend, or unset the "\
                "Vertex credential)."
    return errors.CredentialsError(
        f"Vertex needs a Google Cloud project: {why}, but no project is set (GOOGLE_CLOUD_PROJECT; "
        f"{credential.kind} from {credential.source} names none)", hint,
        details={"missing": "GOOGLE_CLOUD_PROJECT", "credential": credential.describe(), "alternatives": others})


def _missing(backend: str, what: str, found: Discovery) -> errors.CredentialsError:
    others = found.summaries()
    hint = f"Provide {what}."
    if others:
        hint += " Other credentials found: " + "; ".join(others) + " (choose one with --backend)."
    else:
        hint += " " + setup_hint(vertex_first=backend == "vertex")
    return errors.CredentialsError(f"backend '{backend}' was chosen but its credential is missing", hint,
                                   details={"alternatives": others} if others else None)


# -- Vertex OAuth sources ---------------------------------------------------

def _vertex_credentials(settings: Settings, skipped: list[str]) -> list[Credential]:
    found: list[Credential] = []
    token = settings.get("access_token")
    if token:
        found.append(Credential("access-token", settings.source("access_token") or "?", BearerAuth(token)))
    for path, source in _credential_files(settings):
        try:
            found.append(load_credential_file(path, source))
        except errors.CredentialsError as exc:
            if source.startswith("adc") or source.startswith("token file"):
                skipped.append(f"{path}: {exc.message}")   # a stray file in a default place is not fatal
            else:
                raise
    return found


def _credential_files(settings: Settings) -> list[tuple[Path, str]]:
    env = settings.env
    files: list[tuple[Path, str]] = []
    explicit = settings.get("credentials_file")
    if explicit:
        files.append((Path(explicit).expanduser(), settings.source("credentials_file") or "?"))
    adc = adc_path(env)
    if adc.is_file():
        files.append((adc, f"adc:{adc}"))
    home = home_dir(env)
    for folder in (home / ".cli-proxy-api", home / ".ccs" / "cliproxy" / "auth"):
        if folder.is_dir():
            newest = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            files += [(p, f"token file {p}") for p in newest]
    return files


def adc_path(env: Mapping[str, str]) -> Path:
    """gcloud's application-default credentials file."""
    return gcloud_config_dir(env) / "application_default_credentials.json"


def load_credential_file(path: Path, source: str) -> Credential:
    """A service-account, authorized_user or CLIProxyAPI/CCS token file as a credential."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise errors.CredentialsError(f"cannot read credential file {path} (from {source}): {exc}",
                                      credential_file_hint(source)) from exc
    kind = info.get("type") if isinstance(info, dict) else None
    if kind == "service_account":
        return _service_account(info, path, source)
    if kind == "authorized_user":
        return _authorized_user(info, path, source)
    if isinstance(info, dict) and (info.get("token") or info.get("access_token")):
        return _token_file(info, path, source)
    raise errors.CredentialsError(f"credential file {path} has unsupported type {kind!r}",
                                  "Use a service-account key, an ADC authorized_user file, or a token file.")


def credential_file_hint(source: str) -> str:
    """How to fix an unreadable credential file, named where it was set: the config file's field, or the variable."""
    if source.startswith("config:"):
        config, _, field_path = source.removeprefix("config:").partition("#")
        field_path = field_path.strip("/") or "credentials_file"
        return (f"Fix the credentials_file field in {config} ({field_path}): it must point at a readable JSON key "
                "file (a service-account key or an ADC file); a relative path starts from the working folder. Or "
                "remove the field to use another credential.")
    if source.startswith("adc:"):
        return "Run gcloud auth application-default login again (it rewrites the ADC file)."
    variable = source.removeprefix("env:") if source.startswith("env:") else "GOOGLE_APPLICATION_CREDENTIALS"
    return (f"Point {variable} at a valid JSON key file ({set_variable(variable, '/path/key.json')}), or set "
            "credentials_file in mediagen.yaml.")


def _service_account(info: dict[str, Any], path: Path, source: str) -> Credential:
    from google.oauth2 import service_account  # lazy: google-auth is heavy to import

    register_secret(info.get("private_key"))
    try:
        creds = service_account.Credentials.from_service_account_info(info, scopes=[CLOUD_PLATFORM_SCOPE])
    except (ValueError, KeyError) as exc:
        raise errors.CredentialsError(f"service-account file {path} is incomplete: {exc}",
                                      "Download a new JSON key for the service account.") from exc
    return Credential("service-account", source, GoogleAuth(creds), info.get("project_id"))


def _authorized_user(info: dict[str, Any], path: Path, source: str) -> Credential:
    from google.oauth2 import credentials as oauth2

    missing = [k for k in ("client_id", "client_secret", "refresh_token") if not info.get(k)]
    if missing:
        raise errors.CredentialsError(f"ADC file {path} lacks {', '.join(missing)}",
                                      "Run gcloud auth application-default login again.")
    register_secret(info.get("refresh_token"))
    register_secret(info.get("client_secret"))
    # google-auth ignores token_uri in authorized_user files; build it by hand to honour it.
    creds = oauth2.Credentials(token=None, refresh_token=info["refresh_token"], client_id=info["client_id"],
                               client_secret=info["client_secret"],
                               token_uri=info.get("token_uri") or DEFAULT_TOKEN_URI,
                               quota_project_id=info.get("quota_project_id"), scopes=[CLOUD_PLATFORM_SCOPE])
    return Credential("authorized-user", source, GoogleAuth(creds), info.get("quota_project_id"))


def _token_file(info: dict[str, Any], path: Path, source: str) -> Credential:
    token = info.get("token") if isinstance(info.get("token"), dict) else info
    access = token.get("access_token") or info.get("access_token")
    refresh_token = token.get("refresh_token") or info.get("refresh_token")
    expiry = _parse_time(token.get("expiry") or info.get("expired") or info.get("expiry"))
    project = str(info.get("project_id") or "").split(",")[0].strip() or None
    register_secret(access)
    register_secret(refresh_token)
    client_id, client_secret = token.get("client_id"), token.get("client_secret")
    if refresh_token and client_id and client_secret:
        from google.oauth2 import credentials as oauth2

        register_secret(client_secret)
        creds = oauth2.Credentials(token=access, refresh_token=refresh_token, client_id=client_id,
                                   client_secret=client_secret,
                                   token_uri=token.get("token_uri") or DEFAULT_TOKEN_URI,
                                   expiry=expiry.replace(tzinfo=None) if expiry else None,
                                   quota_project_id=project)
        return Credential("token-file", source, GoogleAuth(creds), project)
    if not access:
        raise errors.CredentialsError(f"token file {path} holds no access token", "Log in again with the proxy.")
    return Credential("token-file", source, BearerAuth(access, project, expiry), project)


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


# -- CLIProxyAPI ------------------------------------------------------------

def _proxy_credential(settings: Settings) -> tuple[Credential | None, bool]:
    """The proxy credential, and whether the user configured the proxy (vs. code defaults)."""
    url_source = settings.source("cliproxy_url") or "default"
    key_source = settings.source("cliproxy_api_key") or "default"
    configured = url_source != "default" or key_source != "default"
    url, key = settings.get("cliproxy_url"), settings.get("cliproxy_api_key")
    ccs = _ccs_proxy(settings.env)
    if not configured and ccs:
        url, key = ccs["url"], ccs["key"] or key
        url_source, configured = ccs["source"], True
    if not url:
        return None, False
    credential = Credential("proxy-key", f"{url} (url from {url_source}, key from {key_source})",
                            ProxyAuth(url, key))
    return credential, configured


class ProxyAuth(BearerAuth):
    """CLIProxyAPI's own key, sent as a bearer token; remembers the proxy URL."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(key)
        self.url = url.rstrip("/")


def _ccs_proxy(env: Mapping[str, str]) -> dict[str, Any] | None:
    """Port and key from CCS's generated proxy config (``~/.ccs/cliproxy/config.yaml``), if present."""
    path = home_dir(env) / ".ccs" / "cliproxy" / "config.yaml"
    if not path.is_file():
        return None
    try:
        data = read_yaml(path, error=errors.ConfigError, what="CCS proxy config") or {}
    except errors.ConfigError:
        return None
    if not isinstance(data, dict):
        return None
    keys = data.get("api-keys") or []
    port = data.get("port") or 8317
    return {"url": f"http://127.0.0.1:{port}", "key": keys[0] if keys else None, "source": f"ccs:{path}"}


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def placeholder_headers(credential: Credential) -> dict[str, str]:
    """The auth headers a request would carry, with masked values (for --dry-run: no token is minted)."""
    if isinstance(credential.auth, ApiKeyAuth):
        return {"x-goog-api-key": "***"}
    headers = {"Authorization": "Bearer ***"}
    quota = getattr(credential.auth, "quota_project", None) or (
        getattr(getattr(credential.auth, "credentials", None), "quota_project_id", None))
    if quota:
        headers["x-goog-user-project"] = quota
    return headers
