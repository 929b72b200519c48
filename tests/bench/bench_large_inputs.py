"""Large-input benchmark (run by hand: ``python tests/bench/bench_large_inputs.py``).

Peak memory (the process's own VmHWM) of ``image_gen.py`` editing one ~20 MB PNG against the fake,
each against baselines measured in the same run:

1. Gemini API, the input sent inline: the request body is built in a spooled file (base64 written in
   chunks, JSON around it) and sent with its Content-Length. Target: at most 2x the input + 40 MiB.
2. Vertex with a ``gcs_bucket``: the input (over the 7 MB inline limit) is uploaded once and referenced
   by ``gs://`` URI. Same target.

Baselines: the same ``image_gen.py`` command with a tiny input (what the process costs anyway), and a
naive client (read the file, base64 it, ``json.dumps`` the body, ``requests.post``), the way the request
was built before. Every client runs in its own process, so the fake's buffers are not counted.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]

from PIL import Image  # noqa: E402

from tests.bench.peak import run_with_peak  # noqa: E402
from tests.fake_google import FakeGoogle  # noqa: E402

KEY = "AIzaSyFAKE-test-key-000000000000000000"
MIB = 1024 * 1024

_NAIVE = """
import base64, json, sys, requests
data = open(sys.argv[2], "rb").read()
body = {"contents": [{"role": "user", "parts": [{"text": "make it blue"},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}
text = json.dumps(body)
r = requests.post(sys.argv[1], data=text.encode(), headers={"x-goog-api-key": sys.argv[3],
                  "Content-Type": "application/json"}, timeout=120)
r.raise_for_status()
image = base64.b64decode(r.json()["candidates"][0]["content"]["parts"][-1]["inlineData"]["data"])
open(sys.argv[4], "wb").write(image)
"""


def noise_png(path: Path, megabytes: float) -> Path:
    """A PNG of random pixels (it does not compress): about ``megabytes`` MB."""
    side = int((megabytes * 1e6 / 3) ** 0.5)
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(path, format="PNG", compress_level=0)
    return path


def peak_kib(command: list[str], env: dict[str, str], cwd: Path) -> int:
    """Peak RSS (KiB) of the measured program."""
    return run_with_peak(command, env, cwd)[1]


def environment(fake: FakeGoogle, home: Path, vertex: bool) -> dict[str, str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_STATE_HOME": str(home / "state"),
           "XDG_CACHE_HOME": str(home / "cache"), "PYTHONPATH": f"{ROOT / 'scripts'}{os.pathsep}{ROOT}",
           "GOOGLE_GEMINI_BASE_URL": fake.urls["gemini"], "GOOGLE_VERTEX_BASE_URL": fake.urls["vertex"],
           "STORAGE_EMULATOR_HOST": fake.urls["gcs"]}
    if vertex:
        key = fake.write_service_account(home / "sa.json")
        return {**env, "GOOGLE_APPLICATION_CREDENTIALS": str(key), "MEDIAGEN_GCS_BUCKET": "gs://bench-bkt/in"}
    return {**env, "GEMINI_API_KEY": KEY}


def measure(fake: FakeGoogle, home: Path, big: Path, tiny: Path, rounds: int) -> dict:
    script = str(ROOT / "scripts" / "image_gen.py")
    url = f"{fake.urls['gemini']}/v1beta/models/gemini-nano-banana-2.1:generateContent"
    size_mib = big.stat().st_size / MIB
    figures: dict = {"input_mib": round(size_mib, 2), "target_mib": round(2 * size_mib + 40, 1)}
    for name, vertex in (("gemini_api_inline", False), ("vertex_gcs_upload", True)):
        env = environment(fake, home, vertex)
        floor = [peak_kib([sys.executable, script, "a fox", "-i", str(tiny), "-o", str(home / "t.png")], env, home)
                 for _ in range(rounds)]
        # A fresh upload cache each round, so every Vertex round uploads (rather than reusing the first copy).
        ours = [peak_kib([sys.executable, script, "make it blue", "-i", str(big), "-o", str(home / "o.png")],
                         {**env, "XDG_CACHE_HOME": str(home / f"cache-{name}-{n}")}, home) for n in range(rounds)]
        figures[name] = {"tiny_input_peak_mib": round(statistics.median(floor) / 1024, 1),
                         "peak_mib": round(statistics.median(ours) / 1024, 1),
                         "over_tiny_mib": round((statistics.median(ours) - statistics.median(floor)) / 1024, 1),
                         "ratio_to_input": round(statistics.median(ours) / 1024 / size_mib, 2)}
    env = environment(fake, home, False)
    naive = [peak_kib([sys.executable, "-c", _NAIVE, url, str(big), KEY, str(home / "n.png")], env, home)
             for _ in range(rounds)]
    figures["naive_client_peak_mib"] = round(statistics.median(naive) / 1024, 1)
    figures["naive_ratio_to_input"] = round(statistics.median(naive) / 1024 / size_mib, 2)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with FakeGoogle() as fake, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        big = noise_png(home / "big.png", args.megabytes)
        tiny = noise_png(home / "tiny.png", 0.01)
        figures = measure(fake, home, big, tiny, args.rounds)
        uploads = len([r for r in fake.requests if r.service == "gcs" and r.method == "POST"])
    figures["gcs_uploads"] = uploads
    target = figures["target_mib"]
    checks = {name: figures[name]["peak_mib"] <= target for name in ("gemini_api_inline", "vertex_gcs_upload")}
    print(json.dumps({"results": figures, "targets_met": checks}, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
