"""What estimate_cost.py, the presets and dry runs promise: no meaningless flags, the cap refuses (exit 9), the
Batch API price as the headline, a draft preset that is the cheapest choice, price notes with public sources,
and the settings summary a preview shows."""
from __future__ import annotations

import re

import pytest
import yaml

from mediagen.catalog import Catalog
from mediagen.cli import estimate_cost, image_gen, video_gen
from mediagen.config.presets import PRESETS_DIR, get_preset, load_presets
from tests.conftest import GEMINI_KEY, TODAY

CATALOG = Catalog.load(today=__import__("datetime").date.fromisoformat(TODAY))


@pytest.mark.parametrize("argv", [("image", "-o", "out.png"), ("video", "-o", "x.mp4"),
                                  ("shotlist", "s.yaml", "-o", "x"), ("batch", "p.txt", "--output", "x")])
def test_estimate_cost_refuses_an_output_flag(run, base_env, argv) -> None:
    result = run(estimate_cost.main, *argv, env=base_env)
    assert result.code == 2 and result.doc["error"]["type"] == "usage"


@pytest.mark.parametrize("kind, argv", [("image", ("-n", "4")), ("video", ("--duration", "8"))])
def test_estimate_cost_under_a_lower_max_cost_exits_9_with_the_estimate(run, base_env, kind, argv) -> None:
    priced = run(estimate_cost.main, kind, *argv, env=base_env)
    total = priced.doc["total_usd"]
    assert priced.code == 0 and total > 0.1
    refused = run(estimate_cost.main, kind, *argv, "--max-cost", f"{total / 2:.4f}", env=base_env)
    assert refused.code == 9 and refused.doc["error"]["type"] == "budget_exceeded"
    assert refused.doc["total_usd"] == pytest.approx(total)              # the estimate is still shown
    covered = run(estimate_cost.main, kind, *argv, "--max-cost", f"{total * 2:.4f}", env=base_env)
    assert covered.code == 0 and covered.doc["total_usd"] == pytest.approx(total)


def test_estimate_batch_via_the_batch_api_headlines_the_discounted_price(run, base_env, tmp_path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red fox\na blue bird\na green frog\n")
    online = run(estimate_cost.main, "batch", str(prompts), env=base_env).doc
    batch = run(estimate_cost.main, "batch", str(prompts), "--via", "batch-api", env=base_env).doc
    assert online["total_usd"] == online["cost"]["estimate_usd"] == pytest.approx(3 * 0.067)
    assert batch["total_usd"] == batch["cost"]["estimate_usd"] == pytest.approx(3 * 0.0335)
    assert batch["cost"]["standard_usd"] == pytest.approx(online["total_usd"])
    assert batch["via"] == "batch-api" and online["via"] == "online"


def _price(request: dict) -> float:
    return CATALOG.estimate(request).usd


def _current_choices(backend: str) -> list[float]:
    """Every price a served, non-deprecated image model offers on ``backend`` (one image)."""
    prices = []
    for model in CATALOG.models("image"):
        entry = model.backends.get(backend)
        if entry is None or not entry.served or entry.status not in ("ga", "preview"):
            continue
        for size in model.capabilities_for(backend).get("image_sizes") or [None]:
            request = {"kind": "image", "model": model.id, "backend": backend, "count": 1,
                       **({"image_size": size} if size else {})}
            if not [p for p in CATALOG.validate(request) if p.severity == "error"]:
                prices.append(_price(request))
    return prices


@pytest.mark.parametrize("backend", ["gemini-api", "vertex", "cliproxy"])
def test_the_draft_preset_is_the_cheapest_current_choice(backend) -> None:
    draft = get_preset("image", "draft").values_for(backend)
    default = _price({"kind": "image", "backend": backend, "model": CATALOG.default_model("image", backend)})
    cost = _price({"kind": "image", "backend": backend, "count": 1, **draft})
    cheapest = min(_current_choices(backend))
    assert cost == pytest.approx(cheapest) and cost <= default
    if cheapest < default:
        assert cost < default, f"draft costs {cost}, the default {default}"


def test_vertex_and_proxy_drafts_cost_less_than_their_defaults() -> None:
    for backend in ("vertex", "cliproxy"):
        draft = get_preset("image", "draft").values_for(backend)
        default = _price({"kind": "image", "backend": backend, "model": CATALOG.default_model("image", backend)})
        assert _price({"kind": "image", "backend": backend, **draft}) < default


def test_price_notes_cite_public_sources_not_internal_names() -> None:
    data = yaml.safe_load((PRESETS_DIR / "models.yaml").read_text())
    notes = []
    for model in data["models"]:
        def walk(value):
            if isinstance(value, dict):
                for key, inner in value.items():
                    notes.append(inner) if key == "notes" else walk(inner)
        walk(model.get("pricing") or {})
    assert notes
    for note in notes:
        assert not re.search(r"\bthe (references|sources)\b|research notes|/work/", note), note
        assert not re.search(r"(?<!github\.com/)mordor-forge", note), note


def test_the_extend_preset_names_the_real_flag() -> None:
    description = load_presets("video")["extend"].description
    assert "--extend-video" in description and not re.search(r"--extend(?!-video)", description)


def test_a_dry_run_carries_the_preview_settings(run, fake, fake_env) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    image = run(image_gen.main, "a fox", "--preset", "thumbnail", "-n", "2", "--dry-run", env=env).doc
    shown = image["settings"]
    assert set(shown) == {"model", "aspect_ratio", "image_size", "count", "preset", "backend"}
    assert shown["aspect_ratio"] == {"value": "16:9", "source": "preset:thumbnail"}
    assert shown["count"] == {"value": 2, "source": "cli"} and shown["image_size"]["value"] == "1K"
    assert shown["model"]["value"] == image["model"]["id"] and shown["model"]["source"] == "catalog"
    assert shown["backend"]["value"] == "gemini-api" and "GEMINI_API_KEY" in shown["backend"]["source"]
    video = run(video_gen.main, "a fox runs", "--duration", "6", "--dry-run", env=env).doc["settings"]
    assert video["duration"] == {"value": 6, "source": "cli"} and video["mode"]["value"] == "text_to_video"
    assert not fake.requests
