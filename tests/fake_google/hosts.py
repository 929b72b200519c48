"""Which Google hostname serves what, for the real-hostname (TLS) mode.

In that mode clients use Google's own hostnames through a local TLS proxy
(``tls.py``), and the fake knows the host each request was sent to. These rules
are the fake's own reading of Google's (google-media-apis.md §1.2, §5.2;
field-news-2026-12.md §2), written independently of the client so a wrong host
in the client cannot be mirrored here:

* ``generativelanguage.googleapis.com``: the Gemini API;
* ``aiplatform.googleapis.com`` (global), ``{region}-aiplatform.googleapis.com``
  and ``aiplatform.{us|eu}.rep.googleapis.com``: Vertex AI. A path naming
  ``projects/{p}/locations/{l}`` belongs on the host of ``l``; express paths
  (no project: ``/{v}/publishers/google/models/{m}:{method}`` and
  ``/v1beta1/interactions``) belong on the global host only, and so does any
  project-less path sent with an API key (express mode never leaves the global
  host). Reading a publisher model with a token
  (``GET /{v}/publishers/google/models/{m}``) works on any Vertex host. A
  long-running operation or interaction is only found on the host that created
  it (checked by the services, which store that host);
* ``oauth2.googleapis.com``: the token endpoint;
* ``storage.googleapis.com``: Cloud Storage.
"""

from __future__ import annotations

import re

GEMINI_HOST = "generativelanguage.googleapis.com"
VERTEX_GLOBAL_HOST = "aiplatform.googleapis.com"
OAUTH_HOST = "oauth2.googleapis.com"
GCS_HOST = "storage.googleapis.com"

# The origin a client uses for each service in real-hostname mode.
PUBLIC_ORIGINS = {
    "gemini": f"https://{GEMINI_HOST}",
    "vertex": f"https://{VERTEX_GLOBAL_HOST}",
    "oauth": f"https://{OAUTH_HOST}",
    "gcs": f"https://{GCS_HOST}",
}

_REGIONAL = re.compile(r"(?P<region>[a-z]+-[a-z]+\d+)-aiplatform\.googleapis\.com")
_MULTI_REGIONAL = re.compile(r"aiplatform\.(?P<region>us|eu)\.rep\.googleapis\.com")
_PROJECT_PATH = re.compile(r"^/v1(?:beta1)?/projects/[^/]+/locations/(?P<l>[^/]+)/")
_EXPRESS_CALL = re.compile(r"^/v1(?:beta1)?/(?:publishers/google/models/[^/]+:[A-Za-z]+$|interactions(?:/|$))")


def service_for(host: str) -> str | None:
    """The fake service that answers for ``host`` (None: not a Google host the fake plays)."""
    host = host.lower()
    fixed = {GEMINI_HOST: "gemini", OAUTH_HOST: "oauth", GCS_HOST: "gcs", VERTEX_GLOBAL_HOST: "vertex"}
    if host in fixed:
        return fixed[host]
    if _REGIONAL.fullmatch(host) or _MULTI_REGIONAL.fullmatch(host):
        return "vertex"
    return None


def vertex_host_for(location: str) -> str:
    """The Vertex host that serves ``location``."""
    if location == "global":
        return VERTEX_GLOBAL_HOST
    if location in ("us", "eu"):
        return f"aiplatform.{location}.rep.googleapis.com"
    return f"{location}-aiplatform.googleapis.com"


def expected_host(service: str, path: str, *, api_key: bool = False) -> str | None:
    """The one host ``path`` must be sent to, or None when any host of the service will do."""
    if service != "vertex":
        return None
    if path.endswith(":fetchPredictOperation"):
        return None            # checked against the host that created the operation
    project = _PROJECT_PATH.match(path)
    if project:
        return vertex_host_for(project.group("l"))
    if api_key or _EXPRESS_CALL.match(path):
        return VERTEX_GLOBAL_HOST
    return None


def misdirected(service: str, host: str | None, path: str, *, api_key: bool = False) -> str | None:
    """Why ``path`` may not be served on ``host`` by ``service`` (None when it may)."""
    if host is None:
        return f"{path} reached the fake without a hostname (it bypassed the TLS proxy)"
    if service_for(host) != service:
        return f"{path} was sent to {host}, which is not a {service} host"
    wanted = expected_host(service, path, api_key=api_key)
    if wanted is not None and wanted != host:
        return f"{path} was sent to {host}; Google serves it on {wanted}"
    return None
