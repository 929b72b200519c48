"""Wire fields of long-running jobs: Batch API counts and listings, Omni ids and cancels, operation errors."""
from __future__ import annotations

from mediagen.wire import batch, gemini, interactions, veo


def test_batch_request_counts_and_listing() -> None:
    state = batch.parse_batch({"name": "batches/b1", "metadata": {
        "state": "BATCH_STATE_RUNNING",
        "batchStats": {"requestCount": "5", "successfulRequestCount": "2", "failedRequestCount": 1}}})
    assert (state.requests_total, state.requests_done) == (5, 3)
    assert batch.parse_batch({"name": "batches/b2"}).requests_total is None
    assert batch.list_params() == {"pageSize": "100"}
    assert batch.list_params(10, "tok") == {"pageSize": "10", "pageToken": "tok"}
    listing = {"operations": [{"name": "batches/a", "metadata": {"displayName": "imgb-1"}},
                              {"name": "batches/b", "metadata": {"displayName": "imgb-2"}}]}
    assert batch.named_batch(listing, "imgb-2") == "batches/b"
    assert batch.named_batch({"batches": [{"name": "batches/c", "displayName": "imgb-3"}]}, "imgb-3") == "batches/c"
    assert batch.named_batch(listing, "imgb-9") is None and batch.named_batch({}, "imgb-1") is None
    assert (batch.cancel_path("batches/a"), batch.cancel_body()) == ("batches/a:cancel", {})


def test_interaction_ids_cancels_and_safety_errors() -> None:
    assert interactions.interaction_id({"id": "v1_abc", "status": "in_progress"}) == "v1_abc"
    assert interactions.interaction_id({"status": "in_progress"}) is None
    assert interactions.cancel_url("http://h/v1beta/interactions/v1_abc") == "http://h/v1beta/interactions/v1_abc/cancel"
    assert interactions.cancel_body() == {}
    assert interactions.is_safety_error({"code": "SAFETY", "message": "x"})
    assert interactions.is_safety_error({"message": "Blocked by Responsible AI practices"})
    assert not interactions.is_safety_error({"code": "INTERNAL", "message": "try again"})


def test_operation_error_code_names_and_prompt_tokens() -> None:
    assert veo.error_code_name({"code": 3}) == "INVALID_ARGUMENT"
    assert veo.error_code_name({"code": 42}) == "42"
    assert veo.error_code_name({"code": "RESOURCE_EXHAUSTED"}) == "RESOURCE_EXHAUSTED"
    assert veo.error_code_name({}) == "error"
    assert gemini.prompt_token_count({"promptTokenCount": 12, "totalTokenCount": 30}) == 12
    assert gemini.prompt_token_count({}) == 0 and gemini.prompt_token_count(None) == 0
