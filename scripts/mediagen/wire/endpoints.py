"""URLs of every Google surface mediagen talks to, built in one place.

Base URLs can be overridden (``GOOGLE_GEMINI_BASE_URL``, ``GOOGLE_VERTEX_BASE_URL``,
``STORAGE_EMULATOR_HOST``, ``CLIPROXY_URL``) for proxies, private endpoints and
tests. Without an override, one rule (``vertex_host``) picks every Vertex host:

* express mode (an API key without a project) sends every call, polls
  included, to the global host, as Google's SDK does;
* otherwise the host is that of the location the path names: ``global`` has no
  region prefix, ``us``/``eu`` are multi-region hosts, anything else is
  ``{location}-aiplatform.googleapis.com``. A path without a location (the
  Interactions collection, a publisher model) uses the location it is asked for,
  ``global`` by default.
"""
from __future__ import annotations

from urllib.parse import quote

VERTEX_GLOBAL_HOST = "https://aiplatform.googleapis.com"
MULTI_REGIONS = frozenset({"us", "eu"})
VERTEX_VERSION = "v1"
VERTEX_BETA_VERSION = "v1beta1"


def gemini_root(base_url: str) -> str:
    """The Gemini API origin without a trailing slash."""
    return base_url.rstrip("/")


def gemini_url(base_url: str, version: str, path: str) -> str:
    """``{base}/{version}/{path}`` for the Gemini API (version ``v1beta`` or ``v1``)."""
    return f"{gemini_root(base_url)}/{version}/{path.lstrip('/')}"


def gemini_model_url(base_url: str, version: str, model: str, method: str) -> str:
    """``.../models/{model}:{method}`` on the Gemini API."""
    return gemini_url(base_url, version, f"models/{model}:{method}")


def vertex_host(location: str | None, override: str | None = None, *, express: bool = False) -> str:
    """The Vertex origin of a call: global for express mode, else the host of ``location`` (or the override)."""
    if override:
        return override.rstrip("/")
    if express or not location or location == "global":
        return VERTEX_GLOBAL_HOST
    if location in MULTI_REGIONS:
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def path_location(resource: str) -> str | None:
    """The location a Vertex resource path names (``projects/p/locations/L/...`` -> ``L``), or None."""
    parts = resource.strip("/").split("/")
    for index, part in enumerate(parts[:-1]):
        if part == "locations":
            return parts[index + 1]
    return None


def vertex_resource_url(resource: str, method: str | None = None, *, express: bool,
                        override: str | None = None, version: str = VERTEX_VERSION) -> str:
    """``{host}/{version}/{resource}[:{method}]`` on the host of the location in ``resource`` (express: global)."""
    host = vertex_host(path_location(resource), override, express=express)
    return f"{host}/{version}/{resource.strip('/')}" + (f":{method}" if method else "")


def vertex_model_url(*, project: str | None, location: str, model: str, method: str,
                     override: str | None = None, version: str = VERTEX_VERSION) -> str:
    """A publisher-model method URL; without a project it is the express-mode form (global host)."""
    resource = f"publishers/google/models/{model}"
    if project:
        resource = f"projects/{project}/locations/{location}/{resource}"
    return vertex_resource_url(resource, method, express=not project, override=override, version=version)


def vertex_publisher_model_url(model: str, *, location: str = "global", express: bool = False,
                               override: str | None = None) -> str:
    """``GET`` target that describes one publisher model (free; used by check_api), asked of ``location``'s host."""
    return f"{vertex_host(location, override, express=express)}/{VERTEX_BETA_VERSION}/publishers/google/models/{model}"


def vertex_interactions_url(*, project: str | None, override: str | None = None) -> str:
    """The Interactions collection on Vertex: global only; express keys use the project-less form."""
    resource = f"projects/{project}/locations/global/interactions" if project else "interactions"
    return vertex_resource_url(resource, express=not project, override=override, version=VERTEX_BETA_VERSION)


def gcs_object_url(base_url: str, bucket: str, name: str) -> str:
    """GCS JSON API URL of one object (add ``alt=media`` to read its bytes)."""
    return f"{base_url.rstrip('/')}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"


def gcs_list_url(base_url: str, bucket: str) -> str:
    """GCS JSON API URL listing a bucket's objects (add ``prefix``)."""
    return f"{base_url.rstrip('/')}/storage/v1/b/{quote(bucket, safe='')}/o"


def gcs_upload_url(base_url: str, bucket: str) -> str:
    """GCS JSON API media-upload URL for a bucket."""
    return f"{base_url.rstrip('/')}/upload/storage/v1/b/{quote(bucket, safe='')}/o"


def split_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> (``bucket``, ``a/b``)."""
    if not uri.startswith("gs://"):
        raise ValueError(f"not a gs:// URI: {uri}")
    bucket, _, name = uri[5:].partition("/")
    return bucket, name


def gcs_base(value: str) -> str:
    """Normalise ``STORAGE_EMULATOR_HOST`` (which may lack a scheme) to an origin."""
    value = value.rstrip("/")
    return value if value.startswith(("http://", "https://")) else f"http://{value}"


def cliproxy_url(base_url: str, path: str) -> str:
    """A CLIProxyAPI URL such as ``/v1/chat/completions``."""
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"
