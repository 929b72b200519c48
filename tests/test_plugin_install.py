"""First run anywhere: ``claude plugin install`` from a clean HOME, and no pip run by hand.

The pinned Claude Code CLI (see tests/test_bundle_cli.py) installs the plugin from a local
marketplace made of this repository's files. ``python3`` on PATH is a bare virtual
environment without any of the packages in requirements.txt, and pip may only use the local
wheelhouse that ``.ci/run`` prepares (``PIP_NO_INDEX=1``, ``PIP_FIND_LINKS``):

1. the first session's SessionStart hook builds the plugin's environment in its data folder
   and says so; the MCP server comes up connected (never "failed", which Claude Code would
   remember for 15 minutes);
2. the next session's MCP server runs in that environment with all its tools, and a skill's
   script call (a ``!`` injection line, as in test_bundle_cli) succeeds through the bare
   ``python3`` because the script re-runs itself under the exported ``MEDIAGEN_PYTHON``.

Without the wheelhouse (``tests/tools/wheelhouse``, made by
``python3 -m pip download -r requirements.txt -d tests/tools/wheelhouse``) the test skips,
except in CI (``CI=true``), where it fails.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.test_bundle_cli import PLUGIN, cli_env, headless, init_event, pinned_cli, run_cli, session_start_hooks

WHEELHOUSE = ROOT / "tests" / "tools" / "wheelhouse"
SERVER = f"plugin:{PLUGIN}:{PLUGIN}"
PROBE = """---
name: probe-scripts
description: Probe of a mediagen script call from an installed plugin. Use when testing.
allowed-tools:
  - Bash(python3 "${CLAUDE_SKILL_DIR}/../../../scripts/estimate_cost.py" *)
---
Estimate: !`python3 "${CLAUDE_SKILL_DIR}/../../../scripts/estimate_cost.py" image --image-size 1K`
"""


@pytest.fixture(scope="module")
def claude() -> Path:
    return pinned_cli()


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    if not any(WHEELHOUSE.glob("*.whl")):
        message = (f"{WHEELHOUSE.relative_to(ROOT)} has no wheels: run "
                   f"`python3 -m pip download -r requirements.txt -d {WHEELHOUSE.relative_to(ROOT)}` (.ci/run does)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return WHEELHOUSE


def marketplace(tmp_path: Path) -> Path:
    """A local marketplace: this repository's files (tracked and new, not ignored) plus a probe skill."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    target = tmp_path / "marketplace"
    for rel in filter(None, listed):
        source = ROOT / rel
        if source.is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    probe = target / ".claude" / "skills" / "probe-scripts" / "SKILL.md"
    probe.parent.mkdir(parents=True)
    probe.write_text(PROBE)
    return target


def bare_python(tmp_path: Path) -> Path:
    """A Python without mediagen's packages, first on PATH as python3 (and python)."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    probe = subprocess.run([str(bin_dir / "python3"), "-c", "import yaml"], capture_output=True)
    assert probe.returncode != 0, "the bare python3 must not have the packages"
    return bin_dir


def server_status(init: dict[str, Any]) -> str | None:
    return next((s["status"] for s in init["mcp_servers"] if s["name"] == SERVER), None)


def test_plugin_install_provisions_python_without_a_manual_pip(claude: Path, wheelhouse: Path, tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    env = cli_env(home, provision=True)
    env["PATH"] = os.pathsep.join([str(bare_python(tmp_path)), env.get("PATH", "")])
    env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse), "PIP_DISABLE_PIP_VERSION_CHECK": "1"})

    for args in (("plugin", "marketplace", "add", str(marketplace(tmp_path))),
                 ("plugin", "install", f"{PLUGIN}@{PLUGIN}")):
        proc = run_cli(claude, *args, cwd=project, home=home, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    # 1. First session: the hook builds the environment; the server answers (stand-in or real).
    first = headless(claude, "ping", cwd=project, home=home, env=env)
    [hook] = session_start_hooks(first)
    assert hook["exit_code"] == 0, hook
    answer = json.loads(hook["stdout"])
    assert "installed its Python packages into" in answer["systemMessage"], answer
    assert server_status(init_event(first)) == "connected", init_event(first)["mcp_servers"]
    failures = home / ".claude" / "mcp-needs-auth-cache.json"
    assert SERVER not in (json.loads(failures.read_text()) if failures.exists() else {})
    data = home / ".claude" / "plugins" / "data" / f"{PLUGIN}-{PLUGIN}"
    state = json.loads((data / "venv-state.json").read_text())
    assert Path(state["python"]).parent.parent == data / "venv"

    # 2. Next session: nothing to build; the real server with its tools; a skill's script call works.
    for attempt in range(3):
        second = headless(claude, f"/{PLUGIN}:probe-scripts", cwd=project, home=home, env=env)
        if server_status(init_event(second)) != "pending":
            break
    [hook] = session_start_hooks(second)
    assert (hook["exit_code"], hook["stdout"]) == (0, ""), hook
    init = init_event(second)
    assert server_status(init) == "connected", init["mcp_servers"]
    assert f"mcp__plugin_{PLUGIN}_{PLUGIN}__generate_image" in init["tools"]
    transcript = "\n".join(p.read_text() for p in (home / ".claude" / "projects").rglob("*.jsonl"))
    assert "local-command-stderr" not in transcript and "permission check failed" not in transcript
    assert '\\"command\\": \\"estimate_cost\\"' in transcript and '\\"ok\\": true' in transcript, transcript[-3000:]
