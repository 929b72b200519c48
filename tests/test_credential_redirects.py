"""Credentials stay home: on a redirect, API keys and bearer tokens go only to the same origin (or allowed hosts)."""
from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from mediagen.cli.video_gen import main as video_main
from mediagen.core import errors
from mediagen.transport.http import HttpRequest, Transport
from tests.conftest import GEMINI_KEY
from tests.money import VEO_MODEL, veo_env


def elsewhere(fake, service: str, path_of=lambda req: req.path):
    """A redirect target on a second host: the same fake server, reached as ``localhost`` (another origin)."""
    port = urlparse(fake.urls[service]).port

    def location(req) -> str:
        query = f"?{req.query_string}" if req.query_string else ""
        return f"http://localhost:{port}{path_of(req)}{query}"
    return location


def blob_path(req) -> str:
    return "/_blob/" + re.search(r"files/([a-z0-9_-]+):download", req.path).group(1)


def test_the_api_key_does_not_follow_a_download_redirect_to_another_host(run, fake, omni_env, tmp_path) -> None:
    env = veo_env(omni_env, fake, tmp_path)
    fake.add_redirect(service="gemini", path_contains=":download", location=elsewhere(fake, "gemini", blob_path))
    result = run(video_main, "a cat walking", "--model", VEO_MODEL, env=env)
    assert result.code == 0, result.doc
    first = [r for r in fake.requests if ":download" in r.path][0]
    second = [r for r in fake.requests if r.path.startswith("/_blob/")][0]
    assert first.headers["x-goog-api-key"] == GEMINI_KEY and first.headers.get("host", "").startswith("127.0.0.1")
    assert second.headers.get("host", "").startswith("localhost")
    assert "x-goog-api-key" not in second.headers and "authorization" not in second.headers


def test_an_allowed_download_host_keeps_the_key(run, fake, omni_env, tmp_path) -> None:
    env = veo_env(omni_env, fake, tmp_path)
    port = urlparse(fake.urls["gemini"]).port
    env = {**env, "MEDIAGEN_CREDENTIAL_REDIRECT_HOSTS": f"storage.example, localhost:{port}"}
    fake.add_redirect(service="gemini", path_contains=":download", location=elsewhere(fake, "gemini", blob_path))
    result = run(video_main, "a cat walking", "--model", VEO_MODEL, env=env)
    assert result.code == 0, result.doc
    second = [r for r in fake.requests if r.path.startswith("/_blob/")][0]
    assert second.headers.get("host", "").startswith("localhost") and second.headers["x-goog-api-key"] == GEMINI_KEY


def test_a_bearer_token_does_not_follow_a_redirect_to_another_host(run, fake, vertex_env) -> None:
    fake.config.gcs_require_auth = False                 # a signed URL needs no token
    fake.add_redirect(service="gcs", path_contains="/o/", method="GET", location=elsewhere(fake, "gcs"))
    result = run(video_main, "a cat walking", "--storage-uri", "gs://bucket/out/", env=vertex_env)
    assert result.code == 0, result.doc
    hops = [r for r in fake.requests if r.service == "gcs" and r.method == "GET"]
    assert hops[0].headers["authorization"].startswith("Bearer ") and hops[0].status == 302
    assert hops[1].headers.get("host", "").startswith("localhost") and "authorization" not in hops[1].headers


class _Token:
    def headers(self) -> dict[str, str]:
        return {"Authorization": "Bearer ya29.FAKE-raw-token", "x-goog-api-key": GEMINI_KEY}

    def refresh(self) -> bool:
        return False


def test_transport_keeps_credentials_on_the_same_origin_only(fake) -> None:
    fake.add_redirect(service="gemini", path_contains="/v1beta/models", location=elsewhere(fake, "gemini"))
    url = f"{fake.urls['gemini']}/v1beta/models"
    with pytest.raises(errors.ApiError):            # the second host sees no key, and says so
        Transport().send_json(HttpRequest("GET", url, label="models.list"), _Token())
    second = fake.requests[-1]
    assert second.headers.get("host", "").startswith("localhost")
    assert "x-goog-api-key" not in second.headers and "authorization" not in second.headers
    fake.clear()
    same = f"{fake.urls['gemini']}/v1beta/models?pageSize=1"
    fake.add_redirect(service="gemini", path_contains="/v1beta/models", location=same)
    assert "models" in Transport().send_json(HttpRequest("GET", url, label="models.list"), _Token())
    assert [r.headers.get("x-goog-api-key") for r in fake.requests] == [GEMINI_KEY, GEMINI_KEY]
