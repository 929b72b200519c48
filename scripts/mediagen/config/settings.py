"""Settings: where every effective value comes from, in one documented order.

Precedence, highest first (``resolve_settings``):

1. command-line flags;
2. layers the caller adds for one run, in their own order (a ``--preset``,
   then the sidecar of a video being extended);
3. the selected project of the config file, then the file's top level;
4. environment variables (Google's SDK names, see ``ENV_VARS``);
5. catalog and code defaults.

Empty strings count as unset. Every value remembers its source, so
``--show-defaults`` can print both, with secrets masked.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from mediagen.core import errors
from mediagen.core.console import DEFAULT_PROGRESS_INTERVAL_S
from mediagen.core.paths import user_config_dir
from mediagen.core.redaction import MASK, register_secret
from mediagen.core.resources import SCHEMAS_DIR
from mediagen.core.yamlfile import read_yaml

CONFIG_FILENAME = "mediagen.yaml"
SCHEMA_PATH = SCHEMAS_DIR / "config.schema.json"

# Settings read from the environment; the first variable that is set wins.
ENV_VARS: dict[str, tuple[str, ...]] = {
    "backend": ("MEDIAGEN_BACKEND",),
    "api_key": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),     # GOOGLE_API_KEY wins, as in Google's SDK
    "use_vertex": ("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE"),
    "project_id": ("GOOGLE_CLOUD_PROJECT",),
    "location": ("GOOGLE_CLOUD_LOCATION",),
    "credentials_file": ("GOOGLE_APPLICATION_CREDENTIALS",),
    "access_token": ("GOOGLE_OAUTH_ACCESS_TOKEN",),
    "gemini_base_url": ("GOOGLE_GEMINI_BASE_URL",),
    "vertex_base_url": ("GOOGLE_VERTEX_BASE_URL",),
    "gcs_base_url": ("STORAGE_EMULATOR_HOST",),
    "cliproxy_url": ("CLIPROXY_URL",),
    "cliproxy_api_key": ("CLIPROXY_API_KEY",),
    "gemini_api_version": ("MEDIAGEN_GEMINI_API_VERSION",),
    "max_cost": ("MEDIAGEN_MAX_COST",),
    "ledger": ("MEDIAGEN_LEDGER",),
    "job_store": ("MEDIAGEN_JOB_STORE",),
    "session_store": ("MEDIAGEN_SESSION_STORE",),
    "output_dir": ("MEDIAGEN_OUTPUT_DIR",),
    "poll_first_s": ("MEDIAGEN_POLL_FIRST_S",),
    "poll_interval_s": ("MEDIAGEN_POLL_INTERVAL_S",),
    "progress_interval_s": ("MEDIAGEN_PROGRESS_INTERVAL_S",),   # seconds between repeated progress lines (no TTY)
    # Hosts ("host" or "host:port", comma-separated) a redirect may carry API keys and tokens to, besides the
    # request's own origin. Empty by default: Google's signed download URLs need no key.
    "credential_redirect_hosts": ("MEDIAGEN_CREDENTIAL_REDIRECT_HOSTS",),
    # Seconds an input URL (image_gen.py -i URL, video inputs) may take in all, however the server paces it.
    "url_deadline_s": ("MEDIAGEN_URL_DEADLINE_S",),
    "polls_per_minute": ("MEDIAGEN_POLLS_PER_MINUTE",),
    "gallery_page_size": ("MEDIAGEN_GALLERY_PAGE_SIZE",),
    # gs://BUCKET[/PREFIX] mediagen may write to: Vertex inputs over the inline limit, batch prediction files.
    "gcs_bucket": ("MEDIAGEN_GCS_BUCKET",),
    # Largest input (MB) sent inline; larger ones are uploaded once and referenced (default: the API's limit).
    "inline_max_mb": ("MEDIAGEN_INLINE_MAX_MB",),
    # The Vertex region of batch prediction jobs (Gemini 3 image models are global-only online).
    "batch_location": ("MEDIAGEN_BATCH_LOCATION",),
}

# Variables the process reads by name rather than as settings (declared here too, so this module lists
# every variable mediagen reads; OS variables such as HOME or APPDATA are read only by core.paths).
PROCESS_ENV_VARS: dict[str, str] = {
    "config": "MEDIAGEN_CONFIG",                      # the config file
    "catalog_override": "MEDIAGEN_CATALOG_OVERRIDE",  # a YAML file merged over presets/models.yaml
    "debug": "MEDIAGEN_DEBUG",                        # tracebacks on stderr, as --debug
    "mcp_log_level": "MEDIAGEN_MCP_LOG_LEVEL",        # the MCP server's log level
    "today": "MEDIAGEN_TODAY",                        # the date lifecycle checks use (YYYY-MM-DD; tests pin it)
}
CONFIG_ENV = PROCESS_ENV_VARS["config"]


def process_env(env: Mapping[str, str], key: str) -> str | None:
    """The value of one of ``PROCESS_ENV_VARS`` (None when unset or empty)."""
    value = env.get(PROCESS_ENV_VARS[key])
    return value if _is_set(value) else None


def process_date(env: Mapping[str, str], key: str) -> dt.date | None:
    """One of ``PROCESS_ENV_VARS`` read as a ``YYYY-MM-DD`` date (None when unset); a bad value is a config error."""
    value = process_env(env, key)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        name = PROCESS_ENV_VARS[key]
        raise errors.ConfigError(f"{name}={value!r} is not a date",
                                 f"Set {name} to YYYY-MM-DD, or unset it to use today's date.") from exc


def all_env_names() -> set[str]:
    """Every environment variable name mediagen reads (settings and process variables)."""
    return {name for names in ENV_VARS.values() for name in names} | set(PROCESS_ENV_VARS.values())


CODE_DEFAULTS: dict[str, Any] = {
    "backend": "auto",
    "gemini_base_url": "https://generativelanguage.googleapis.com",
    "gemini_api_version": "v1beta",
    "gcs_base_url": "https://storage.googleapis.com",
    "cliproxy_url": "http://127.0.0.1:8317",
    "cliproxy_api_key": "ccs-internal-managed",
    "retries": 4,
    "progress_interval_s": DEFAULT_PROGRESS_INTERVAL_S,
    "polls_per_minute": 60,        # polls shared by all the jobs one process waits for (ops/pollbudget.py)
    "gallery_page_size": 200,      # cards per gallery page (ops/gallerypages.py)
}

SECRET_SETTINGS = frozenset({"api_key", "access_token", "cliproxy_api_key"})
URL_SETTINGS = ("gemini_base_url", "vertex_base_url", "gcs_base_url", "cliproxy_url")
# Dollars and seconds: NaN would pass every comparison (a cap that caps nothing), and a negative or infinite
# wait breaks the sleep that uses it.
NUMBER_SETTINGS = ("max_cost", "poll_first_s", "poll_interval_s", "progress_interval_s", "url_deadline_s",
                   "polls_per_minute", "gallery_page_size", "inline_max_mb")
# Names that become part of a URL: a location is part of the Vertex host name ("evil.example#" would make the host
# evil.example, and the token would go there), the others are path segments. Project ids may be domain-scoped.
URL_PART_SETTINGS = {"location": re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*"),
                     "project_id": re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]*"),
                     "gemini_api_version": re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")}
# Config keys naming an environment variable that holds the real value.
_ENV_INDIRECTIONS = {"api_key_env": "api_key", "access_token_env": "access_token",
                     "cliproxy_api_key_env": "cliproxy_api_key"}
_KIND_SECTIONS = ("image", "video")


@dataclass(frozen=True)
class Resolved:
    """An effective value and where it came from (``cli``, ``env:NAME``, ``config:PATH#field``...)."""

    value: Any
    source: str


@dataclass
class Layer:
    """One source of values: a name for messages and a flat mapping of setting keys."""

    name: str
    values: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)

    def source_of(self, key: str) -> str:
        return self.sources.get(key, self.name)


@dataclass
class LoadedConfig:
    """A parsed, schema-valid config file."""

    path: Path
    data: dict[str, Any]

    @property
    def projects(self) -> dict[str, dict[str, Any]]:
        return self.data.get("projects") or {}


class Settings:
    """Resolved settings for one run: ``settings["key"]`` and ``settings.source("key")``."""

    def __init__(self, values: dict[str, Resolved], *, project: str | None, config: LoadedConfig | None,
                 env: Mapping[str, str], warnings: list[str]) -> None:
        self._values = values
        self.project = project
        self.config = config
        self.env = env
        self.warnings = warnings

    def get(self, key: str, default: Any = None) -> Any:
        item = self._values.get(key)
        return default if item is None or item.value is None else item.value

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def source(self, key: str) -> str | None:
        item = self._values.get(key)
        return item.source if item else None

    def with_layers(self, layers: Iterable[Layer], keys: Iterable[str] | None = None) -> Settings:
        """A copy where ``layers`` sit above everything except explicit CLI values."""
        values = dict(self._values)
        for key in set(keys or ()) | {k for layer in layers for k in layer.values}:
            current = values.get(key)
            if current is not None and current.source == "cli" and current.value is not None:
                continue
            for layer in layers:
                if _is_set(layer.values.get(key)):
                    values[key] = Resolved(layer.values[key], layer.source_of(key))
                    break
        return Settings(values, project=self.project, config=self.config, env=self.env,
                        warnings=self.warnings)

    def with_defaults(self, defaults: Mapping[str, Any], source: str) -> Settings:
        """A copy where ``defaults`` fill only keys nothing else set (lowest precedence)."""
        values = dict(self._values)
        for key, value in defaults.items():
            if not _is_set(self.get(key)) and _is_set(value):
                values[key] = Resolved(value, source)
        return Settings(values, project=self.project, config=self.config, env=self.env,
                        warnings=self.warnings)

    def show(self, keys: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """``{key: {"value", "source"}}`` for --show-defaults, secrets masked."""
        shown = {}
        for key in keys or sorted(self._values):
            item = self._values.get(key)
            if item is None:
                shown[key] = {"value": None, "source": "unset"}
                continue
            value = item.value
            if key in SECRET_SETTINGS and value:
                value = f"{MASK} (set)"
            shown[key] = {"value": value, "source": item.source}
        return shown


# -- config file ----------------------------------------------------------

def find_config(env: Mapping[str, str], explicit: str | None = None, cwd: Path | None = None) -> Path | None:
    """The config file to use: ``--config``, then ``$MEDIAGEN_CONFIG``, ``./mediagen.yaml``, the user dir."""
    chosen = explicit or process_env(env, "config")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            origin = "--config" if explicit else CONFIG_ENV
            raise errors.ConfigError(f"config file {path} (from {origin}) does not exist",
                                     f"Create it, or unset {CONFIG_ENV} / drop --config.")
        return path
    for candidate in ((cwd or Path.cwd()) / CONFIG_FILENAME, user_config_dir(env) / "config.yaml"):
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path) -> LoadedConfig:
    """Parse and schema-validate a config file; errors name the file and the field."""
    data = read_yaml(path, error=errors.ConfigError, what="config") or {}
    problems = _schema_problems(data)
    if problems:
        raise errors.ConfigError(f"config file {path} is invalid: {problems[0]}",
                                 "Fix the named field; the format is in README: Configuration.",
                                 details={"file": str(path), "problems": problems})
    for project in (data.get("projects") or {}).values():
        register_secret(project.get("api_key"))
    return LoadedConfig(path, data)


def _schema_problems(data: Any) -> list[str]:
    import jsonschema  # lazy: only needed when a config file exists

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    found = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{_pointer(e.absolute_path)}: {e.message}" for e in found]


def _pointer(path: Iterable[Any]) -> str:
    parts = [str(p) for p in path]
    return "/" + "/".join(parts) if parts else "(top level)"


def select_project(config: LoadedConfig | None, name: str | None) -> str | None:
    """The project to use: ``--project``, else ``default_project``, else the only one."""
    if config is None:
        if name:
            raise errors.ConfigError(f"--project {name} given but no config file was found",
                                     f"Create ./{CONFIG_FILENAME} (see README: Configuration) or set {CONFIG_ENV}.")
        return None
    names = sorted(config.projects)
    if name:
        if name not in config.projects:
            raise errors.ConfigError(f"project '{name}' is not in {config.path}",
                                     f"Use one of: {', '.join(names) or '(none defined)'}.",
                                     details={"projects": names})
        return name
    default = config.data.get("default_project")
    if default:
        if default not in config.projects:
            raise errors.ConfigError(f"default_project '{default}' is not defined in {config.path}",
                                     f"Define it under projects:, or use one of: {', '.join(names)}.")
        return default
    if len(names) == 1:
        return names[0]
    if len(names) > 1:
        raise errors.ConfigError(f"{config.path} defines several projects and none was chosen",
                                 f"Add --project NAME (one of: {', '.join(names)}) or set default_project.",
                                 details={"projects": names})
    return None


# -- layers -----------------------------------------------------------------

def env_layer(env: Mapping[str, str], warnings: list[str]) -> Layer:
    """Settings from environment variables (``ENV_VARS``)."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, names in ENV_VARS.items():
        for name in names:
            if _is_set(env.get(name)):
                values[key], sources[key] = env[name], f"env:{name}"
                break
    google, gemini = env.get("GOOGLE_API_KEY"), env.get("GEMINI_API_KEY")
    if google and gemini and google != gemini:
        warnings.append("GOOGLE_API_KEY and GEMINI_API_KEY are both set and differ; using GOOGLE_API_KEY "
                        "(as Google's SDK does). Unset one to silence this.")
    if "use_vertex" in values:
        values["use_vertex"] = str(values["use_vertex"]).strip().lower() in ("1", "true", "yes", "on")
    for key in NUMBER_SETTINGS:
        if key in values:
            values[key] = _number(values[key], sources[key])
    for secret in SECRET_SETTINGS:
        register_secret(values.get(secret))
    return Layer("env", values, sources)


def config_layers(config: LoadedConfig | None, project: str | None,
                  env: Mapping[str, str], kind: str | None = None) -> list[Layer]:
    """The selected project's values, then the file's top level (each with its own source).

    The ``image:``/``video:`` sections apply to the script of that ``kind`` and
    are flattened (``image: {model: x}`` sets ``model`` for image_gen.py).
    """
    if config is None:
        return []
    layers = []
    if project:
        layers.append(_config_layer(config, config.projects[project], f"projects/{project}", env, kind))
    top = {k: v for k, v in config.data.items() if k not in ("projects", "default_project", "version")}
    layers.append(_config_layer(config, top, "", env, kind))
    return layers


def _config_layer(config: LoadedConfig, section: Mapping[str, Any], prefix: str,
                  env: Mapping[str, str], kind: str | None) -> Layer:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    base = f"config:{config.path}#{prefix}"
    for key, value in section.items():
        if key in _ENV_INDIRECTIONS:
            target = _ENV_INDIRECTIONS[key]
            if _is_set(env.get(value)):
                values[target], sources[target] = env[value], f"env:{value} (named by {base}/{key})"
                register_secret(env[value])
        elif key in _KIND_SECTIONS:
            if key == kind and isinstance(value, dict):
                for sub, subvalue in value.items():
                    values[sub], sources[sub] = subvalue, f"{base}/{key}/{sub}"
        else:
            values[key], sources[key] = value, f"{base}/{key}"
    return Layer("config", values, sources)


def cli_layer(values: Mapping[str, Any]) -> Layer:
    """Explicit command-line values (``None`` means the flag was not given)."""
    return Layer("cli", {k: v for k, v in values.items() if _is_set(v)}, {})


def resolve(layers: list[Layer], keys: Iterable[str] | None = None) -> dict[str, Resolved]:
    """For each key, the value of the first layer that sets it."""
    wanted = set(keys or ()) | {k for layer in layers for k in layer.values}
    result = {}
    for key in sorted(wanted):
        for layer in layers:
            if _is_set(layer.values.get(key)):
                result[key] = Resolved(layer.values[key], layer.source_of(key))
                break
    return result


def resolve_settings(cli: Mapping[str, Any], env: Mapping[str, str] | None = None, *,
                     config_path: str | None = None, project: str | None = None,
                     kind: str | None = None, cwd: Path | None = None) -> Settings:
    """Load the config file, pick the project, and resolve every setting with its source.

    Args:
        cli: flag values by setting key (``None`` = not given).
        env: the environment to read (defaults to ``os.environ``).
        config_path: ``--config``; project: ``--project``.
        kind: ``"image"`` or ``"video"``: which config section supplies generation defaults.
    """
    env = dict(os.environ if env is None else env)
    warnings: list[str] = []
    path = find_config(env, config_path, cwd)
    config = load_config(path) if path else None
    chosen = select_project(config, project)
    cli_values = cli_layer(cli)
    for secret in SECRET_SETTINGS:
        register_secret(cli_values.values.get(secret))
    layers = [cli_values, *config_layers(config, chosen, env, kind), env_layer(env, warnings),
              Layer("default", CODE_DEFAULTS)]
    values = resolve(layers)
    check_values(values)
    return Settings(values, project=chosen, config=config, env=env, warnings=warnings)


# -- values that cannot work ----------------------------------------------------

def check_values(values: Mapping[str, Resolved]) -> None:
    """Refuse base URLs that are not http(s) URLs and keys holding control characters (exit 3).

    The error names where the value came from (the variable, or the config file's field) and never the
    value itself: a mistyped URL may carry a token, and a broken key is still a key.
    """
    for key in URL_SETTINGS:
        item = values.get(key)
        if item is not None and item.source != "default" and not _is_http_url(item.value):
            raise errors.ConfigError(f"{_origin(item.source)} is not an http(s) URL (its value is not shown)",
                                     "Set it to a base URL with a scheme and a host, for example "
                                     "https://example.com:8443, or unset it.",
                                     details={"setting": key, "source": item.source})
    for key in NUMBER_SETTINGS:
        item = values.get(key)
        problem = _number_problem(item.value, item.source) if item is not None else None
        if problem:
            raise _value_error(key, item.source, f"{problem}, got {item.value!r}",
                               "Give a number of US dollars or seconds, 0 or more.")
    for key, pattern in URL_PART_SETTINGS.items():
        item = values.get(key)
        if item is not None and isinstance(item.value, str) and not pattern.fullmatch(item.value):
            raise _value_error(key, item.source, f"{item.value!r} is not a name that can be part of a URL",
                               "Use the plain name (letters, digits and dashes), as the Cloud console shows it.")
    for key in sorted(SECRET_SETTINGS):
        item = values.get(key)
        problem = _key_problem(item.value) if item is not None else None
        if problem:
            raise errors.ConfigError(f"{_origin(item.source)} {problem} (the key is not shown)",
                                     "Set it again without the line break or other invisible character "
                                     "(copy the key alone, or use a file without a trailing newline).",
                                     details={"setting": key, "source": item.source})


def _number_problem(value: Any, source: str) -> str | None:
    """What makes a number setting unusable, or None (a negative or unlimited cap on the command line is the
    gate's business: refused, or no cap)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if math.isnan(value):
        return "is not a number"
    if source != "cli" and (value < 0 or math.isinf(value)):
        return "must be a finite number, 0 or more"
    return None


def _value_error(key: str, source: str, problem: str, hint: str) -> errors.MediagenError:
    """A usage error naming the flag for a command-line value; a configuration error naming its origin otherwise."""
    if source == "cli":
        return errors.UsageError(f"--{key.replace('_', '-')} {problem}", hint, details={"setting": key})
    return errors.ConfigError(f"{_origin(source)} {problem}", hint, details={"setting": key, "source": source})


def _origin(source: str) -> str:
    """``GEMINI_API_KEY`` for ``env:GEMINI_API_KEY``; other sources as they are."""
    return source.removeprefix("env:")


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or _key_problem(value) or " " in value.strip():
        return False
    try:
        parts = urlsplit(value.strip())
        _ = parts.port                      # raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _key_problem(value: Any) -> str | None:
    """What makes a key unusable in an HTTP header, or None."""
    if not isinstance(value, str):
        return None
    position = next((i for i, c in enumerate(value) if unicodedata.category(c) == "Cc"), None)
    if position is not None:
        return f"contains a control character (a line break, tab or similar) at position {position + 1}"
    if not value.isascii():
        return "contains a character outside ASCII, which an HTTP header cannot carry"
    return None


def host_list(value: Any) -> tuple[str, ...]:
    """A list of hosts from a setting: a YAML list or a comma-separated string (empty entries dropped)."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return tuple(str(item).strip().lower() for item in items if str(item).strip())


def _is_set(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value.strip() == "")


def _number(value: Any, source: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise errors.ConfigError(f"{source} must be a number, got {value!r}", "Set it to a number such as 5.") from exc
