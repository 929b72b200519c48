"""Start-up benchmark (run by hand: ``python tests/bench/bench_startup.py [--runs N]``).

Agents start one process per image, so start-up is paid per call. Three figures,
each against a baseline measured in the same run (baseline and mediagen
alternate, medians of ``--runs`` runs):

1. ``--help`` of every script, against ``python -c "import requests"``.
   Target: each at most 1.2x.
2. What ``--help`` imports (``python -X importtime``): none of the heavy
   libraries (requests, urllib3, jsonschema, PyYAML, Pillow, filelock, google-auth).
3. One image: ``image_gen.py PROMPT`` (the script run directly, its environment
   ready: the catalog's check marker already in the user cache) against the fake
   with zero latency, versus a bare client (import requests, one POST, decode the
   base64, write the bytes). Target: at most 1.5x. ``--dry-run`` is reported too.

Ratios are medians of the ratios of back-to-back pairs (see ``alternate``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]

from tests.fake_google import FakeGoogle  # noqa: E402

KEY = "AIzaSyFAKE-test-key-000000000000000000"
SCRIPTS = ("image_gen", "video_gen", "batch_gen", "storyboard", "jobs", "gallery", "estimate_cost", "check_api")
HEAVY = ("requests", "urllib3", "jsonschema", "yaml", "PIL", "filelock", "google.auth", "charset_normalizer")
HELP_TARGET = 1.2
IMAGE_TARGET = 1.5
BARE = """
import base64, json, sys
import requests
url, key, out = sys.argv[1:4]
body = {"contents": [{"role": "user", "parts": [{"text": "a red fox in snow"}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}
answer = requests.post(url, json=body, headers={"x-goog-api-key": key}, timeout=60)
answer.raise_for_status()
part = [p for p in answer.json()["candidates"][0]["content"]["parts"] if "inlineData" in p][0]
with open(out, "wb") as handle:
    handle.write(base64.b64decode(part["inlineData"]["data"]))
"""


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[:3]} failed: {done.stdout[-500:]!r} {done.stderr[-1000:]!r}")
    return elapsed


def alternate(first: list[str], second: list[str], env: dict[str, str], cwd: Path,
              runs: int) -> tuple[float, float, float]:
    """Medians of ``runs`` alternating runs of two commands, and the median of the paired ratios.

    Each pair runs back to back, so the ratio of a pair sees the same machine load; on a busy
    machine that median is steadier than the ratio of the two medians.
    """
    times: tuple[list[float], list[float]] = ([], [])
    timed(first, env, cwd), timed(second, env, cwd)            # warm the OS file cache and the user cache
    for _ in range(runs):
        times[0].append(timed(first, env, cwd))
        times[1].append(timed(second, env, cwd))
    ratios = [b / a for a, b in zip(*times)]
    return statistics.median(times[0]), statistics.median(times[1]), statistics.median(ratios)


def helps(home: Path, runs: int) -> dict[str, dict[str, float]]:
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    baseline = [sys.executable, "-c", "import requests"]
    results = {}
    for script in SCRIPTS:
        base, ours, ratio = alternate(baseline, [sys.executable, str(ROOT / "scripts" / f"{script}.py"), "--help"],
                                      env, home, runs)
        results[script] = {"import_requests_s": round(base, 4), "help_s": round(ours, 4), "ratio": round(ratio, 3)}
    return results


def help_imports(home: Path) -> dict[str, list[str]]:
    """The heavy libraries each script's --help imports (should be none)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    found = {}
    for script in SCRIPTS:
        done = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "scripts" / f"{script}.py"), "--help"],
                              env=env, cwd=home, capture_output=True, text=True)
        modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
        found[script] = sorted({h for m in modules for h in HEAVY if m == h or m.startswith(h + ".")})
    return found


def one_image(fake: FakeGoogle, home: Path, runs: int) -> dict[str, float]:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "GEMINI_API_KEY": KEY,
           "GOOGLE_GEMINI_BASE_URL": fake.urls["gemini"], "XDG_STATE_HOME": str(home / "state")}
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-nano-banana-2.1:generateContent"
    bare = [sys.executable, "-c", BARE, url, KEY, str(home / "bare.png")]
    ours = [sys.executable, str(ROOT / "scripts" / "image_gen.py"), "a red fox in snow", "-o", str(home / "ours")]
    base, measured, ratio = alternate(bare, ours, env, home, runs)
    _, dry, dry_ratio = alternate(bare, ours + ["--dry-run"], env, home, max(3, runs // 2))
    return {"bare_client_s": round(base, 4), "image_gen_s": round(measured, 4), "ratio": round(ratio, 3),
            "dry_run_s": round(dry, 4), "dry_run_ratio": round(dry_ratio, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with FakeGoogle() as fake, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        results = {"help": helps(home, args.runs), "help_imports": help_imports(home),
                   "one_image": one_image(fake, home, args.runs)}
    worst_help = max(r["ratio"] for r in results["help"].values())
    checks = {f"help_at_most_{HELP_TARGET}x": worst_help <= HELP_TARGET,
              "help_imports_nothing_heavy": not any(results["help_imports"].values()),
              f"one_image_at_most_{IMAGE_TARGET}x": results["one_image"]["ratio"] <= IMAGE_TARGET}
    print(json.dumps({"results": results, "worst_help_ratio": worst_help, "targets_met": checks}, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
