"""No silent fallback: a Vertex credential the user set explicitly never gives way to another account.

An explicit Vertex credential (``GOOGLE_OAUTH_ACCESS_TOKEN``,
``GOOGLE_APPLICATION_CREDENTIALS``, ``GOOGLE_GENAI_USE_VERTEXAI``) without a
project is an error (exit 3) that names the missing project and lists the
other credentials found, whatever else is configured (a CLIProxyAPI included,
which bills another account). gcloud's own ADC file without a project is only
skipped, and the chosen backend's reason says so.
"""
from __future__ import annotations

import json
from pathlib import Path

from mediagen.cli.image_gen import main


def proxy_env(base_env: dict, fake) -> dict:
    return {**base_env, "CLIPROXY_URL": fake.urls["cliproxy"], "GOOGLE_VERTEX_BASE_URL": fake.urls["vertex"]}


def write_adc(base_env: dict) -> Path:
    gcloud = Path(base_env["HOME"]) / ".config" / "gcloud"
    gcloud.mkdir(parents=True)
    path = gcloud / "application_default_credentials.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "c", "client_secret": "s",
                                "refresh_token": "1//refreshtoken0000"}))
    return path


def assert_refused_naming_the_project(result, fake, credential: str) -> None:
    assert result.code == 3 and result.doc["error"]["type"] == "credentials", result.doc
    error = result.doc["error"]
    text = error["message"] + " " + error["hint"]
    assert credential in text and "GOOGLE_CLOUD_PROJECT" in text
    assert any(alt.startswith("cliproxy:") for alt in error["details"]["alternatives"])
    assert "cliproxy:" in error["hint"]                        # the other credential found is listed
    assert not fake.requests                                   # nothing was sent anywhere


def test_access_token_without_project_is_refused_not_sent_to_the_proxy(run, fake, base_env) -> None:
    env = {**proxy_env(base_env, fake), "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.FAKE-raw-token"}
    result = run(main, "a red fox", env=env)
    assert_refused_naming_the_project(result, fake, "GOOGLE_OAUTH_ACCESS_TOKEN")


def test_key_file_without_project_is_refused_not_sent_to_the_proxy(run, fake, base_env, tmp_path) -> None:
    key = fake.write_service_account(tmp_path / "sa.json")
    info = json.loads(key.read_text())
    del info["project_id"]
    key.write_text(json.dumps(info))
    env = {**proxy_env(base_env, fake), "GOOGLE_APPLICATION_CREDENTIALS": str(key)}
    result = run(main, "a red fox", env=env)
    assert_refused_naming_the_project(result, fake, "GOOGLE_APPLICATION_CREDENTIALS")


def test_use_vertexai_with_adc_without_project_lists_the_other_credentials(run, fake, base_env) -> None:
    write_adc(base_env)
    env = {**proxy_env(base_env, fake), "GOOGLE_GENAI_USE_VERTEXAI": "true"}
    result = run(main, "a red fox", env=env)
    assert_refused_naming_the_project(result, fake, "GOOGLE_GENAI_USE_VERTEXAI")


def test_gcloud_adc_without_project_is_skipped_and_the_reason_says_so(run, fake, base_env) -> None:
    adc = write_adc(base_env)
    result = run(main, "a red fox", env=proxy_env(base_env, fake))
    assert result.code == 0, result.doc
    backend = result.doc["backend"]
    assert backend["name"] == "cliproxy"
    assert str(adc) in backend["reason"] and "no project" in backend["reason"]
