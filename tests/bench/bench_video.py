"""Video benchmarks (run by hand: ``python tests/bench/bench_video.py [--rounds N]``).

1. Detection delay: the fake finishes each Veo operation at a random time between
   8 and 20 s. For every round one job uses mediagen's schedule and one the
   original tool's (a poll every 10 s), against the same finish time. Reported:
   median delay from "done on the server" to "file on disk" for both, the ratio,
   and mediagen's polls per 2 s. Targets: median <= 2 s, <= 1 poll per 2 s.
2. A 300 MB video download in a separate process: peak RSS, against a plain
   ``requests.get(...).content`` of the same file. The connection is dropped once
   at 100 MB; the download must resume with ``Range``, not restart. Target: peak
   RSS under 80 MB.
3. The poll budget: 20 video jobs in one ``batch_gen.py --kind video`` process (Veo
   on Vertex, each done 75 s after its create). Baseline in the same run: the same
   batch with the budget lifted (``MEDIAGEN_POLLS_PER_MINUTE=100000``: every job on
   its own 2 s schedule). Reported: the most polls the fake received in any 60 s,
   and each run's median delay from "done on the server" to the video on disk.
   Target: at most 60 polls in any minute (the single-job delay is part 1).

``--only detection|download|budget`` runs one part.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]

from tests.bench.peak import run_with_peak  # noqa: E402
from tests.fake_google import FakeGoogle  # noqa: E402

KEY = "AIzaSyFAKE-test-key-000000000000000000"
OVERRIDE = ("models:\n  - id: veo-3.1-fast-generate-preview\n    backends:\n      gemini-api:\n"
            "        status: preview\n        shutdown: null\n")


def vertex_env(fake: FakeGoogle, home: Path) -> dict[str, str]:
    key_file = fake.write_service_account(home / "sa.json")
    return {"PATH": os.environ["PATH"], "HOME": str(home), "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
            "GOOGLE_VERTEX_BASE_URL": fake.urls["vertex"], "XDG_STATE_HOME": str(home / "state"),
            "STORAGE_EMULATOR_HOST": fake.urls["gcs"]}


def run_job(env: dict[str, str], out_dir: Path) -> tuple[float, str]:
    """One full video_gen run in-process: (monotonic time the file was on disk, operation name)."""
    from mediagen.cli.video_gen import main

    out = io.StringIO()
    code = main(["a cat walking", "-o", str(out_dir), "--wait-timeout", "120"], env=env, stdout=out,
                stderr=io.StringIO())
    assert code == 0, out.getvalue()
    return time.monotonic(), json.loads(out.getvalue())["operation"]


def detection(fake: FakeGoogle, home: Path, rounds: int) -> dict[str, float]:
    ours_env = vertex_env(fake, home)
    original_env = {**ours_env, "MEDIAGEN_POLL_FIRST_S": "10", "MEDIAGEN_POLL_INTERVAL_S": "10"}
    delays: dict[str, list[float]] = {"mediagen": [], "original": []}
    polls, waited = 0, 0.0
    for n in range(rounds):
        done_after = random.uniform(8, 20)
        fake.config.operation_done_after_s = done_after
        fake.clear()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            started = time.monotonic()
            jobs = {name: pool.submit(run_job, env, home / f"r{n}-{name}")
                    for name, env in (("mediagen", ours_env), ("original", original_env))}
            finished = {name: job.result() for name, job in jobs.items()}
        # Both jobs of a round are created within milliseconds of each other; measuring from the
        # earliest create makes the delays, if anything, slightly longer than they are.
        server_done = min(r.time for r in fake.requests if r.path.endswith(":predictLongRunning")) + done_after
        for name, (at, _operation) in finished.items():
            delays[name].append(max(0.0, at - server_done))
        ours = finished["mediagen"][1]
        polls += sum(1 for r in fake.requests if r.path.endswith(":fetchPredictOperation")
                     and (r.json or {}).get("operationName") == ours)
        waited += finished["mediagen"][0] - started
    fake.config.operation_done_after_s = None
    ours, original = statistics.median(delays["mediagen"]), statistics.median(delays["original"])
    return {"rounds": rounds, "median_delay_s": ours, "original_median_delay_s": original,
            "ratio": ours / original if original else 0.0, "polls_per_2s": polls / (waited / 2.0),
            "all_delays_s": [round(d, 2) for d in delays["mediagen"]]}


def shared_budget(fake: FakeGoogle, home: Path, jobs: int = 20, done_after: float = 75.0) -> dict[str, object]:
    """20 concurrent jobs in one process, with the default budget and with the budget lifted."""
    runs = {}
    for name, budget in (("budget", None), ("no_budget", "100000")):
        fake.clear()
        fake.config.operation_done_after_s = done_after
        source = home / f"{name}.txt"
        source.write_text("".join(f"{name} clip {i}: a cat walking\n" for i in range(jobs)), encoding="utf-8")
        env = {**vertex_env(fake, home), "PYTHONPATH": os.pathsep.join([str(ROOT / "scripts"), str(ROOT)])}
        if budget:
            env["MEDIAGEN_POLLS_PER_MINUTE"] = budget
        command = [sys.executable, str(ROOT / "scripts" / "batch_gen.py"), str(source), "--kind", "video",
                   "--approve", "-o", str(home / name), "--wait-timeout", "600"]
        offset = time.time() - time.monotonic()
        started = time.monotonic()
        done = subprocess.run(command, env=env, cwd=home, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"batch_gen --kind video failed: {done.stdout[-1500:]} {done.stderr[-1500:]}")
        runs[name] = _poll_figures(fake, home / name, offset, done_after, time.monotonic() - started)
    fake.config.operation_done_after_s = None
    ours, free = runs["budget"], runs["no_budget"]
    return {"jobs": jobs, "done_after_s": done_after, **runs,
            "ratio_polls_per_minute": ours["max_polls_in_60s"] / free["max_polls_in_60s"]}


def _poll_figures(fake: FakeGoogle, out: Path, offset: float, done_after: float, wall: float) -> dict[str, float]:
    polls = sorted(r.time for r in fake.requests if r.path.endswith(":fetchPredictOperation"))
    creates = sorted(r.time for r in fake.requests if r.path.endswith(":predictLongRunning"))
    busiest = max(sum(1 for t in polls if start <= t < start + 60.0) for start in polls)
    on_disk = sorted(p.stat().st_mtime - offset for p in out.glob("*.mp4"))
    delays = [max(0.0, at - (created + done_after)) for at, created in zip(on_disk, creates)]
    return {"polls": len(polls), "max_polls_in_60s": busiest, "wall_s": round(wall, 1), "videos": len(on_disk),
            "median_delay_s": round(statistics.median(delays), 2), "max_delay_s": round(max(delays), 2)}


def download(fake: FakeGoogle, home: Path, size: int) -> dict[str, float]:
    override = home / "override.yaml"
    override.write_text(OVERRIDE)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "GEMINI_API_KEY": KEY, "XDG_STATE_HOME": str(home / "s"),
           "GOOGLE_GEMINI_BASE_URL": fake.urls["gemini"], "MEDIAGEN_CATALOG_OVERRIDE": str(override),
           "MEDIAGEN_POLL_FIRST_S": "0", "MEDIAGEN_POLL_INTERVAL_S": "0.1", "MEDIAGEN_POLLS_PER_MINUTE": "100000",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "scripts"), str(ROOT)])}
    fake.config.gemini_veo_served = True
    fake.config.video_bytes_size = size
    fake.config.download_reset_after_bytes = 100 * 1024 * 1024
    fake.clear()
    ours_cmd = [sys.executable, str(ROOT / "scripts" / "video_gen.py"), "a cat walking",
                "--model", "veo-3.1-fast-generate-preview", "-o", str(home / "dl")]
    ours_rss, out = _rss_of(ours_cmd, env, home)
    doc = json.loads(out)
    video = doc["videos"][0]
    blob_requests = [r for r in fake.requests if r.path.startswith("/_blob/")]
    naive_cmd = [sys.executable, "-c",
                 "import requests, sys; r = requests.get(sys.argv[1], headers={'x-goog-api-key': sys.argv[2]}); "
                 "open(sys.argv[3], 'wb').write(r.content)",
                 json.loads(Path(video["sidecar"]).read_text())["remote"]["uri"], KEY, str(home / "naive.mp4")]
    naive_rss, _ = _rss_of(naive_cmd, env, home)
    fake.config.video_bytes_size = None
    return {"bytes": video["bytes"], "peak_rss_mb": ours_rss / 1024, "naive_peak_rss_mb": naive_rss / 1024,
            "ratio": ours_rss / naive_rss, "downloads": len(blob_requests),
            "resumed_with_range": [r.headers.get("range") for r in blob_requests][1:]}


def _rss_of(command: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Peak RSS (KiB) of the measured program, and its stdout."""
    done, kib = run_with_peak(command, env, cwd)
    return kib, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--size-mb", type=int, default=300)
    parser.add_argument("--only", choices=["detection", "download", "budget"])
    args = parser.parse_args()
    parts = {"detection": lambda fake, home: detection(fake, home, args.rounds),
             "download": lambda fake, home: download(fake, home, args.size_mb * 1024 * 1024),
             "budget": shared_budget}
    with FakeGoogle() as fake, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        results = {name: part(fake, home) for name, part in parts.items() if args.only in (None, name)}
    checks = {}
    if "detection" in results:
        checks.update(median_delay_le_2s=results["detection"]["median_delay_s"] <= 2.0,
                      polls_le_1_per_2s=results["detection"]["polls_per_2s"] <= 1.0)
    if "download" in results:
        checks.update(download_rss_lt_80mb=results["download"]["peak_rss_mb"] < 80,
                      download_resumed=bool(results["download"]["resumed_with_range"]))
    if "budget" in results:
        budget = results["budget"]["budget"]
        checks.update(polls_le_60_per_minute=budget["max_polls_in_60s"] <= 60,
                      all_twenty_saved=budget["videos"] == results["budget"]["jobs"])
    print(json.dumps({"results": results, "targets_met": checks}, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
