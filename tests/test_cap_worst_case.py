"""The cost cap holds against the worst case: billing the catalog is unsure of is capped at its maximum.

Whether a Gemini Omni extension bills the whole returned clip or only the new
seconds is uncertain (field news, December 2026). The estimate keeps the likely
figure (the new seconds) and carries the worst case beside it; ``--max-cost``
and approval compare against the worst case, for single videos, storyboards
and batches. When an actual cost still ends above the cap, the run warns and
its final ledger line says ``over_cap: true``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mediagen.catalog import Catalog
from mediagen.cli.batch_gen import main as batch_main
from mediagen.cli.storyboard import main as storyboard_main
from mediagen.cli.video_gen import main as video_main

CATALOG = Catalog.load()
PER_SECOND = 5792 * 17.5 / 1e6          # Omni at 720p, USD per second of returned video


def creates(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/interactions")]


def ledger_lines(env: dict) -> list[dict]:
    path = Path(env["XDG_STATE_HOME"]) / "mediagen" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- the catalog ---------------------------------------------------------------------------------

def test_omni_extension_estimate_carries_the_likely_and_the_worst_case() -> None:
    request = {"kind": "video", "backend": "gemini-api", "model": "gemini-omni-1.2-flash", "mode": "extend",
               "duration": 8, "resolution": "720p"}
    known = CATALOG.estimate({**request, "source_seconds": 8.0})
    assert known.usd == pytest.approx(8 * PER_SECOND)                    # the new seconds (likely)
    assert known.max_usd == pytest.approx(16 * PER_SECOND)               # the whole returned clip
    assert any("UNCERTAIN" in note and "whole returned clip" in note for note in known.notes)
    assert known.to_dict()["max_usd"] == pytest.approx(16 * PER_SECOND)
    unknown = CATALOG.estimate(request)                                   # the source's length not known
    assert unknown.max_usd == pytest.approx(30 * PER_SECOND)             # the longest clip 1.2 can return
    plain = CATALOG.estimate({**request, "mode": "text_to_video"})
    assert plain.max_usd == plain.usd and not any("whole returned clip" in n for n in plain.notes)


# -- single videos -------------------------------------------------------------------------------

def test_omni_extension_over_the_cap_in_the_worst_case_is_refused(run, fake, omni_env) -> None:
    first = run(video_main, "a cat walking", "--duration", "8", env=omni_env)
    assert first.code == 0, first.doc
    source = first.doc["videos"][0]["path"]
    fake.clear()
    refused = run(video_main, "the cat jumps onto a roof", "--extend-video", source, "--duration", "8",
                  "--max-cost", "1.00", env=omni_env)
    assert refused.code == 9 and refused.doc["error"]["type"] == "budget_exceeded", refused.doc
    assert not creates(fake)                                              # nothing was sent
    assert refused.doc["error"]["details"]["estimate_usd"] == pytest.approx(16 * PER_SECOND)
    assert "worst case" in refused.doc["error"]["message"]
    priced = run(video_main, "the cat jumps onto a roof", "--extend-video", source, "--duration", "8",
                 "--estimate-cost", env=omni_env)
    estimate = priced.doc["estimate"]
    assert estimate["usd"] == pytest.approx(8 * PER_SECOND) and estimate["max_usd"] == pytest.approx(16 * PER_SECOND)
    allowed = run(video_main, "the cat jumps onto a roof", "--extend-video", source, "--duration", "8",
                  "--max-cost", "1.70", env=omni_env)
    assert allowed.code == 0, allowed.doc
    assert allowed.doc["cost"]["actual_usd"] == pytest.approx(16 * PER_SECOND)      # the fake bills the whole clip
    assert "over_cap" not in ledger_lines(omni_env)[-1]


def test_actual_cost_over_the_cap_warns_and_flags_the_final_ledger_line(run, fake, omni_env) -> None:
    fake.config.video_seconds = 8                     # asked for 4 s, Google returns (and bills) 8 s
    result = run(video_main, "a cat walking", "--duration", "4", "--max-cost", "0.50", env=omni_env)
    assert result.code == 0, result.doc
    assert result.doc["cost"]["actual_usd"] == pytest.approx(8 * PER_SECOND)
    assert any("over the max cost" in w for w in result.doc["warnings"])
    assert "over the max cost" in result.stderr
    final = ledger_lines(omni_env)[-1]
    assert final["status"] == "succeeded" and final["over_cap"] is True and final["max_cost"] == 0.5
    within = run(video_main, "a cat walking", "--duration", "8", "--max-cost", "1.00", env=omni_env)
    assert within.code == 0 and "over_cap" not in ledger_lines(omni_env)[-1]


# -- storyboards -----------------------------------------------------------------------------------

def test_storyboard_budget_counts_an_extension_at_its_worst_case(run, fake, omni_env, tmp_path) -> None:
    shots = [{"id": "s1", "prompt": "a cat walks", "duration": 8, "transition": "cut"},
             {"id": "s2", "prompt": "it climbs a tree", "duration": 8, "transition": "extend"}]
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "title": "Cat", "style": "film", "shots": shots}))
    refused = run(storyboard_main, str(path), "--max-cost", "2.00", env=omni_env)
    assert refused.code == 9 and refused.doc["error"]["type"] == "budget_exceeded", refused.doc
    assert not creates(fake)
    budget = refused.doc["budget"]
    assert budget["to_spend_usd"] == pytest.approx(16 * PER_SECOND)          # likely: 8 s + 8 new seconds
    assert budget["max_to_spend_usd"] == pytest.approx(24 * PER_SECOND)      # worst: 8 s + the whole 16 s clip
    assert budget["shots"][1]["max_usd"] == pytest.approx(16 * PER_SECOND)
    approved = run(storyboard_main, str(path), "--max-cost", "2.50", env=omni_env)
    assert approved.code == 0, approved.doc
    assert approved.doc["cost"]["actual_usd"] <= 2.50


# -- batches ---------------------------------------------------------------------------------------

def test_batch_gate_compares_the_worst_case(run, fake, omni_env, tmp_path) -> None:
    override = tmp_path / "override.yaml"
    override.write_text(yaml.safe_dump({"models": [{"id": "gemini-nano-banana-2.1", "pricing": {
        "uncertain_billing": [{"id": "test-double-billing", "factor": 3,
                               "note": "a test rule: the model may bill three times the list price"}]}}]}))
    env = {**omni_env, "MEDIAGEN_CATALOG_OVERRIDE": str(override)}
    source = tmp_path / "prompts.txt"
    source.write_text("a red fox\na blue whale\n")
    priced = run(batch_main, str(source), "--estimate-cost", env=env)
    likely = priced.doc["cost"]["estimate_usd"]
    assert priced.doc["cost"]["max_usd"] == pytest.approx(3 * likely)
    fake.clear()
    refused = run(batch_main, str(source), "--max-cost", f"{2 * likely:.4f}", env=env)
    assert refused.code == 9 and refused.doc["error"]["type"] == "budget_exceeded", refused.doc
    assert not [r for r in fake.requests if r.method == "POST"]
