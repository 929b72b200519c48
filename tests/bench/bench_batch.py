"""Batch benchmark (run by hand: ``python tests/bench/bench_batch.py``).

40 images through ``batch_gen.py`` (online mode, default settings) against the fake
with 1 s latency per generation and a 10-requests-per-second limit (a sliding 1 s
window; the excess gets 429 with RetryInfo "1s").

Ideal: a client that knew the limit in advance starts 10 requests per window, so
the last of ceil(40 / 10) = 4 waves starts 3 s after the first and ends one
request-time later. The request-time is measured in the same run: a one-item batch
against the same fake (so it includes batch_gen's own overhead). Target: the
40-item batch takes at most 1.25x that ideal, with zero lost or duplicated items
(40 results lines with distinct keys, 40 images with sidecars, and exactly one
accepted generateContent call per prompt).
"""
from __future__ import annotations

import collections
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]

from tests.fake_google import FakeGoogle  # noqa: E402

KEY = "AIzaSyFAKE-test-key-000000000000000000"
ITEMS = 40
RPS = 10
LATENCY_S = 1.0
RUNS = 3
TARGET = 1.25


def env_for(fake: FakeGoogle, home: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "GEMINI_API_KEY": KEY,
            "GOOGLE_GEMINI_BASE_URL": fake.urls["gemini"], "XDG_STATE_HOME": str(home / "state")}


def configure(fake: FakeGoogle) -> None:
    fake.reset()
    fake.config.latency_s = LATENCY_S
    fake.config.rate_limit_rps = RPS
    time.sleep(1.1)                 # let the fake's rate window empty between runs


def run_batch(fake: FakeGoogle, home: Path, name: str, count: int) -> tuple[float, dict]:
    from mediagen.cli.batch_gen import main

    source = home / f"{name}.txt"
    source.write_text("".join(f"{name} prompt {i}: a fox in the snow\n" for i in range(count)), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code = main([str(source), "--approve", "-o", str(home / name)], env=env_for(fake, home), stdout=out, stderr=err)
    elapsed = time.perf_counter() - started
    doc = json.loads(out.getvalue())
    if code != 0:
        raise SystemExit(f"batch_gen failed ({code}): {out.getvalue()}\n{err.getvalue()}")
    return elapsed, doc


def integrity(fake: FakeGoogle, doc: dict) -> dict[str, int]:
    """Lost and duplicated items, by every record we have."""
    lines = [json.loads(x) for x in Path(doc["results_file"]).read_text().splitlines() if x.strip()]
    keys = collections.Counter(e["key"] for e in lines)
    images = [p for p in Path(doc["output_dir"]).glob("*.png") if p.with_suffix(".json").is_file()]
    accepted = collections.Counter(r.json["contents"][0]["parts"][0]["text"] for r in fake.requests
                                   if r.path.endswith(":generateContent") and r.status == 200)
    return {"results_lines": len(lines), "duplicated_keys": sum(n - 1 for n in keys.values() if n > 1),
            "images_with_sidecars": len(images), "accepted_calls": sum(accepted.values()),
            "prompts_accepted_twice": sum(1 for n in accepted.values() if n > 1),
            "throttled_429": sum(1 for r in fake.requests if r.status == 429),
            "lost": ITEMS - doc["counts"]["succeeded"]}


def one_run(fake: FakeGoogle, home: Path, n: int) -> dict:
    configure(fake)
    single_s, _ = run_batch(fake, home, f"single{n}", 1)
    configure(fake)
    elapsed, doc = run_batch(fake, home, f"batch{n}", ITEMS)
    ideal = (math.ceil(ITEMS / RPS) - 1) * 1.0 + single_s
    return {"single_item_s": round(single_s, 3), "ideal_s": round(ideal, 3), "measured_s": round(elapsed, 3),
            "ratio": round(elapsed / ideal, 3), **integrity(fake, doc)}


def main() -> int:
    with FakeGoogle() as fake, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.chdir(home)
        runs = [one_run(fake, home, n) for n in range(RUNS)]
    ratios = [r["ratio"] for r in runs]
    clean = all(r["lost"] == 0 and r["duplicated_keys"] == 0 and r["results_lines"] == ITEMS
                and r["images_with_sidecars"] == ITEMS and r["accepted_calls"] == ITEMS
                and r["prompts_accepted_twice"] == 0 for r in runs)
    summary = {"items": ITEMS, "rate_limit_rps": RPS, "latency_s": LATENCY_S, "runs": runs,
               "median_ratio": statistics.median(ratios), "worst_ratio": max(ratios),
               "targets_met": {"ratio_at_most_1.25": max(ratios) <= TARGET, "zero_lost_or_duplicated": clean}}
    print(json.dumps(summary, indent=2))
    return 0 if all(summary["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
