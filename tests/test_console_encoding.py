"""Consoles never crash the output: stdout and stderr are UTF-8 whatever the console's encoding.

Windows Python writes to a pipe in the ANSI code page (``PYTHONIOENCODING=cp1252``
reproduces it anywhere); a prompt outside that code page must still give
exactly one JSON document, in UTF-8, from every script.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mediagen.cli.image_gen import main as image_main
from mediagen.cli.video_gen import main as video_main
from tests.conftest import GEMINI_KEY, ROOT

PROMPT = "a cat with a coffee ☕ 猫"


def script(name: str, *args: str, env: dict, cwd: Path) -> tuple[dict, str]:
    """Run a script as Windows would on a pipe; return its one JSON document and its stderr."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], cwd=cwd, capture_output=True,
                          env={**env, "PYTHONIOENCODING": "cp1252"}, timeout=120)
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")     # UTF-8 whatever the console
    assert "Traceback" not in stderr, stderr
    doc = json.loads(stdout)                                                        # exactly one document
    assert done.returncode == 0 and doc["ok"], doc
    return doc, stderr


def test_image_gen_dry_run_with_a_non_latin_prompt(base_env, tmp_path) -> None:
    doc, _ = script("image_gen.py", PROMPT, "--dry-run", env={**base_env, "GEMINI_API_KEY": GEMINI_KEY},
                    cwd=tmp_path)
    body = doc["requests"][0]["request"]["json"]
    assert body["contents"][0]["parts"][0]["text"] == PROMPT


def test_jobs_list_with_a_stored_non_latin_prompt(run, omni_env, tmp_path) -> None:
    made = run(video_main, PROMPT, "--duration", "4", env=omni_env)
    assert made.code == 0, made.doc
    doc, _ = script("jobs.py", "list", env=omni_env, cwd=tmp_path)
    assert [job["prompt"] for job in doc["jobs"]] == [PROMPT]


def test_gallery_with_a_stored_non_latin_prompt(run, fake_env, tmp_path) -> None:
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY}
    made = run(image_main, PROMPT, "-o", str(tmp_path / "shots"), env=env)
    assert made.code == 0, made.doc
    doc, _ = script("gallery.py", str(tmp_path / "shots"), env=env, cwd=tmp_path)
    page = Path(doc["path"]).read_text(encoding="utf-8")
    assert "☕" in page and "猫" in page
