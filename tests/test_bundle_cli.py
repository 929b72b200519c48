"""The bundle under the real Claude Code CLI, pinned in tests/tools/claude-cli (no login, no network).

* ``claude plugin validate --strict`` passes for the marketplace, the plugin manifest and
  the ``.claude`` components.
* A headless run's ``system/init`` event lists the three skills and the agent: from the
  repository as a project, from ``--plugin-dir`` (names namespaced ``mediagen:``), and
  from a per-user clone under ``~/.claude/skills/``.
* Every ``allowed-tools`` rule of each skill really pre-approves the command form the
  skill uses: a probe skill with the same rules runs each script via ``!`` injection,
  which Claude Code aborts when a command is not allowed.

The binary is ``tests/tools/claude-cli/node_modules/.bin/claude`` (``npm ci --prefix tests/tools/claude-cli``). Without it these tests skip,
except in CI (``CI=true``), where they fail.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_lint import RULE_RE, split_frontmatter, tool_entries
from tests.conftest import ROOT

CLI_DIR = ROOT / "tests" / "tools" / "claude-cli"
CLAUDE = CLI_DIR / "node_modules" / ".bin" / "claude"
SKILLS = {"generate-image", "generate-video", "generative"}
AGENT = "media-navigator"
PLUGIN = "mediagen"
# Only what the CLI needs; no credentials of any kind reach it.
PASS_ENV = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


@pytest.fixture(scope="module")
def claude() -> Path:
    return pinned_cli()


def pinned_cli() -> Path:
    """The pinned CLI; a skip when it is not installed, a failure in CI."""
    if not CLAUDE.exists():
        message = f"{CLAUDE.relative_to(ROOT)} is missing: run `npm ci --prefix tests/tools/claude-cli` (its package.json pins @anthropic-ai/claude-code)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CLAUDE


def cli_env(home: Path, *, provision: bool = False) -> dict[str, str]:
    """The CLI's environment. Unless ``provision``, the plugin's SessionStart hook is told to use this
    interpreter (``MEDIAGEN_PYTHON``) instead of building its own environment in every fresh HOME;
    tests/test_plugin_install.py covers the building."""
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update({"HOME": str(home), "USERPROFILE": str(home), "DISABLE_AUTOUPDATER": "1",
                "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"})
    if not provision:
        env["MEDIAGEN_PYTHON"] = sys.executable
    return env


def run_cli(claude: Path, *args: str, cwd: Path, home: Path, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(claude), *args], cwd=cwd, env=cli_env(home) if env is None else env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def headless(claude: Path, prompt: str, *extra: str, cwd: Path, home: Path,
             env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Events of ``claude -p PROMPT --output-format stream-json --verbose`` (it stops at the login check)."""
    proc = run_cli(claude, "-p", prompt, "--output-format", "stream-json", "--verbose", *extra, cwd=cwd, home=home,
                   env=env)
    events = []
    for line in proc.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    assert events, f"no stream-json events (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return events


def init_event(events: list[dict[str, Any]]) -> dict[str, Any]:
    found = [e for e in events if e.get("type") == "system" and e.get("subtype") == "init"]
    assert found, f"no system/init event in {[e.get('type') for e in events]}"
    return found[0]


def test_cli_is_the_pinned_version(claude: Path, tmp_path: Path) -> None:
    pinned = json.loads((CLI_DIR / "package.json").read_text())["devDependencies"]["@anthropic-ai/claude-code"]
    proc = run_cli(claude, "--version", cwd=tmp_path, home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == pinned


@pytest.mark.parametrize("target, kind", [(".", "marketplace manifest"),
                                          (".claude-plugin/plugin.json", "plugin manifest"),
                                          (".claude", "components")])
def test_plugin_validate_strict(claude: Path, tmp_path: Path, target: str, kind: str) -> None:
    proc = run_cli(claude, "plugin", "validate", target, "--strict", cwd=ROOT, home=tmp_path / "home")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Validation passed" in output and kind in output, output


def test_discovery_from_the_repository(claude: Path, tmp_path: Path) -> None:
    init = init_event(headless(claude, "ping", cwd=ROOT, home=tmp_path / "home"))
    assert SKILLS <= set(init["skills"]), init["skills"]
    assert SKILLS <= set(init["slash_commands"])
    assert AGENT in init["agents"], init["agents"]


def session_start_hooks(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``hook_response`` events of SessionStart hooks."""
    return [e for e in events if e.get("subtype") == "hook_response" and e.get("hook_event") == "SessionStart"]


def test_discovery_as_a_plugin(claude: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "some-project"
    elsewhere.mkdir()
    events = headless(claude, "ping", "--plugin-dir", str(ROOT), cwd=elsewhere, home=tmp_path / "home")
    init = init_event(events)
    # The plugin's SessionStart hook ran and, with MEDIAGEN_PYTHON given, built nothing and said nothing.
    [hook] = session_start_hooks(events)
    assert (hook["exit_code"], hook["stdout"]) == (0, ""), hook
    assert {f"{PLUGIN}:{s}" for s in SKILLS} <= set(init["skills"]), init["skills"]
    assert f"{PLUGIN}:{AGENT}" in init["agents"], init["agents"]
    plugins = {p["name"]: p for p in init.get("plugins") or []}
    assert PLUGIN in plugins, init.get("plugins")
    assert plugins[PLUGIN]["version"] == json.loads((ROOT / ".claude-plugin" / "plugin.json").read_text())["version"]
    assert not init.get("plugin_errors"), init.get("plugin_errors")


def test_discovery_as_a_per_user_clone(claude: Path, tmp_path: Path) -> None:
    """README's per-user install: the repository under ~/.claude/skills/ loads as plugin mediagen@skills-dir."""
    home = tmp_path / "home"
    (home / ".claude" / "skills").mkdir(parents=True)
    (home / ".claude" / "skills" / PLUGIN).symlink_to(ROOT, target_is_directory=True)
    elsewhere = tmp_path / "some-project"
    elsewhere.mkdir()
    events = headless(claude, "ping", cwd=elsewhere, home=home)
    init = init_event(events)
    [hook] = session_start_hooks(events)          # a clone gets the plugin's SessionStart hook too
    assert hook["exit_code"] == 0, hook
    assert {f"{PLUGIN}:{s}" for s in SKILLS} <= set(init["skills"]), init["skills"]
    assert f"{PLUGIN}:{AGENT}" in init["agents"], init["agents"]
    assert not init.get("plugin_errors"), init.get("plugin_errors")


# -- allowed-tools really pre-approve the commands --------------------------------

PROBE_RULE = re.compile(r'^python3 "(?P<path>\$\{CLAUDE_SKILL_DIR\}/[^"]+\.py)" \*$')


def probe_lines(rules: list[str], workdir: Path) -> list[str]:
    """One ``!`` injection line per Bash rule, in the exact command form the skill uses."""
    lines = []
    for rule in rules:
        m = RULE_RE.match(rule)
        if not m or m.group("tool") != "Bash":
            continue
        spec = m.group("spec")
        if spec.startswith("py -3 "):
            continue                       # the Windows launcher: same path, checked by the linter
        script = PROBE_RULE.match(spec)
        if script:
            lines.append(f'!`python3 "{script.group("path")}" --version`')
        elif spec == "command -v ffmpeg":
            lines.append("!`command -v ffmpeg || true`")
        elif spec.startswith("ffmpeg "):
            if shutil.which("ffmpeg"):
                from tests.fake_google.media import mp4_bytes

                clip = workdir / "probe.mp4"
                clip.write_bytes(mp4_bytes(2.0))
                lines.append(f'!`ffmpeg -hide_banner -loglevel error -n -ss 1 -i "{clip}" -frames:v 1 '
                             f'"{workdir / "probe-frame.png"}"`')
        else:
            raise AssertionError(f"no probe for Bash rule {rule!r}")
    return lines


@pytest.mark.parametrize("skill", sorted(SKILLS))
def test_allowed_tools_approve_the_skill_commands(claude: Path, tmp_path: Path, skill: str) -> None:
    meta, _, _ = split_frontmatter((ROOT / ".claude" / "skills" / skill / "SKILL.md").read_text())
    rules = tool_entries(meta["allowed-tools"])
    project = tmp_path / "project"
    probe_dir = project / ".claude" / "skills" / skill
    probe_dir.mkdir(parents=True)
    (project / "scripts").symlink_to(ROOT / "scripts", target_is_directory=True)
    lines = probe_lines(rules, tmp_path)
    assert len(lines) >= 2
    frontmatter = {"name": skill, "description": f"Probe of the {skill} allowed-tools rules. Use when testing.",
                   "allowed-tools": rules}
    body = "\n".join(f"Probe {i}: {line}" for i, line in enumerate(lines))
    (probe_dir / "SKILL.md").write_text("---\n" + json.dumps(frontmatter, indent=1) + "\n---\n" + body + "\n")
    events = headless(claude, f"/{skill}", cwd=project, home=tmp_path / "home")
    text = json.dumps(events)
    assert "permission check failed" not in text, [e for e in events if "permission check failed" in json.dumps(e)]
    assert "local-command-stderr" not in text, text[-3000:]
    # The expansion finished and Claude Code went on to the model call (which stops at login).
    results = [e for e in events if e.get("type") == "result"]
    assert results and results[-1].get("num_turns", 0) >= 1, results
