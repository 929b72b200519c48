"""Job listing benchmark (run by hand: ``python tests/bench/bench_jobs.py [--jobs N] [--rounds R]``).

Two job stores, written through ``JobStore`` as real runs write them (create,
then "running", then "succeeded", each record a copy of a real Veo job's record
from a run against the fake): one with 20 jobs, one with 10,000. ``jobs.py
list`` (the newest 20) runs as its own process against each, alternating for
``--rounds`` rounds (machine load hits both alike); medians of the wall time
and of the peak RSS (the process's own ``VmHWM``).

Targets: with 10,000 jobs at most 1.3x the time and at most +10 MiB of the
same command with 20 jobs. Also checked, untimed: deleting the index, writing
garbage over it or cutting it short gives the same listing (it heals), and the
listing equals the one computed from every record (the old way, whose cost is
reported for comparison).
"""
from __future__ import annotations

import argparse
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

from tests.bench.peak import run_with_peak  # noqa: E402
from tests.fake_google import FakeGoogle  # noqa: E402

TIME_TARGET = 1.3
RSS_TARGET_MIB = 10.0
def template(home: Path) -> dict:
    """The record of one real Veo job, run against the fake."""
    from mediagen.cli.video_gen import main

    with FakeGoogle() as fake:
        key_file = fake.write_service_account(home / "sa.json")
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
               "GOOGLE_VERTEX_BASE_URL": fake.urls["vertex"], "XDG_STATE_HOME": str(home / "template"),
               "STORAGE_EMULATOR_HOST": fake.urls["gcs"], "MEDIAGEN_POLL_FIRST_S": "0",
               "MEDIAGEN_POLL_INTERVAL_S": "0.05", "MEDIAGEN_POLLS_PER_MINUTE": "100000"}
        out = io.StringIO()
        code = main(["a cat walking along a fence at dusk", "-o", str(home / "clip")], env=env, stdout=out,
                    stderr=io.StringIO())
        assert code == 0, out.getvalue()
    job_id = json.loads(out.getvalue())["job_id"]
    return json.loads((home / "template" / "mediagen" / "jobs" / f"{job_id}.json").read_text())


def fill(folder: Path, count: int, record: dict) -> None:
    """``count`` jobs written the way runs write them (three writes each), one created per second."""
    from mediagen.ops.jobstore import JobStore, VideoJob

    store = JobStore(folder)
    base = time.time() - count
    for n in range(count):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(base + n))
        job_id = f"vid-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(base + n))}-{n:06x}"
        doc = {**record, "job_id": job_id, "created": stamp, "state": "submitting", "handle": None,
               "prompt": f"clip {n}: {record['prompt']}", "outputs": None}
        store.create(VideoJob.from_json(doc))
        store.update(job_id, state="running", handle=f"{record['handle']}-{n}")
        store.update(job_id, state="succeeded", outputs=record["outputs"], polls=7)


def list_jobs(folder: Path) -> tuple[float, int, list[str]]:
    """(wall seconds, peak RSS KiB, job ids) of one ``jobs.py list`` process."""
    env = {"PATH": os.environ["PATH"], "HOME": str(folder.parent), "MEDIAGEN_JOB_STORE": str(folder)}
    started = time.perf_counter()
    done, kib = run_with_peak([sys.executable, str(ROOT / "scripts" / "jobs.py"), "list"], env)
    elapsed = time.perf_counter() - started
    return elapsed, kib, [j["job_id"] for j in json.loads(done.stdout)["jobs"]]


def the_old_way(folder: Path) -> tuple[float, list[str]]:
    """Every record read and sorted (what ``jobs.py list`` did before the index), in this process."""
    from mediagen.ops.jobstore import DamagedRecord, read_record

    def readable(path: Path):
        try:
            return read_record(path, complete=True)
        except (DamagedRecord, OSError):
            return None

    started = time.perf_counter()
    records = [r for r in map(readable, folder.glob("*.json")) if r is not None]
    records.sort(key=lambda r: (r.created or "", r.job_id), reverse=True)
    return time.perf_counter() - started, [r.job_id for r in records[:20]]


def heals(folder: Path, expected: list[str]) -> dict[str, bool]:
    """Delete, overwrite or cut the index: the next listing must be the same."""
    index = folder / "index.jsonl"
    text = index.read_bytes()
    damages = {"deleted": None, "garbage": b"\x00\xffnot an index\n" * 50, "cut_short": text[: len(text) // 2],
               "torn_last_line": text[:-9]}
    results = {}
    for name, content in damages.items():
        if content is None:
            index.unlink()
        else:
            index.write_bytes(content)
        results[name] = list_jobs(folder)[2] == expected
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        record = template(home)
        small, large = home / "small" / "jobs", home / "large" / "jobs"
        started = time.perf_counter()
        fill(small, 20, record)
        fill(large, args.jobs, record)
        filled_s = time.perf_counter() - started
        figures: dict[str, list] = {"small_s": [], "large_s": [], "small_kib": [], "large_kib": []}
        listings = {}
        for _ in range(args.rounds):
            for name, folder in (("small", small), ("large", large)):
                seconds, kib, listings[name] = list_jobs(folder)
                figures[f"{name}_s"].append(seconds)
                figures[f"{name}_kib"].append(kib)
        old_s, old_listing = the_old_way(large)
        healed = heals(large, listings["large"])
    med = {k: statistics.median(v) for k, v in figures.items()}
    ratio = med["large_s"] / med["small_s"]
    extra_mib = (med["large_kib"] - med["small_kib"]) / 1024
    summary = {"jobs": args.jobs, "rounds": args.rounds, "fill_s": round(filled_s, 1),
               "list_20_jobs_s": round(med["small_s"], 4), f"list_{args.jobs}_jobs_s": round(med["large_s"], 4),
               "time_ratio": round(ratio, 3), "peak_rss_20_jobs_mib": round(med["small_kib"] / 1024, 1),
               f"peak_rss_{args.jobs}_jobs_mib": round(med["large_kib"] / 1024, 1),
               "extra_rss_mib": round(extra_mib, 2), "old_way_in_process_s": round(old_s, 3),
               "all_times_s": {k: [round(x, 3) for x in v] for k, v in figures.items() if k.endswith("_s")},
               "heals": healed}
    summary["targets_met"] = {f"time_at_most_{TIME_TARGET}x": ratio <= TIME_TARGET,
                              f"rss_at_most_plus_{RSS_TARGET_MIB:g}_mib": extra_mib <= RSS_TARGET_MIB,
                              "same_listing_as_every_record": old_listing == listings["large"],
                              "heals_to_the_same_listing": all(healed.values())}
    print(json.dumps(summary, indent=2))
    return 0 if all(summary["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
