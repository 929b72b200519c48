"""Helpers for the money-safety tests: full disks, unwritable paths, the ledger, Veo on the Gemini API."""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

VEO_OVERRIDE = ("models:\n  - id: veo-3.1-fast-generate-preview\n    backends:\n      gemini-api:\n"
                "        status: preview\n        shutdown: null\n    pricing:\n      as_of: '2026-09-12'\n"
                "      source: https://example.test/pricing\n      unit: second\n"
                "      per_second: {720p: 0.10, 1080p: 0.12, 4k: 0.30}\n")
VEO_MODEL = "veo-3.1-fast-generate-preview"


@dataclass
class Finished:
    """A script run in a child process."""

    code: int
    doc: dict[str, Any]
    stderr: str


def script(name: str) -> str:
    """The absolute path of an entry script."""
    return str(ROOT / "scripts" / f"{name}.py")


def hinted(name: str) -> str:
    """How hints name an entry script: its absolute path, quoted."""
    return f'"{script(name)}"'



def full_disk(limit_bytes: int):
    """A ``preexec_fn`` that makes every file write past ``limit_bytes`` fail with EFBIG (a full disk)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return limit


def run_child(name: str, *argv: str, env: dict[str, str], cwd: Path, limit_bytes: int | None = None,
              timeout: float = 90.0) -> Finished:
    """Run ``scripts/<name>.py`` in a child process (optionally on a "full disk"); parse its one document."""
    child_env = {**env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, script(name), *argv], env=child_env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout,
                          preexec_fn=full_disk(limit_bytes) if limit_bytes else None)
    return Finished(done.returncode, json.loads(done.stdout), done.stderr)


def ledger_entries(env: dict[str, str]) -> list[dict[str, Any]]:
    """Every line of the per-user ledger of ``env``."""
    path = Path(env.get("MEDIAGEN_LEDGER") or Path(env["XDG_STATE_HOME"]) / "mediagen" / "ledger.jsonl")
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def job_store(env: dict[str, str]) -> Path:
    """The job store folder of ``env``."""
    return Path(env.get("MEDIAGEN_JOB_STORE") or Path(env["XDG_STATE_HOME"]) / "mediagen" / "jobs")


def veo_env(env: dict[str, str], fake, tmp_path: Path) -> dict[str, str]:
    """Veo served on the Gemini API again (results downloaded from the Files API, 302 to a blob)."""
    override = tmp_path / "veo-override.yaml"
    override.write_text(VEO_OVERRIDE)
    fake.config.gemini_veo_served = True
    return {**env, "MEDIAGEN_CATALOG_OVERRIDE": str(override)}


def files_in(folder: Path) -> list[str]:
    """Names of the files in ``folder`` (hidden ones included), sorted."""
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def blocker(tmp_path: Path, name: str = "blocker") -> Path:
    """A regular file: any path under it fails with ENOTDIR, whoever runs the test (root included)."""
    path = tmp_path / name
    path.write_text("not a folder\n")
    return path


def kill_mid_download(job_id: str, env: dict[str, str], folder: Path, cwd: Path, at_bytes: int = 8192) -> int:
    """Run ``jobs.py wait JOB`` in a child, SIGKILL it once its download wrote ``at_bytes``; return what it wrote.

    Make the fake drip first (``fake.set_drip``), or the download may finish before the kill.
    """
    child = subprocess.Popen([sys.executable, script("jobs"), "wait", job_id], cwd=cwd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={**env, "PYTHONPATH": str(ROOT)})
    written = 0
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and written < at_bytes:
            parts = list(folder.glob(".*.part")) if folder.is_dir() else []
            written = max((p.stat().st_size for p in parts), default=0)
            time.sleep(0.02)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    assert written >= at_bytes, "the download never started"
    return written
