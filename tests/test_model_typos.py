"""A model id one or two letters from a catalog id or alias is a typo: refused (exit 2) naming the match,
unless ``--allow-unknown-model`` (``allow_unknown_model``) says to send it; other unknown ids still pass with
the "unvalidated, unpriced" warning."""
from __future__ import annotations

import pytest

from mediagen.catalog import Catalog
from mediagen.cli.estimate_cost import main as estimate_main
from mediagen.cli.image_gen import main as image_main
from mediagen.cli.video_gen import main as video_main
from mediagen.core.errors import ExitCode, ModelUnavailable, ValidationError
from mediagen.mcp.toolset import build_specs
from tests.conftest import GEMINI_KEY, TODAY

CATALOG = Catalog.load(today=TODAY)


@pytest.mark.parametrize("typo,meant", [
    ("gemini-3-pro-imag", "gemini-3-pro-image"),         # one letter short of an id
    ("nano-banan", "nano-banana"),                        # an alias
    ("Gemini-Omni-1.1-Flsh", "gemini-omni-1.1-flash"),    # case does not count
    ("veo-3.2-generate-001", "veo-3.1-generate-001"),     # served models come first
])
def test_a_near_miss_is_refused_naming_the_match(typo, meant) -> None:
    with pytest.raises(ValidationError) as caught:
        CATALOG.resolve(typo, "vertex")
    error = caught.value
    assert not isinstance(error, ModelUnavailable) and error.exit_code == ExitCode.USAGE
    assert f"did you mean {meant}" in error.message
    assert f"--model {meant}" in error.hint and "--allow-unknown-model" in error.hint
    assert error.details["did_you_mean"][0] == meant


def test_allow_unknown_sends_it_unvalidated_and_far_ids_pass_as_before() -> None:
    allowed = CATALOG.resolve("gemini-3-pro-imag", "gemini-api", allow_unknown=True)
    assert allowed.model is None and allowed.wire_id == "gemini-3-pro-imag"
    assert "unvalidated and unpriced" in allowed.warnings[0]
    far = CATALOG.resolve("gpt-image-1", "gemini-api")
    assert far.model is None and "unvalidated and unpriced" in far.warnings[0]


def test_image_gen_refuses_a_typo_before_sending_and_sends_it_when_allowed(run, fake, fake_env) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    refused = run(image_main, "a fox", "--model", "gemini-3-pro-imag", env=env)
    assert refused.code == 2 and "did you mean gemini-3-pro-image" in refused.doc["error"]["message"]
    assert not fake.requests
    sent = run(image_main, "a fox", "--model", "gemini-3-pro-imag", "--allow-unknown-model", env=env)
    assert sent.code == 4                      # the fake does not know it either: it was sent
    assert [r.path for r in fake.requests if r.method == "POST"] == \
        ["/v1beta/models/gemini-3-pro-imag:generateContent"]
    assert any("unvalidated and unpriced" in w for w in sent.doc["warnings"])


def test_video_gen_and_estimate_cost_refuse_a_typo(run, fake, fake_env) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    video = run(video_main, "a fox", "--model", "omni-1.3", env=env)
    assert video.code == 2 and "did you mean omni-1.1 or omni-1.2" in video.doc["error"]["message"]
    estimate = run(estimate_main, "image", "--model", "imagen-5", env=env)
    assert estimate.code == 2 and "imagen-4" in estimate.doc["error"]["message"]
    assert not fake.requests


def test_the_mcp_generation_tools_take_allow_unknown_model() -> None:
    specs = build_specs({"image": {}, "video": {}})
    for tool in ("generate_image", "start_video"):
        prop = specs[tool].input_schema()["properties"]["allow_unknown_model"]
        assert prop["type"] == "boolean" and "typo" in prop["description"]
