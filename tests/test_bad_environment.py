"""Bad values in the environment are configuration errors (exit 3) that name the variable, never its value.

A base URL that is not an http(s) URL, or a key holding a newline or another
control character, is refused while the settings are read (one place), before
anything is sent; the escaped form of a registered secret (``\\n`` inside it as
JSON or ``repr`` shows it) is masked like the secret itself.
"""
from __future__ import annotations

import json

import pytest

from mediagen.cli.image_gen import main
from mediagen.core.redaction import redact, redact_text, register_secret
from tests.conftest import GEMINI_KEY

BAD_URLS = ("not a url", "ftp://x", "http://", "https://host:port/")
URL_VARIABLES = ("GOOGLE_GEMINI_BASE_URL", "GOOGLE_VERTEX_BASE_URL", "STORAGE_EMULATOR_HOST", "CLIPROXY_URL")


def assert_config_error_naming(result, fake, variable: str, *hidden: str) -> None:
    assert result.code == 3 and result.doc["error"]["type"] == "config", result.doc
    assert variable in result.doc["error"]["message"]
    for text in hidden:
        assert text not in result.stdout and text not in result.stderr
    assert not fake.requests


@pytest.mark.parametrize("variable", URL_VARIABLES)
@pytest.mark.parametrize("value", BAD_URLS)
def test_a_base_url_that_is_not_an_http_url_names_the_variable(run, fake, fake_env, variable, value) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY, variable: value}
    result = run(main, "a red fox", env=env)
    assert_config_error_naming(result, fake, variable, value)


@pytest.mark.parametrize("variable, key, backend", [
    ("GEMINI_API_KEY", "AIzaSyFAKE-test\nkey-0000000000000000000", "gemini-api"),
    ("GOOGLE_API_KEY", "AQ.FAKE-express\tkey-part-two", "vertex"),
    ("CLIPROXY_API_KEY", "proxy-secret\nsecond-half", "cliproxy"),
    ("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.FAKE-raw\x07token-second-half", "vertex"),
])
def test_a_key_with_a_control_character_names_the_variable_and_never_shows_the_key(
        run, fake, fake_env, variable, key, backend) -> None:
    env = {**fake_env, variable: key, "GOOGLE_CLOUD_PROJECT": "p", "CLIPROXY_URL": fake.urls["cliproxy"]}
    result = run(main, "a red fox", "--backend", backend, env=env)
    first, second = key.split(key[next(i for i, c in enumerate(key) if ord(c) < 32)])
    assert_config_error_naming(result, fake, variable, first, second, json.dumps(key)[1:-1])


def test_redaction_masks_the_escaped_forms_of_a_secret() -> None:
    secret = "line-one-secret\nline-two-secret"
    register_secret(secret)
    for shown in (json.dumps({"key": secret}), repr(secret), json.dumps(repr(secret)), secret):
        masked = redact_text(shown)
        assert "line-one-secret" not in masked and "line-two-secret" not in masked, masked
    assert "line-two" not in json.dumps(redact({"message": f"bad header {secret!r}"}))


NUMBER_VARIABLES = ("MEDIAGEN_MAX_COST", "MEDIAGEN_POLL_FIRST_S", "MEDIAGEN_POLL_INTERVAL_S",
                    "MEDIAGEN_PROGRESS_INTERVAL_S", "MEDIAGEN_URL_DEADLINE_S")


@pytest.mark.parametrize("variable", NUMBER_VARIABLES)
@pytest.mark.parametrize("value", ["nan", "-1", "inf"])
def test_a_number_setting_that_cannot_be_used_names_the_variable(run, fake, fake_env, variable, value) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY, variable: value}
    result = run(main, "a red fox", env=env)
    assert_config_error_naming(result, fake, variable)


def test_a_cost_cap_that_is_not_a_number_is_refused_wherever_it_is_set(run, fake, fake_env, tmp_path) -> None:
    from mediagen.cli.storyboard import main as storyboard_main

    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    flag = run(main, "a red fox", "--max-cost", "nan", env=env)
    assert flag.code == 2 and flag.doc["error"]["type"] == "usage" and "--max-cost" in flag.doc["error"]["message"]
    config = tmp_path / "mediagen.yaml"
    config.write_text("max_cost: .nan\n")
    from_file = run(main, "a red fox", "--config", str(config), env=env)
    assert from_file.code == 3 and str(config) in from_file.doc["error"]["message"], from_file.doc
    board = tmp_path / "board.yaml"
    board.write_text("version: 1\ntitle: Cat\nshots:\n  - {id: s1, prompt: a cat walks, duration: 4, transition: cut}\n")
    approved_by_nan = run(storyboard_main, str(board), "--max-cost", "nan", env=env)
    assert approved_by_nan.code == 2, approved_by_nan.doc
    assert not [r for r in fake.requests if r.method == "POST"]


@pytest.mark.parametrize("variable, value", [
    ("GOOGLE_CLOUD_LOCATION", "evil.example#"),             # would make the Vertex host evil.example
    ("GOOGLE_CLOUD_LOCATION", "us-central1/../x"),
    ("GOOGLE_CLOUD_PROJECT", "../other-project"),
    ("GOOGLE_CLOUD_PROJECT", "p?alt=media"),
    ("MEDIAGEN_GEMINI_API_VERSION", "v1beta/../../upload"),
])
def test_a_url_part_that_is_not_a_name_names_the_variable(run, fake, fake_env, variable, value) -> None:
    env = {**fake_env, "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.FAKE-raw-token", "GOOGLE_CLOUD_PROJECT": "fake-project",
           variable: value}
    backend = "gemini-api" if variable == "MEDIAGEN_GEMINI_API_VERSION" else "vertex"
    env = {**env, "GEMINI_API_KEY": GEMINI_KEY} if backend == "gemini-api" else env
    result = run(main, "a red fox", "--backend", backend, "-m", "zz-unknown-model", env=env)
    assert_config_error_naming(result, fake, variable)
    flag = run(main, "a red fox", "--backend", "vertex", "-m", "zz-unknown-model", "--location", "evil.example#",
               env=env)
    assert flag.code == 2 and "--location" in flag.doc["error"]["message"], flag.doc
