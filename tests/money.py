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


# -- invariants every money-safety run keeps (the fault matrix and the fuzz test) -----------------------

# Path endings of the calls that may bill: image and video creates on every surface, Batch API jobs.
CREATE_SUFFIXES = (":generateContent", ":predict", ":predictLongRunning", "/interactions", ":batchGenerateContent",
                   "/chat/completions")
CREDENTIAL_HEADERS = ("x-goog-api-key", "authorization", "x-api-key")


def may_bill(status: int | None) -> bool:
    """Whether a create answered with ``status`` may have been billed (unanswered and reset ones included).

    A refusal (4xx), a 429, a 503 and a redirect leave nothing to bill.
    """
    return status in (None, 0) or 200 <= status < 300 or (status >= 500 and status != 503)


def billable_creates(fake) -> list:
    """The create calls the fake answered in a way that may bill (see ``may_bill``)."""
    return [r for r in fake.requests
            if r.method == "POST" and r.path.endswith(CREATE_SUFFIXES) and may_bill(r.status)]


def assert_one_bill_per_request(fake) -> None:
    """No user request was sent twice in a way that may bill: the same create body at most once."""
    seen: dict[tuple[str, str, bytes], int] = {}
    for create in billable_creates(fake):
        key = (create.service, create.path, create.body)
        seen[key] = seen.get(key, 0) + 1
    twice = {path: n for (_, path, _), n in seen.items() if n > 1}
    assert not twice, f"billed twice: {twice}"


def final_ledger_lines(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The last ledger line of every run, by run id."""
    return {str(entry.get("run_id")): entry for entry in ledger_entries(env)}


def credentials_sent(fake) -> set[str]:
    """Every credential value a request to the fake carried (API keys, bearer tokens)."""
    found = set()
    for request in fake.requests:
        for name in CREDENTIAL_HEADERS:
            value = request.headers.get(name, "")
            found.add(value.split(" ", 1)[1] if value.lower().startswith("bearer ") else value)
    return {value for value in found if len(value) >= 8}


def assert_no_secret(secrets: set[str], texts: list[str], folder: Path, skip: tuple[Path, ...] = ()) -> None:
    """No secret in ``texts`` (stdout, stderr) nor in any file under ``folder`` but the credential files ``skip``."""
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret in the output: {text[:300]}"
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and path not in skip:
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"a secret in {path}"
