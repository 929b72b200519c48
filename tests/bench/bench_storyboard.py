"""Storyboard benchmark (run by hand: ``python tests/bench/bench_storyboard.py``).

A 4-shot storyboard (cut, continue, cut, continue: two chains) against the fake,
whose Omni jobs take about a second (5 polls at 0.2 s). Figures:

1. create requests: exactly 4 on the first run, exactly 0 on a rerun after completion;
2. wall time of the storyboard (4 clips, 2 last-frame extractions, the stitch, the
   page) over the baseline measured in the same run: 4 sequential single
   ``video_gen`` runs of the same lengths against the same fake. Target: at most 0.8x
   (the two chains run in parallel, so the ideal is 0.5x; the rest is ffmpeg: two
   last-frame extractions, four thumbnails and the stitch, about 0.1 s per ffmpeg
   start here, against jobs of about a second);
3. wall time of the rerun over the same baseline. Target: at most 0.1x (nothing is
   sent, nothing is re-stitched).
"""
from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]

from tests.fake_google import FakeGoogle, media  # noqa: E402

KEY = "AIzaSyFAKE-test-key-000000000000000000"
SHOTS = [("s1", "hands grind coffee beans", 6, "cut"), ("s2", "the barista pours latte art", 6, "continue"),
         ("s3", "rain on the cafe window", 4, "cut"), ("s4", "a customer steps in from the rain", 6, "continue")]
ROUNDS = 3


def env_for(fake: FakeGoogle, home: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "GEMINI_API_KEY": KEY,
            "GOOGLE_GEMINI_BASE_URL": fake.urls["gemini"], "XDG_STATE_HOME": str(home / "state"),
            "MEDIAGEN_POLL_FIRST_S": "0", "MEDIAGEN_POLL_INTERVAL_S": "0.2"}


def creates(fake: FakeGoogle) -> int:
    return len(fake.requests_for(service="gemini", method="POST", path_contains="/interactions"))


def timed(main, argv: list[str], env: dict[str, str]) -> tuple[float, dict]:
    out = io.StringIO()
    started = time.perf_counter()
    code = main(argv, env=env, stdout=out, stderr=io.StringIO())
    elapsed = time.perf_counter() - started
    doc = json.loads(out.getvalue())
    assert code == 0, doc
    return elapsed, doc


def baseline(fake: FakeGoogle, home: Path) -> float:
    """Four single video_gen runs, one after the other."""
    from mediagen.cli.video_gen import main

    env = env_for(fake, home)
    total = 0.0
    for ident, prompt, seconds, _ in SHOTS:
        elapsed, _ = timed(main, [prompt, "--duration", str(seconds), "-o", str(home / "single" / f"{ident}.mp4")],
                           env)
        total += elapsed
    return total


def storyboard(fake: FakeGoogle, home: Path, folder: Path) -> dict[str, float]:
    """The storyboard once (4 shots), then again after completion."""
    from mediagen.cli.storyboard import main

    shots = [{"id": i, "prompt": p, "duration": d, "transition": t} for i, p, d, t in SHOTS]
    path = home / "board.yaml"
    path.write_text(json.dumps({"version": 1, "title": "Bench board", "style": "warm light", "shots": shots}))
    env = env_for(fake, home)
    argv = [str(path), "-o", str(folder), "--approve"]
    fake.clear()
    first_s, doc = timed(main, argv, env)
    first_creates = creates(fake)
    fake.clear()
    rerun_s, _ = timed(main, argv, env)
    return {"first_run_s": first_s, "first_run_creates": first_creates, "rerun_s": rerun_s,
            "rerun_creates": creates(fake), "rerun_requests": len(fake.requests),
            "film_s": doc["final"]["duration_s"]}


def measure(fake: FakeGoogle, home: Path) -> dict[str, float]:
    """Baseline and storyboard alternated for ROUNDS rounds (machine load hits both alike); medians."""
    bases, boards = [], []
    for round_ in range(ROUNDS):
        bases.append(baseline(fake, home))
        boards.append(storyboard(fake, home, home / f"board-{round_}"))
    board = {key: (statistics.median(b[key] for b in boards) if key.endswith("_s") else [b[key] for b in boards])
             for key in boards[0]}
    base = statistics.median(bases)
    ideal = base / 2                                     # two chains of two jobs each, nothing else
    return {"baseline_4_sequential_video_gen_s": base, **board, "ideal_s": ideal,
            "overhead_over_ideal_s": board["first_run_s"] - ideal,
            "first_run_ratio": board["first_run_s"] / base, "rerun_ratio": board["rerun_s"] / base,
            "rounds": ROUNDS}


def main() -> int:
    with FakeGoogle() as fake, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        fake.config.interaction_polls_until_done = 5
        for seconds in {s[2] for s in SHOTS}:          # warm the fake's clip cache outside the timings
            media.mp4_bytes(seconds)
        results = measure(fake, home)
    checks = {"first_run_creates": all(n == 4 for n in results["first_run_creates"]),
              "rerun_creates": all(n == 0 for n in results["rerun_creates"] + results["rerun_requests"]),
              "first_run_ratio": results["first_run_ratio"] <= 0.8, "rerun_ratio": results["rerun_ratio"] <= 0.1}
    print(json.dumps({"results": results, "targets_met": checks}, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
