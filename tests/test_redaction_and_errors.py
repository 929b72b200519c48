"""Secrets never leak through redaction; every error shape maps to one exception."""
from __future__ import annotations

import json
import re
from pathlib import Path

from mediagen.core import errors
from mediagen.transport.http_errors import error_for_status, parse_error_body, parse_duration
from mediagen.core.redaction import redact, redact_headers, redact_text, register_secret


def test_patterns_and_registered_secrets_are_masked() -> None:
    register_secret("custom-secret-value-123")
    text = ("key AIzaSyABCDEFGHIJKLMNOPQRSTUVWX token ya29.a0Abcdefghij express AQ.Ab8RN6abcdef "
            "url https://x/y?alt=media&key=plainkey123 Bearer abcdefghijklmnop and custom-secret-value-123")
    masked = redact_text(text)
    for secret in ("AIzaSyABCDEF", "ya29.a0Ab", "AQ.Ab8R", "plainkey123", "abcdefghijklmnop", "custom-secret"):
        assert secret not in masked
    assert redact_headers({"x-goog-api-key": "k", "Authorization": "Bearer t", "Accept": "a"}) == {
        "x-goog-api-key": "***", "Authorization": "***", "Accept": "a"}
    assert redact({"api_key": "abc", "nested": [{"access_token": "tok"}], "key": "req-1"}) == {
        "api_key": "***", "nested": [{"access_token": "***"}], "key": "req-1"}


def test_google_envelope_with_retry_info_and_daily_quota() -> None:
    body = json.dumps({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "slow down", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
         "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"}]}}).encode()
    parsed = parse_error_body(body)
    assert parsed.code == "RESOURCE_EXHAUSTED" and parsed.retry_delay_s == 34.0 and parsed.per_day_quota
    error = error_for_status(429, parsed, method="POST", url="https://h/x?key=AIzaSyLEAKLEAKLEAKLEAK")
    assert isinstance(error, errors.RateLimited) and "per-day" in error.hint
    assert "LEAK" not in json.dumps(error.to_dict())


def test_other_error_shapes() -> None:
    assert parse_error_body(b'{"error":"Invalid API key"}').message == "Invalid API key"
    interactions = parse_error_body(b'{"error":{"code":"invalid_request","message":"bad duration"}}')
    assert interactions.code == "invalid_request" and interactions.message == "bad duration"
    listed = parse_error_body(b'[{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"m"}}]')
    assert listed.code == "INVALID_ARGUMENT"
    oauth = parse_error_body(b'{"error":"invalid_grant","error_description":"Token has been expired"}')
    assert oauth.message == "Token has been expired"
    html = parse_error_body(b"<html><body><h1>502 Bad Gateway</h1></body></html>")
    assert html.message == "502 Bad Gateway"
    assert parse_error_body(b"").message == "empty error body"


def test_status_classes_and_exit_codes() -> None:
    body = parse_error_body(b"{}")
    cases = {400: (errors.ClientError, 4), 401: (errors.AuthError, 3), 403: (errors.AuthError, 3), 404: (errors.NotFoundError, 4),
             429: (errors.RateLimited, 5), 500: (errors.ServerError, 5), 503: (errors.ServerError, 5),
             504: (errors.RequestTimeout, 6)}
    for status, (cls, code) in cases.items():
        error = error_for_status(status, body)
        assert type(error) is cls and error.exit_code == code and error.hint


def test_durations() -> None:
    assert parse_duration("0.5s") == 0.5 and parse_duration("34s") == 34 and parse_duration(3) == 3.0
    assert parse_duration("soon") is None


def test_exit_code_table_is_distinct() -> None:
    values = [c.value for c in errors.ExitCode]
    assert len(values) == len(set(values))
    assert errors.exit_code_for(KeyboardInterrupt()) == 130
    assert errors.exit_code_for(ValueError()) == 1


def test_readme_exit_code_table_is_the_enum() -> None:
    from mediagen.core.errors import EXIT_CODE_MEANINGS, ExitCode

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| (.+) \|$", section, re.MULTILINE)}
    assert set(EXIT_CODE_MEANINGS) == set(ExitCode)
    assert rows == {int(code): text for code, text in EXIT_CODE_MEANINGS.items()}
