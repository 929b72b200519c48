"""The retry policy over real HTTP to the fake: spend-safe creates, patient polls."""
from __future__ import annotations

import time
import pytest

from mediagen.core import errors
from mediagen.config.credentials import ApiKeyAuth
from mediagen.transport.http import HttpRequest, RetryPolicy, Transport
from tests.conftest import GEMINI_KEY

BODY = {"contents": [{"role": "user", "parts": [{"text": "a fox"}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}


def create(fake, **kw) -> HttpRequest:
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-nano-banana-2.1:generateContent"
    return HttpRequest("POST", url, json=BODY, billable=True, label="generateContent", **kw)


class Clock:
    """Records requested sleeps and really sleeps (so server-side timing stays honest)."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        time.sleep(seconds)


def test_429_with_retry_info_waits_then_succeeds(fake) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", status=429, retry_delay="1s")
    clock = Clock()
    started = time.monotonic()
    doc = Transport(sleep=clock).send_json(create(fake), ApiKeyAuth(GEMINI_KEY))
    assert doc["candidates"]
    assert clock.slept == [1.0] and time.monotonic() - started >= 0.95
    assert [r.status for r in fake.requests_for(path_contains=":generateContent")] == [429, 200]


def test_retry_after_header_is_honoured(fake) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", status=503, retry_after="0.2")
    clock = Clock()
    Transport(sleep=clock).send_json(create(fake), ApiKeyAuth(GEMINI_KEY))
    assert clock.slept == [0.2]


@pytest.mark.parametrize("status", [500, 504])
def test_create_is_not_retried_after_500_or_504(fake, status: int) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", status=status)
    with pytest.raises(errors.ApiError) as caught:
        Transport(sleep=Clock()).send(create(fake), ApiKeyAuth(GEMINI_KEY))
    assert caught.value.status == status and "billed" in caught.value.hint
    assert len(fake.requests_for(path_contains=":generateContent")) == 1


def test_create_is_not_retried_after_read_timeout(fake) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", delay_s=1.5)
    with pytest.raises(errors.RequestTimeout) as caught:
        Transport(sleep=Clock()).send(create(fake, read_timeout=0.3), ApiKeyAuth(GEMINI_KEY))
    assert "NOT retried" in caught.value.hint and caught.value.exit_code == 6
    time.sleep(1.3)     # let the fake finish answering the abandoned request
    assert len(fake.requests_for(path_contains=":generateContent")) == 1


def test_create_is_not_retried_after_a_reset_connection(fake) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", reset=True)
    with pytest.raises(errors.NetworkError):
        Transport(sleep=Clock()).send(create(fake), ApiKeyAuth(GEMINI_KEY))
    assert len(fake.requests_for(path_contains=":generateContent")) == 1


def test_refused_connection_is_retried_even_for_creates() -> None:
    clock = Clock()
    request = HttpRequest("POST", "http://127.0.0.1:9/v1beta/models/m:generateContent", json={}, billable=True)
    with pytest.raises(errors.NetworkError):
        Transport(retry=RetryPolicy(max_attempts=3, base_delay_s=0.01), sleep=clock).send(request)
    assert len(clock.slept) == 2


def test_polls_retry_transient_5xx_and_timeouts(fake) -> None:
    fake.add_fault(service="gemini", path_contains="/models", method="GET", status=500)
    fake.add_fault(service="gemini", path_contains="/models", method="GET", status=502)
    fake.add_fault(service="gemini", path_contains="/models", method="GET", delay_s=1.0)
    url = f"{fake.urls['gemini']}/v1beta/models"
    request = HttpRequest("GET", url, read_timeout=0.3, label="models.list")
    doc = Transport(retry=RetryPolicy(max_attempts=5, base_delay_s=0.01), sleep=Clock()).send_json(
        request, ApiKeyAuth(GEMINI_KEY))
    assert doc["models"]


def test_per_day_quota_is_not_retried(fake) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", status=429, retry_delay="1s",
                   quota_id="GenerateRequestsPerDayPerProjectPerModel")
    with pytest.raises(errors.RateLimited) as caught:
        Transport(sleep=Clock()).send(create(fake), ApiKeyAuth(GEMINI_KEY))
    assert "per-day" in caught.value.hint
    assert len(fake.requests_for(path_contains=":generateContent")) == 1


def test_too_long_server_delay_is_reported_not_obeyed(fake) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", status=429, retry_delay="3600s")
    clock = Clock()
    with pytest.raises(errors.RateLimited) as caught:
        Transport(sleep=clock).send(create(fake), ApiKeyAuth(GEMINI_KEY))
    assert clock.slept == [] and "3600" in caught.value.hint


def test_non_json_gateway_error_is_mapped(fake) -> None:
    fake.add_fault(service="gemini", path_contains=":generateContent", status=502, times=4)
    with pytest.raises(errors.ServerError) as caught:
        Transport(sleep=Clock()).send(create(fake), ApiKeyAuth(GEMINI_KEY))
    assert caught.value.status == 502 and "<" not in caught.value.message


def test_new_session_sizes_its_connection_pool() -> None:
    from mediagen.transport.http import new_session

    assert new_session().get_adapter("https://x")._pool_maxsize == 10       # requests' default
    sized = new_session(pool_size=32)
    assert sized.get_adapter("https://x")._pool_maxsize == 32
    assert sized.get_adapter("http://x")._pool_maxsize == 32
    transport = Transport(sized)
    assert transport.session is sized


def test_every_request_names_mediagen_and_its_version(run, fake, fake_env, tmp_path) -> None:
    """requests gives each session a "python-requests/x" agent; mediagen replaces it on every call,
    token mints included."""
    from mediagen import __version__
    from mediagen.cli.image_gen import main

    key_file = fake.write_service_account(tmp_path / "sa.json")
    result = run(main, "a red fox", env={**fake_env, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)})
    assert result.code == 0, result.doc
    Transport().send_json(HttpRequest("GET", f"{fake.urls['gemini']}/v1beta/models"), ApiKeyAuth(GEMINI_KEY))
    agents = {(r.service, r.headers.get("user-agent")) for r in fake.requests}
    assert {service for service, _ in agents} == {"oauth", "vertex", "gemini"}
    assert {agent for _, agent in agents} == {f"mediagen/{__version__}"}
