"""Shared fixtures: a hermetic environment, the fake Google service, and a script runner.

Every test runs with a temporary HOME and working directory and none of the
developer's real credentials. Scripts are called in-process through their
``main(argv, env=, stdout=, stderr=)`` and every stdout document is checked
against the output contract's JSON Schema.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULT_SCHEMA = json.loads((ROOT / "scripts" / "mediagen" / "schemas" / "result.schema.json").read_text())

# Variables that would leak a developer's real setup into a test.
_LEAKY_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE",
              "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GOOGLE_APPLICATION_CREDENTIALS",
              "GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_VERTEX_BASE_URL",
              "STORAGE_EMULATOR_HOST", "CLIPROXY_URL", "CLIPROXY_API_KEY", "MEDIAGEN_CONFIG",
              "MEDIAGEN_BACKEND", "MEDIAGEN_LEDGER", "MEDIAGEN_DEBUG", "CLOUDSDK_CONFIG", "XDG_CONFIG_HOME",
              "XDG_STATE_HOME", "XDG_CACHE_HOME", "MEDIAGEN_CATALOG_OVERRIDE",
               "MEDIAGEN_JOB_STORE", "MEDIAGEN_SESSION_STORE", "MEDIAGEN_OUTPUT_DIR",
              "MEDIAGEN_TODAY",
              # a developer's proxy or CA bundle would route the fake's traffic elsewhere
              "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

GEMINI_KEY = "AIzaSyFAKE-test-key-000000000000000000"
EXPRESS_KEY = "AQ.FAKE-express-key"
# Video and batch jobs poll at once and then every 50 ms against the fake.
FAST_POLLS = {"MEDIAGEN_POLL_FIRST_S": "0", "MEDIAGEN_POLL_INTERVAL_S": "0.05",
              "MEDIAGEN_POLLS_PER_MINUTE": "60000"}
# The day the catalog's lifecycle dates are read against, so passing dates never change a test's outcome.
TODAY = "2026-12-05"


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME and cwd, and no real credentials in os.environ."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return work


@pytest.fixture(scope="session")
def fake_service():
    """One fake Google service for the whole session (reset before each test that uses it)."""
    from tests.fake_google import FakeGoogle

    fake = FakeGoogle()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(fake_service):
    """The fake Google service, freshly reset."""
    fake_service.reset()
    return fake_service


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """An environment with only a private HOME and PATH (no credentials); state and caches under tmp_path."""
    return {"HOME": str(tmp_path / "home"), "PATH": os.environ.get("PATH", ""),
            "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "MEDIAGEN_TODAY": TODAY}


@pytest.fixture
def fake_env(base_env: dict[str, str], fake) -> dict[str, str]:
    """Base URLs of every surface pointed at the fake (no credential yet)."""
    return {**base_env,
            "GOOGLE_GEMINI_BASE_URL": fake.urls["gemini"],
            "GOOGLE_VERTEX_BASE_URL": fake.urls["vertex"],
            "STORAGE_EMULATOR_HOST": fake.urls["gcs"]}


@pytest.fixture
def omni_env(fake_env) -> dict[str, str]:
    """A Gemini API key only: video goes to Gemini Omni."""
    return {**fake_env, **FAST_POLLS, "GEMINI_API_KEY": GEMINI_KEY}


@pytest.fixture
def vertex_env(fake, fake_env, tmp_path: Path) -> dict[str, str]:
    """A service account whose token endpoint is the fake: Vertex (Veo for video)."""
    key_file = fake.write_service_account(tmp_path / "sa.json")
    return {**fake_env, **FAST_POLLS, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}


@dataclass
class Result:
    """What one in-process script run produced."""

    code: int
    doc: dict[str, Any]
    stdout: str
    stderr: str


def run_main(main: Callable[..., int], *argv: str, env: dict[str, str]) -> Result:
    """Run a script's ``main`` in-process; assert stdout is one contract-valid JSON document."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), env=env, stdout=out, stderr=err)
    text = out.getvalue()
    if "--help" in argv or "--version" in argv:
        return Result(code, {}, text, err.getvalue())
    doc = json.loads(text)          # exactly one JSON document, nothing else
    jsonschema.validate(doc, RESULT_SCHEMA)
    return Result(code, doc, text, err.getvalue())


@pytest.fixture
def run():
    """``run(main, *argv, env=...)`` -> Result."""
    return run_main


@pytest.fixture
def mcp_env(fake_env) -> dict[str, str]:
    """The environment of an MCP server process against the fake (the package on its path)."""
    return {**fake_env, **FAST_POLLS, "GEMINI_API_KEY": GEMINI_KEY, "PYTHONPATH": str(ROOT / "scripts")}


@pytest.fixture
def server_log(tmp_path: Path) -> Path:
    """Where an MCP server process's stderr goes."""
    return tmp_path / "server-stderr.log"
