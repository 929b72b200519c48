"""Backend choice: the documented auto order, reasons, and no silent fallback."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediagen.core import errors
from mediagen.config.credentials import choose_backend, classify_key
from mediagen.config.settings import resolve_settings

GEMINI = "AIzaSyFAKE-test-key-000000000000000000"
EXPRESS = "AQ.FAKE-express-key"


def choose(env: dict, cli: dict | None = None, kind: str = "image"):
    return choose_backend(resolve_settings(cli or {}, env), kind)


def test_key_prefixes() -> None:
    assert classify_key("AIzaSyX") == "gemini-api-key"
    assert classify_key("AQ.Ab8R") == "express-key"
    assert classify_key("ya29.tok") == "access-token"


def test_auto_picks_by_key_and_says_why(base_env: dict) -> None:
    gemini = choose({**base_env, "GEMINI_API_KEY": GEMINI})
    assert gemini.backend == "gemini-api" and "GEMINI_API_KEY" in gemini.reason
    express = choose({**base_env, "GOOGLE_API_KEY": EXPRESS})
    assert express.backend == "vertex" and express.express and express.credential.kind == "express-key"
    with_project = choose({**base_env, "GOOGLE_API_KEY": EXPRESS, "GOOGLE_CLOUD_PROJECT": "p"})
    assert not with_project.express and with_project.project_id == "p"


def test_use_vertexai_env_switches_backend(base_env: dict) -> None:
    env = {**base_env, "GEMINI_API_KEY": GEMINI, "GOOGLE_GENAI_USE_VERTEXAI": "true",
           "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.FAKE-raw-token", "GOOGLE_CLOUD_PROJECT": "p"}
    choice = choose(env)
    assert choice.backend == "vertex" and choice.credential.kind == "access-token"
    assert "GOOGLE_GENAI_USE_VERTEXAI" in choice.reason
    assert any(alt.startswith("gemini-api:") for alt in choice.alternatives)
    assert choice.credential.auth.headers()["x-goog-user-project"] == "p"


def test_explicit_backend_without_credential_lists_alternatives(base_env: dict) -> None:
    with pytest.raises(errors.CredentialsError) as caught:
        choose({**base_env, "GEMINI_API_KEY": GEMINI}, {"backend": "vertex"})
    assert "gemini-api: gemini-api-key from env:GEMINI_API_KEY" in caught.value.hint
    assert caught.value.exit_code == 3


def test_adc_file_needs_a_project(base_env: dict, tmp_path: Path) -> None:
    gcloud = Path(base_env["HOME"]) / ".config" / "gcloud"
    gcloud.mkdir(parents=True)
    (gcloud / "application_default_credentials.json").write_text(json.dumps(
        {"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "1//refreshtoken0000"}))
    with pytest.raises(errors.CredentialsError) as caught:
        choose(base_env)
    assert "no project" in json.dumps(caught.value.details)
    choice = choose({**base_env, "GOOGLE_CLOUD_PROJECT": "p"})
    assert choice.backend == "vertex" and choice.credential.kind == "authorized-user"
    assert choice.credential.source.startswith("adc:")


def test_proxy_only_when_configured_and_never_for_video(base_env: dict) -> None:
    with pytest.raises(errors.CredentialsError):
        choose(base_env)
    choice = choose({**base_env, "CLIPROXY_URL": "http://127.0.0.1:8317"})
    assert choice.backend == "cliproxy" and choice.credential.auth.headers() == {
        "Authorization": "Bearer ccs-internal-managed"}
    with pytest.raises(errors.UsageError) as caught:
        choose({**base_env, "CLIPROXY_URL": "http://127.0.0.1:8317"}, kind="video")
    assert "Omni" in caught.value.hint and "Veo" in caught.value.hint


def test_ccs_config_is_discovered(base_env: dict) -> None:
    ccs = Path(base_env["HOME"]) / ".ccs" / "cliproxy"
    ccs.mkdir(parents=True)
    (ccs / "config.yaml").write_text("port: 18317\napi-keys:\n  - ccs-internal-managed\n  - mine\n")
    choice = choose(base_env)
    assert choice.backend == "cliproxy" and choice.credential.auth.url == "http://127.0.0.1:18317"


def test_cliproxy_token_file_is_a_vertex_source(base_env: dict) -> None:
    auth_dir = Path(base_env["HOME"]) / ".cli-proxy-api"
    auth_dir.mkdir()
    (auth_dir / "antigravity-user.json").write_text(json.dumps(
        {"type": "antigravity", "access_token": "ya29.from-proxy-file", "expired": "2999-01-01T00:00:00Z",
         "project_id": "proxy-proj"}))
    choice = choose(base_env)
    assert choice.backend == "vertex" and choice.credential.kind == "token-file"
    assert choice.project_id == "proxy-proj"
    assert choice.credential.auth.headers()["Authorization"] == "Bearer ya29.from-proxy-file"


def test_expired_unrefreshable_token_file_names_the_fix(base_env: dict) -> None:
    auth_dir = Path(base_env["HOME"]) / ".cli-proxy-api"
    auth_dir.mkdir()
    (auth_dir / "antigravity-user.json").write_text(json.dumps(
        {"type": "antigravity", "access_token": "ya29.old-token-0000", "expired": "2001-01-01T00:00:00Z",
         "project_id": "p"}))
    choice = choose(base_env)
    with pytest.raises(errors.CredentialsError) as caught:
        choice.credential.auth.headers()
    assert "expired" in caught.value.message


# -- token refresh through our own session -------------------------------------

def test_service_account_refresh_uses_our_token_request(fake, tmp_path: Path) -> None:
    from mediagen.config.credentials import load_credential_file

    credential = load_credential_file(fake.write_service_account(tmp_path / "sa.json"), "test")
    headers = credential.auth.headers()
    assert headers["authorization"].startswith("Bearer ya29.")
    assert type(credential.auth._token_request).__module__ == "mediagen.transport.google_auth"
    [grant] = fake.requests_for(service="oauth")
    assert b"jwt-bearer" in grant.body
    assert credential.auth.refresh() and len(fake.requests_for(service="oauth")) == 2


def test_token_request_applies_our_timeout(fake, tmp_path: Path) -> None:
    import time

    import google.auth.exceptions
    from google.oauth2 import service_account

    from mediagen.transport.google_auth import token_request

    creds = service_account.Credentials.from_service_account_file(
        str(fake.write_service_account(tmp_path / "sa.json")),
        scopes=["https://www.googleapis.com/auth/cloud-platform"])
    fake.add_fault(service="oauth", delay_s=1.5)
    started = time.monotonic()
    with pytest.raises(google.auth.exceptions.TransportError):
        creds.refresh(token_request(timeout=(2, 0.3)))
    assert time.monotonic() - started < 1.2
    time.sleep(1.3)     # let the fake finish the abandoned answer
    creds.refresh(token_request())
    assert creds.valid
