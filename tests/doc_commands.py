"""Documented commands as tests: find every mediagen script call in the docs and run it against the fake.

Two kinds of documents, one runner:

* the Claude Code bundle (skills, their reference files, the agent): commands are found by
  ``tests/bundle_lint.py`` (``python3 "${CLAUDE_SKILL_DIR}/../../../scripts/<x>.py" ...`` and
  ``MEDIAGEN_ROOT/scripts/...``), with UPPER_CASE placeholders (``PROMPT_FILE``, ``JOB_ID``);
* the README (and any other Markdown page): ``python3 scripts/<x>.py ...`` (also ``python`` or
  ``py -3``, after optional ``VAR=value`` assignments) in ``bash`` blocks and inline code. Every
  other line of a ``bash`` block, and every inline span that starts with a command word, must be
  on ``SKIPPED`` (commands that are not mediagen scripts: ``git clone``, ``claude plugin ...``,
  ``pip``, ``ffmpeg`` ...) or extraction reports it.

``run_script`` runs one call in-process (``main(argv, env=...)``) in the current directory,
where ``write_materials`` has put the files the examples name; a spending command gets
``--dry-run`` unless it already has a free flag, and must then send nothing billable. The MCP
server is not started: its arguments are parsed.
"""
from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediagen.cli import (batch_gen, check_api, estimate_cost, gallery, image_gen, jobs, sessions, storyboard,
                          video_gen)
from tests.bundle_lint import commands_in, fenced_blocks
from tests.conftest import GEMINI_KEY, run_main

MAINS = {"check_api.py": check_api.main, "estimate_cost.py": estimate_cost.main, "image_gen.py": image_gen.main,
         "video_gen.py": video_gen.main, "jobs.py": jobs.main, "storyboard.py": storyboard.main,
         "batch_gen.py": batch_gen.main, "gallery.py": gallery.main, "sessions.py": sessions.main}
SERVER_SCRIPTS = {"mcp_server.py"}
FREE_FLAGS = {"--dry-run", "--list-presets", "--show-defaults", "--estimate-cost", "--help", "--version"}
SPENDING = {"image_gen.py", "video_gen.py", "storyboard.py", "batch_gen.py"}
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\bMAX_USD\b")

DOC_SCRIPT = re.compile(r'^(?P<env>(?:[A-Z][A-Z0-9_]*=\S+\s+)*)(?P<launcher>python3|python|py -3) '
                        r'"?(?P<path>(?:[^"\s]*/)?scripts/(?P<script>[A-Za-z0-9_]+\.py))"?(?P<args>(?: .*)?)$')
# Commands in the docs that are not mediagen script calls, and why they are not run here.
SKIPPED = {
    "git clone ": "installs the repository",
    "git pull": "updates a clone",
    "claude ": "the Claude Code CLI (tests/test_bundle_cli.py and tests/test_plugin_install.py run it)",
    "/plugin ": "a Claude Code slash command",
    "codex ": "another MCP client",
    "python3 -m pip ": "installs packages",
    "py -3 -m pip ": "installs packages",
    "pip ": "installs packages",
    "python3 -m pytest": "the test suite itself",
    "python3 tests/": "test tooling",
    "npm ": "installs the test CLI",
    "ffmpeg ": "a local tool (the video skill's frame check runs it in tests/test_bundle_lint.py)",
    "ffprobe ": "a local tool",
    "command -v ": "a shell built-in",
    "sudo apt": "a system package manager",
    "apt ": "a system package manager",
    "brew ": "a system package manager",
    "winget ": "a system package manager",
    "choco ": "a system package manager",
    "export ": "sets an environment variable",
    "setx ": "sets an environment variable (Windows)",
    "$env:": "sets an environment variable (PowerShell)",
    "gcloud ": "Google's CLI",
}
COMMAND_WORDS = ("python3 ", "python ", "py -3 ", "pip ", "git ", "claude ", "codex ", "ffmpeg ", "ffprobe ",
                 "npm ", "sudo ", "apt ", "brew ", "winget ", "choco ", "gcloud ")


@dataclass(frozen=True)
class DocCommand:
    """One command line found in a Markdown file."""

    file: Path
    line: int
    text: str
    inline: bool = False

    @property
    def script(self) -> re.Match[str] | None:
        return DOC_SCRIPT.match(self.text)

    @property
    def skipped(self) -> str | None:
        """Why this command is not run, when it is on the skip list."""
        return next((why for prefix, why in SKIPPED.items() if self.text.startswith(prefix)), None)

    def where(self) -> str:
        return f"{self.file.name}:{self.line}"


def doc_commands(path: Path) -> list[DocCommand]:
    """Every command of a Markdown page: ``bash`` block lines, and inline spans that start with a command word."""
    found = [DocCommand(path, c.line, c.text) for c in commands_in(path)]
    in_blocks = {n for _, start, lines in fenced_blocks(path.read_text(encoding="utf-8"))
                 for n in range(start - 1, start + len(lines) + 1)}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if number in in_blocks:
            continue
        for span in re.findall(r"`([^`\n]+)`", line):
            text = span.strip()
            if text.startswith(COMMAND_WORDS) or DOC_SCRIPT.match(text):
                found.append(DocCommand(path, number, text, inline=True))
    return found


def unclassified(commands: list[DocCommand]) -> list[str]:
    """Commands that are neither a script call nor on the skip list (each needs one or the other)."""
    return [f"{c.where()}: {c.text}" for c in commands if c.script is None and c.skipped is None]


# -- running ------------------------------------------------------------------------------------------

def substitute(text: str, values: dict[str, str]) -> str:
    """Replace UPPER_CASE placeholders with real values; an unknown placeholder is an error."""
    def one(m: re.Match[str]) -> str:
        if m.group(0) not in values:
            raise AssertionError(f"undocumented placeholder {m.group(0)} in: {text}")
        return values[m.group(0)]
    return PLACEHOLDER.sub(one, text)


def script_env(fake, fake_env: dict[str, str], argv: list[str]) -> dict[str, str]:
    """A Gemini API key for the fake; a Vertex token and project too when the command asks for Vertex."""
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY,
           "MEDIAGEN_POLL_FIRST_S": "0.01", "MEDIAGEN_POLL_INTERVAL_S": "0.05",
           "MEDIAGEN_POLLS_PER_MINUTE": "60000"}
    if "vertex" in argv:
        token = "ya29.fake-docs-test"
        fake.register_token(token)
        env.update({"GOOGLE_OAUTH_ACCESS_TOKEN": token, "GOOGLE_CLOUD_PROJECT": "fake-project"})
    return env


def run_script(script: str, args: str, materials: dict[str, str], fake, fake_env: dict[str, str],
               where: str = "") -> dict[str, Any]:
    """Run one documented call of ``script`` with ``args``; raise AssertionError unless it succeeds."""
    argv = [substitute(arg, materials) for arg in shlex.split(args, comments=True)]
    if script in SERVER_SCRIPTS:
        from mediagen.mcp.server import parse_args

        try:
            parse_args(argv)
        except SystemExit as exc:
            raise AssertionError(f"{where}: {script} {' '.join(argv)}: the server refuses these arguments") from exc
        return {}
    assert script in MAINS, f"{where}: no runner for {script}"
    if script in SPENDING and not FREE_FLAGS & set(argv):
        argv.append("--dry-run")
    result = run_main(MAINS[script], *argv, env=script_env(fake, fake_env, argv))
    if "--help" in argv or "--version" in argv:
        assert result.code == 0 and result.stdout.strip(), f"{where}: {result.stderr}"
        return {}
    assert result.code == 0, f"{where}: {script} {' '.join(argv)}\n{json.dumps(result.doc, indent=1)[:2000]}"
    assert result.doc["ok"] is True
    if "--dry-run" in argv:
        assert result.doc.get("dry_run") is True
    sent = [r for r in fake.requests if r.method == "POST" and ("generate" in r.path or "interactions" in r.path
                                                                  or "predict" in r.path or "batch" in r.path)]
    if script in SPENDING:
        assert sent == [], f"{where}: a documented example sent a billable request"
    return result.doc


def run_doc_command(command: DocCommand, materials: dict[str, str], fake, fake_env: dict[str, str]) -> None:
    """Run a README-style command (``python3 scripts/x.py ...``); skip-listed ones are not run."""
    m = command.script
    if m is None:
        assert command.skipped, f"{command.where()}: not a mediagen script call and not on the skip list: {command.text}"
        return
    run_script(m.group("script"), m.group("args"), materials, fake, fake_env, command.where())


# -- the files the examples name ----------------------------------------------------------------------

SHOT_LIST = ("version: 1\ntitle: Test\nshots:\n"
             "  - {id: s1, prompt: a fox trots through snow, duration: 6, transition: cut}\n"
             "  - {id: s2, prompt: the fox looks up, duration: 4, transition: continue}\n")


def write_materials(work: Path, fake, fake_env: dict[str, str]) -> dict[str, str]:
    """Write the inputs the examples name into ``work`` (the current directory); return the placeholders."""
    from tests.fake_google.media import image_bytes, mp4_bytes

    png, clip = image_bytes(320, 180), mp4_bytes(4.0)
    files = {"prompt.txt": b"A red fox trotting through fresh snow at dawn, watercolor\n",
             "prompts.txt": b"a red fox in snow\na paper plane over a city\n",
             "shots.yaml": SHOT_LIST.encode(), "sketch.png": png, "first.png": png,
             "generated_videos/cat.mp4": clip, "materials/input.png": png, "materials/mask.png": png,
             "materials/clip.mp4": clip}
    for rel, data in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    env = script_env(fake, fake_env, [])
    made = run_main(image_gen.main, "--prompt-file", str(work / "prompt.txt"), env=env)
    assert made.code == 0, made.doc                        # generated_images/ with an image and its sidecar
    image = run_main(image_gen.main, "a red fox in snow", "-o", str(work / "out.png"), env=env)
    assert image.code == 0, image.doc                      # out.png, a session's first turn (--continue examples)
    clip = run_main(video_gen.main, "a cat walking", "--duration", "4", "-o", str(work / "clip.mp4"), env=env)
    assert clip.code == 0, clip.doc                         # clip.mp4, an Omni turn
    started = run_main(video_gen.main, "--prompt-file", str(work / "prompt.txt"), "--preset", "quick",
                       "--no-wait", env=env)
    assert started.code == 0, started.doc
    fake.clear()
    fake.config.interaction_polls_until_done = 0          # the job is done at its first poll
    fake.config.operation_polls_until_done = 0
    png_path, mat = str(work / "materials" / "input.png"), work / "materials"
    return {"PROMPT_FILE": str(work / "prompt.txt"), "INPUT_IMAGE": png_path, "FIRST_FRAME": png_path,
            "LAST_FRAME": png_path, "REFERENCE_IMAGE": png_path, "MASK_IMAGE": str(mat / "mask.png"),
            "VIDEO_PATH": str(mat / "clip.mp4"), "FRAME_PATH": str(mat / "clip.frame.png"),
            "JOB_ID": started.doc["job_id"], "MAX_USD": "5", "SHOT_LIST": str(work / "shots.yaml"),
            "SESSION_ID": image.doc["images"][0]["session"]["id"], "RESULT_PATH": str(work / "out.png"),
            "CLIP_PATH": str(work / "clip.mp4"), "BATCH_FILE": str(work / "prompts.txt")}
