"""Every surface under Google's real hostnames: a local TLS proxy with a test CA, no base-URL overrides.

The scripts run with only the standard ``HTTPS_PROXY``/``HTTP_PROXY`` and
``REQUESTS_CA_BUNDLE`` variables, so they build the URLs they build in
production. The fake knows the host each request was sent to: it refuses a
path on the wrong host and an operation polled on a host that did not create
it (``fake.misdirected`` lists what it refused). One fake, CA and proxy serve
the whole session.
"""
from __future__ import annotations

import json
from pathlib import Path

import certifi
import pytest
import requests

from mediagen.cli.check_api import main as check_main
from mediagen.cli.image_gen import main as image_main
from mediagen.cli.jobs import main as jobs_main
from mediagen.cli.video_gen import main as video_main
from tests.conftest import EXPRESS_KEY, FAST_POLLS, GEMINI_KEY
from tests.fake_google import FakeGoogle
from tests.fake_google.tls import TestCA, TlsProxy

GEMINI = "generativelanguage.googleapis.com"
GLOBAL = "aiplatform.googleapis.com"
OAUTH = "oauth2.googleapis.com"
GCS = "storage.googleapis.com"
# Proxy and CA variables a developer's shell may hold, which would change where requests go.
_OTHER_NETWORK_ENV = ("https_proxy", "http_proxy", "no_proxy", "all_proxy", "ALL_PROXY", "CURL_CA_BUNDLE")


@pytest.fixture(scope="session")
def google_hosts(tmp_path_factory):
    """A real-hostname fake, the session's test CA and the TLS proxy in front of the fake."""
    fake = FakeGoogle(real_hosts=True).start()
    proxy = TlsProxy(fake, TestCA(tmp_path_factory.mktemp("test-ca"))).start()
    yield fake, proxy
    proxy.stop()
    fake.stop()


@pytest.fixture
def hosts(google_hosts, monkeypatch):
    """The real-hostname fake, reset, with this process routed through the proxy (as a shell would set it)."""
    fake, proxy = google_hosts
    fake.reset()
    proxy.refused.clear()
    for name in _OTHER_NETWORK_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in proxy.env().items():
        monkeypatch.setenv(name, value)
    yield fake
    assert not fake.server_errors, fake.server_errors[0]


@pytest.fixture
def tls_env(base_env, hosts, google_hosts) -> dict[str, str]:
    """The script environment: proxy and CA variables only, no base-URL overrides."""
    return {**base_env, **FAST_POLLS, **google_hosts[1].env()}


@pytest.fixture
def sa_env(tls_env, hosts, tmp_path) -> dict[str, str]:
    """A service account whose token_uri is Google's own token endpoint."""
    key_file = hosts.write_service_account(tmp_path / "sa.json")
    assert json.loads(key_file.read_text())["token_uri"] == f"https://{OAUTH}/token"
    return {**tls_env, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}


def sent(fake, service: str | None = None) -> list[tuple[str, str, str]]:
    """(method, host, path) of every request the fake received, in order."""
    return [(r.method, r.host, r.path) for r in fake.requests if service is None or r.service == service]


def hosts_of(fake, service: str) -> set[str | None]:
    return {r.host for r in fake.requests if r.service == service}


def assert_clean(fake, proxy) -> None:
    """Nothing was refused for its host and nothing tried to leave for an unknown host."""
    assert fake.misdirected == [] and proxy.refused == []


# -- Gemini API ---------------------------------------------------------------------------------

def test_gemini_api_omni_create_poll_inline_video(run, hosts, tls_env, google_hosts) -> None:
    hosts.config.interaction_polls_until_done = 2
    result = run(video_main, "a cat walking", env={**tls_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 0, result.doc
    calls = sent(hosts)
    assert calls[0] == ("POST", GEMINI, "/v1beta/interactions")
    assert [c for c in calls[1:] if c[0] == "GET"] and {c[1] for c in calls} == {GEMINI}
    assert Path(result.doc["videos"][0]["path"]).stat().st_size > 1000
    assert_clean(hosts, google_hosts[1])


def test_gemini_api_file_download_follows_the_redirect_on_googles_host(run, hosts, tls_env, google_hosts,
                                                                       tmp_path) -> None:
    override = tmp_path / "override.yaml"
    override.write_text("models:\n  - id: veo-3.1-fast-generate-preview\n    backends:\n      gemini-api:\n"
                        "        status: preview\n        shutdown: null\n")
    hosts.config.gemini_veo_served = True
    env = {**tls_env, "GEMINI_API_KEY": GEMINI_KEY, "MEDIAGEN_CATALOG_OVERRIDE": str(override)}
    result = run(video_main, "a cat walking", "--model", "veo-3.1-fast-generate-preview", env=env)
    assert result.code == 0, result.doc
    calls = sent(hosts)
    assert calls[0] == ("POST", GEMINI, "/v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning")
    assert ("GET", GEMINI, f"/v1beta/{result.doc['operation']}") in calls
    assert any(c[2].endswith(":download") for c in calls) and any(c[2].startswith("/_blob/") for c in calls)
    assert {c[1] for c in calls} == {GEMINI}
    assert_clean(hosts, google_hosts[1])


# -- Vertex: regional project paths, global, express ------------------------------------------

def test_vertex_regional_veo_is_created_and_polled_on_its_regions_host(run, hosts, sa_env, google_hosts) -> None:
    result = run(video_main, "a cat walking", "--location", "europe-west4", env=sa_env)
    assert result.code == 0, result.doc
    regional = "europe-west4-aiplatform.googleapis.com"
    resource = "/v1/projects/fake-project/locations/europe-west4/publishers/google/models/veo-3.1-fast-generate-001"
    calls = sent(hosts, "vertex")
    assert calls[0] == ("POST", regional, f"{resource}:predictLongRunning")
    assert calls[1:] and all(c == ("POST", regional, f"{resource}:fetchPredictOperation") for c in calls[1:])
    assert hosts_of(hosts, "oauth") == {OAUTH}
    assert Path(result.doc["videos"][0]["path"]).stat().st_size > 1000
    assert_clean(hosts, google_hosts[1])


def test_vertex_global_omni_and_gemini_3_image_use_the_global_host(run, hosts, sa_env, google_hosts) -> None:
    hosts.config.interaction_polls_until_done = 2
    video = run(video_main, "a cat walking", "--model", "gemini-omni-1.1-flash", env=sa_env)
    assert video.code == 0, video.doc
    image = run(image_main, "a red fox in snow", "--model", "gemini-3-pro-image", env=sa_env)
    assert image.code == 0, image.doc
    calls = sent(hosts, "vertex")
    assert calls[0] == ("POST", GLOBAL, "/v1beta1/projects/fake-project/locations/global/interactions")
    assert any(c[0] == "GET" and "/interactions/" in c[2] for c in calls)
    assert calls[-1] == ("POST", GLOBAL, "/v1/projects/fake-project/locations/global/publishers/google/models/"
                                         "gemini-3-pro-image:generateContent")
    assert {c[1] for c in calls} == {GLOBAL}
    assert_clean(hosts, google_hosts[1])


def test_vertex_express_veo_is_polled_on_the_global_host(run, hosts, tls_env, google_hosts) -> None:
    env = {**tls_env, "GOOGLE_API_KEY": EXPRESS_KEY}
    result = run(video_main, "a cat walking", "--model", "veo-3.1-fast-generate-001", env=env)
    assert hosts.misdirected == [], hosts.misdirected          # the old code polled us-central1-aiplatform
    assert result.code == 0, result.doc
    calls = sent(hosts, "vertex")
    assert calls[0] == ("POST", GLOBAL, "/v1/publishers/google/models/veo-3.1-fast-generate-001:predictLongRunning")
    polls = [c for c in calls if c[2].endswith(":fetchPredictOperation")]
    assert polls and {c[1] for c in polls} == {GLOBAL}
    assert all(r.headers["x-goog-api-key"] == EXPRESS_KEY for r in hosts.requests)
    assert Path(result.doc["videos"][0]["path"]).stat().st_size > 1000
    assert_clean(hosts, google_hosts[1])


def test_vertex_express_model_checks_stay_on_the_global_host(run, hosts, tls_env, google_hosts) -> None:
    result = run(check_main, env={**tls_env, "GOOGLE_API_KEY": EXPRESS_KEY})
    assert result.code == 0, result.doc
    assert hosts_of(hosts, "vertex") == {GLOBAL}      # Veo and Imagen ids too, though their location is regional
    assert any("veo" in r.path for r in hosts.requests)
    assert_clean(hosts, google_hosts[1])


def test_vertex_express_omni_create_poll_and_cancel_on_the_global_host(run, hosts, tls_env, google_hosts) -> None:
    env = {**tls_env, "GOOGLE_API_KEY": EXPRESS_KEY}
    hosts.config.interaction_polls_until_done = 1000
    started = run(video_main, "a cat walking", "--model", "gemini-omni-1.1-flash", "--no-wait", env=env)
    assert started.code == 0, started.doc
    status = run(jobs_main, "status", started.doc["job_id"], env=env)
    assert status.code == 8 and status.doc["error"]["type"] == "still_running"      # polled once, still running
    cancelled = run(jobs_main, "cancel", started.doc["job_id"], env=env)
    assert cancelled.code == 0 and cancelled.doc["cancelled_remotely"] is True
    calls = sent(hosts, "vertex")
    interaction = hosts.requests[1].path.rpartition("/")[2]
    assert calls == [("POST", GLOBAL, "/v1beta1/interactions"), ("GET", GLOBAL, f"/v1beta1/interactions/{interaction}"),
                     ("POST", GLOBAL, f"/v1beta1/interactions/{interaction}/cancel")]
    assert_clean(hosts, google_hosts[1])


# -- Cloud Storage and the OAuth token endpoint -------------------------------------------------

def test_gcs_result_download_and_upload_on_storage_host(run, hosts, sa_env, google_hosts) -> None:
    result = run(video_main, "a cat walking", "--storage-uri", "gs://bucket/out/", "--upload-gcs",
                 "gs://bucket/copies/", env=sa_env)
    assert result.code == 0, result.doc
    storage = sent(hosts, "gcs")
    assert storage[0][:2] == ("GET", GCS) and storage[0][2].startswith("/storage/v1/b/bucket/o/out%2F")
    assert any(c[0] == "POST" and c[2] == "/upload/storage/v1/b/bucket/o" for c in storage)
    assert hosts_of(hosts, "gcs") == {GCS}
    assert any(o.startswith("gs://bucket/copies/") for o in hosts.gcs_objects())
    assert_clean(hosts, google_hosts[1])


def test_oauth_token_endpoint_mints_and_refreshes_on_its_host(run, hosts, sa_env, tls_env, google_hosts,
                                                             tmp_path) -> None:
    minted = run(check_main, env=sa_env)
    assert minted.code == 0, minted.doc
    user_file = hosts.write_authorized_user(tmp_path / "adc.json")
    refreshed = run(image_main, "a red fox in snow", env={**tls_env, "GOOGLE_APPLICATION_CREDENTIALS": str(user_file)})
    assert refreshed.code == 0, refreshed.doc
    grants = [r.body.decode() for r in hosts.requests if r.service == "oauth"]
    assert len(grants) == 2 and "jwt-bearer" in grants[0] and "grant_type=refresh_token" in grants[1]
    assert sent(hosts, "oauth") == [("POST", OAUTH, "/token")] * 2
    # check_api reads each model on its default location's host (publisher models: any Vertex host).
    assert hosts_of(hosts, "vertex") == {GLOBAL, "us-central1-aiplatform.googleapis.com"}
    assert_clean(hosts, google_hosts[1])


# -- the harness itself: what it refuses ----------------------------------------------------------

def test_the_fake_refuses_wrong_hosts_foreign_polls_and_unknown_hosts(hosts, google_hosts) -> None:
    proxy = google_hosts[1]
    key = {"x-goog-api-key": EXPRESS_KEY}
    model = "https://{}/v1/{}publishers/google/models/veo-3.1-fast-generate-001:{}"
    body = {"instances": [{"prompt": "a cat"}], "parameters": {"durationSeconds": 8}}
    created = requests.post(model.format(GLOBAL, "", "predictLongRunning"), json=body, headers=key, timeout=10)
    assert created.status_code == 200
    name = created.json()["name"]
    resource = name.rpartition("/operations/")[0]
    elsewhere = requests.post(f"https://us-central1-aiplatform.googleapis.com/v1/{resource}:fetchPredictOperation",
                              json={"operationName": name}, headers=key, timeout=10)
    assert elsewhere.status_code == 404 and "wrong host" in elsewhere.text
    express_on_region = requests.post(model.format("us-central1-aiplatform.googleapis.com", "", "predictLongRunning"),
                                      json=body, headers=key, timeout=10)
    assert express_on_region.status_code == 404
    project_path = model.format(GLOBAL, "projects/p/locations/us-central1/", "predictLongRunning")
    assert requests.post(project_path, json=body, headers=key, timeout=10).status_code == 404
    home = requests.post(f"https://{GLOBAL}/v1/{resource}:fetchPredictOperation", json={"operationName": name},
                         headers=key, timeout=10)
    assert home.status_code == 200
    assert len(hosts.misdirected) == 3
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://example.com/", timeout=10)
    with pytest.raises(requests.exceptions.SSLError):    # the test CA is what makes the certificate trusted
        requests.get(f"https://{GEMINI}/v1beta/models", verify=certifi.where(), timeout=10)
    assert requests.get(f"http://{GEMINI}/v1beta/models", timeout=10).status_code == 403
    assert len(proxy.refused) == 2
    direct = requests.get(f"{hosts.local_urls['gemini']}/v1beta/models", headers={"x-goog-api-key": GEMINI_KEY},
                          timeout=10)      # NO_PROXY: straight to the fake's port
    assert direct.status_code == 404 and "bypassed the TLS proxy" in direct.text

