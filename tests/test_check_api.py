"""check_api.py against the fake service: every credential kind, the right wire, no secrets."""
from __future__ import annotations

import json
from pathlib import Path

from mediagen.cli.check_api import main
from tests.conftest import EXPRESS_KEY, GEMINI_KEY


def assert_no_secrets(result, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.stdout and secret not in result.stderr


def test_no_credentials_names_every_kind(run, base_env) -> None:
    result = run(main, env=base_env)
    assert result.code == 3 and result.doc["error"]["type"] == "credentials"
    hint = result.doc["error"]["hint"]
    for needle in ("GEMINI_API_KEY", "AQ.", "GOOGLE_APPLICATION_CREDENTIALS", "application-default login",
                   "GOOGLE_OAUTH_ACCESS_TOKEN", "CLIPROXY_URL"):
        assert needle in hint


def test_gemini_api_key(run, fake, fake_env) -> None:
    result = run(main, env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 0, result.doc
    assert result.doc["backend"]["name"] == "gemini-api" and result.doc["key_type"] == "gemini-api-key"
    first = fake.requests_for(service="gemini")[0]
    assert first.method == "GET" and first.path == "/v1beta/models" and first.query["pageSize"] == ["1"]
    assert first.headers["x-goog-api-key"] == GEMINI_KEY and "key" not in first.query
    visible = {m["id"]: m["visible"] for m in result.doc["models"]}
    assert visible["gemini-nano-banana-2.1"] is True
    assert_no_secrets(result, GEMINI_KEY)


def test_bad_gemini_key_is_a_credentials_error(run, fake, fake_env) -> None:
    result = run(main, env={**fake_env, "GEMINI_API_KEY": "AIzaSyWRONG-key-00000000000000000000"})
    assert result.code == 3 and result.doc["error"]["status"] == 400
    assert "aistudio" in result.doc["error"]["hint"]


def test_express_key(run, fake, fake_env) -> None:
    result = run(main, env={**fake_env, "GOOGLE_API_KEY": EXPRESS_KEY})
    assert result.code == 0, result.doc
    assert result.doc["backend"]["name"] == "vertex" and result.doc["key_type"] == "express-key"
    calls = fake.requests_for(service="vertex")
    assert calls and all(c.headers.get("x-goog-api-key") == EXPRESS_KEY for c in calls)
    assert all(c.path.startswith("/v1beta1/publishers/google/models/") for c in calls)
    assert not fake.requests_for(service="gemini")
    assert_no_secrets(result, EXPRESS_KEY)


def test_service_account_mints_token_at_its_token_uri(run, fake, fake_env, tmp_path: Path) -> None:
    key_file = fake.write_service_account(tmp_path / "sa.json")
    result = run(main, env={**fake_env, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)})
    assert result.code == 0, result.doc
    assert result.doc["backend"]["credential"]["kind"] == "service-account"
    assert result.doc["backend"]["project_id"] == "fake-project"
    token_calls = fake.requests_for(service="oauth")
    assert len(token_calls) == 1 and b"jwt-bearer" in token_calls[0].body
    bearer = fake.requests_for(service="vertex")[0].headers["authorization"]
    assert bearer.startswith("Bearer ya29.")
    private_key = json.loads(key_file.read_text())["private_key"]
    assert_no_secrets(result, bearer.split()[1], private_key[40:80])


def test_adc_authorized_user(run, fake, fake_env, tmp_path: Path) -> None:
    gcloud = Path(fake_env["HOME"]) / ".config" / "gcloud"
    adc = fake.write_authorized_user(gcloud / "application_default_credentials.json")
    result = run(main, env={**fake_env, "GOOGLE_CLOUD_PROJECT": "fake-project"})
    assert result.code == 0, result.doc
    assert result.doc["backend"]["credential"]["kind"] == "authorized-user"
    grant = fake.requests_for(service="oauth")[0]
    assert b"grant_type=refresh_token" in grant.body
    vertex = fake.requests_for(service="vertex")[0]
    assert vertex.headers["x-goog-user-project"] == "fake-project"
    info = json.loads(adc.read_text())
    assert_no_secrets(result, info["refresh_token"], info["client_secret"], vertex.headers["authorization"][7:])


def test_proxy(run, fake, base_env) -> None:
    result = run(main, env={**base_env, "CLIPROXY_URL": fake.urls["cliproxy"]})
    assert result.code == 0, result.doc
    assert result.doc["backend"]["name"] == "cliproxy"
    listing = [r for r in fake.requests_for(service="cliproxy") if r.path == "/v1/models"][0]
    assert listing.headers["authorization"] == "Bearer ccs-internal-managed"
    assert "gemini-3-pro-image-preview" in result.doc["proxy"]["models"]


def test_proxy_wrong_key(run, fake, base_env) -> None:
    result = run(main, env={**base_env, "CLIPROXY_URL": fake.urls["cliproxy"], "CLIPROXY_API_KEY": "nope-nope"})
    assert result.code == 3 and "CLIPROXY_API_KEY" in result.doc["error"]["hint"]


def test_proxy_down_is_reported_when_it_is_not_the_chosen_backend(run, fake, fake_env) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY, "CLIPROXY_URL": "http://127.0.0.1:9"}
    result = run(main, env=env)
    assert result.code == 0
    assert result.doc["proxy"]["ok"] is False and any("CLIProxyAPI" in w for w in result.doc["warnings"])


def test_show_defaults_sends_nothing(run, fake, fake_env) -> None:
    result = run(main, "--show-defaults", env={**fake_env, "GEMINI_API_KEY": GEMINI_KEY})
    assert result.code == 0 and result.doc["settings"]["api_key"]["source"] == "env:GEMINI_API_KEY"
    assert not fake.requests
    assert_no_secrets(result, GEMINI_KEY)
