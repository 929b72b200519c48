"""Image benchmarks (run by hand: ``python tests/bench/bench_images.py``).

Three figures, each against a baseline measured in the same run:

1. overhead: wall time of ``image_gen.py`` (a whole process) against the fake with
   zero latency, minus a bare ``requests.post`` of the same body (also a whole
   process). Target: at most +0.25 s.
2. ``--count 8`` against a fake with 1 s latency and concurrency 4: wall time over
   the ideal 2 s. Target: at most 1.3x.
3. peak Python memory while generating one ~20 MB-base64 image (incompressible
   pixels), over the decoded image size; baseline: ``response.json()`` +
   ``b64decode``. Target: under 4x.
"""
from __future__ import annotations

import io
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
BODY = {"contents": [{"role": "user", "parts": [{"text": "a red fox in snow"}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}
RUNS = 7


def env_for(fake: FakeGoogle, home: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "GEMINI_API_KEY": KEY,
            "GOOGLE_GEMINI_BASE_URL": fake.urls["gemini"], "XDG_STATE_HOME": str(home / "state"),
            "PYTHONPATH": str(ROOT)}


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def overhead(fake: FakeGoogle, home: Path) -> dict[str, float]:
    env = env_for(fake, home)
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-nano-banana-2.1:generateContent"
    bare = [sys.executable, "-c",
            "import json, requests, sys; r = requests.post(sys.argv[1], json=json.loads(sys.argv[2]), "
            "headers={'x-goog-api-key': sys.argv[3]}, timeout=60); r.raise_for_status(); r.json()",
            url, json.dumps(BODY), KEY]
    ours = [sys.executable, str(ROOT / "scripts" / "image_gen.py"), "a red fox in snow"]
    timed(ours, env, home)          # warm the catalog check cache and the OS file cache
    baseline = statistics.median(timed(bare, env, home) for _ in range(RUNS))
    measured = statistics.median(timed(ours, env, home) for _ in range(RUNS))
    return {"bare_requests_s": baseline, "image_gen_s": measured, "overhead_s": measured - baseline,
            "ratio": measured / baseline}


def parallel_count(fake: FakeGoogle, home: Path) -> dict[str, float]:
    from mediagen.cli.image_gen import main

    fake.config.latency_s = 1.0
    env = env_for(fake, home)
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code = main(["a red fox in snow", "-n", "8", "--concurrency", "4", "-o", str(home / "count8")],
                env=env, stdout=out, stderr=err)
    elapsed = time.perf_counter() - started
    fake.config.latency_s = 0.0
    assert code == 0, out.getvalue()
    ideal = 2.0
    return {"ideal_s": ideal, "measured_s": elapsed, "ratio": elapsed / ideal}


_NAIVE = """
import base64, json, sys, tracemalloc, requests
tracemalloc.start()
doc = requests.post(sys.argv[1], json=json.loads(sys.argv[2]), headers={"x-goog-api-key": sys.argv[3]}, timeout=120).json()
data = base64.b64decode(doc["candidates"][0]["content"]["parts"][-1]["inlineData"]["data"])
open(sys.argv[4], "wb").write(data)
print(json.dumps({"peak": tracemalloc.get_traced_memory()[1], "size": len(data)}))
"""

_OURS = """
import io, json, sys, tracemalloc
from mediagen.cli.image_gen import main
import mediagen.app.image, mediagen.ops.payloads  # main() imports them lazily: loaded before counting, as before
tracemalloc.start()
out = io.StringIO()
code = main(["a red fox in snow", "-o", sys.argv[1]], stdout=out, stderr=io.StringIO())
doc = json.loads(out.getvalue())
print(json.dumps({"peak": tracemalloc.get_traced_memory()[1], "code": code, "size": doc["images"][0]["bytes"]}))
"""


def peak_memory(fake: FakeGoogle, home: Path) -> dict[str, float]:
    """Each client runs in its own process, so the fake's own buffers are not counted."""
    fake.config.image_noise = True
    fake.config.image_pixels_override = (2600, 2000)
    env = {**env_for(fake, home), "PYTHONPATH": f"{ROOT / 'scripts'}{os.pathsep}{ROOT}"}
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-nano-banana-2.1:generateContent"
    naive = _child([sys.executable, "-c", _NAIVE, url, json.dumps(BODY), KEY, str(home / "naive.png")], env, home)
    ours = _child([sys.executable, "-c", _OURS, str(home / "big")], env, home)
    fake.config.image_noise = False
    fake.config.image_pixels_override = None
    size = ours["size"]
    return {"decoded_mb": size / 1e6, "naive_peak_mb": naive["peak"] / 1e6, "image_gen_peak_mb": ours["peak"] / 1e6,
            "naive_ratio": naive["peak"] / size, "ratio": ours["peak"] / size}


def _child(command: list[str], env: dict[str, str], cwd: Path) -> dict:
    done = subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    with FakeGoogle() as fake, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        results = {"overhead": overhead(fake, home), "count8_concurrency4": parallel_count(fake, home),
                   "peak_memory_4k": peak_memory(fake, home)}
    checks = {"overhead": results["overhead"]["overhead_s"] <= 0.25,
              "count8_concurrency4": results["count8_concurrency4"]["ratio"] <= 1.3,
              "peak_memory_4k": results["peak_memory_4k"]["ratio"] < 4.0}
    print(json.dumps({"results": results, "targets_met": checks}, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
