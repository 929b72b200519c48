"""The README is tested like code.

* Every mediagen script call in it runs against the fake Google service (``tests/doc_commands.py``;
  the bundle's own documents run in tests/test_bundle_lint.py with the same runner). Every other
  command is on an explicit skip list; a documented example with a bad flag fails.
* The common-flags table says which script takes which flag; each script's parser must agree.
* The agent's example shot list is priced and dry-run on every video backend the agent names,
  and every reference it makes is used by a shot.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
from pathlib import Path

import pytest
import yaml

from tests.bundle_lint import fenced_blocks
from tests.conftest import ROOT, run_main
from tests.doc_commands import DocCommand, doc_commands, run_doc_command, script_env, unclassified, write_materials

README = ROOT / "README.md"
COMMANDS = doc_commands(README)
SCRIPT_CALLS = [c for c in COMMANDS if c.script]
ALL_SCRIPTS = sorted(p.name for p in (ROOT / "scripts").glob("*.py") if p.name not in ("setup_env.py", "mcp_bridge.py"))


@pytest.fixture
def materials(hermetic: Path, fake, fake_env) -> dict[str, str]:
    return write_materials(hermetic, fake, fake_env)


# -- commands ---------------------------------------------------------------------------------------

def test_every_readme_command_is_run_or_skipped_on_purpose() -> None:
    assert unclassified(COMMANDS) == []
    assert {c.script.group("script") for c in SCRIPT_CALLS} == set(ALL_SCRIPTS)
    assert len(SCRIPT_CALLS) >= 12
    skipped = {c.text.split()[0] for c in COMMANDS if c.skipped}
    assert {"git", "claude", "python3"} <= skipped          # git clone, claude plugin ..., pip


@pytest.mark.parametrize("command", SCRIPT_CALLS, ids=[f"README.md:{c.line}" for c in SCRIPT_CALLS])
def test_readme_command_runs(command: DocCommand, materials: dict[str, str], fake, fake_env) -> None:
    run_doc_command(command, materials, fake, fake_env)


BAD_DOC = """# Example page

```bash
python3 scripts/check_api.py
python3 scripts/image_gen.py --prompt-file prompt.txt --aspect-ration 16:9
rm -rf generated_images
```

Run `python3 scripts/video_gen.py --prompt-file prompt.txt --duration eight` for a clip.
"""


def test_a_documented_example_with_a_bad_flag_fails(tmp_path: Path, materials, fake, fake_env) -> None:
    doc = tmp_path / "page.md"
    doc.write_text(BAD_DOC)
    commands = doc_commands(doc)
    assert [c.text.split()[:2] for c in commands] == [["python3", "scripts/check_api.py"],
                                                       ["python3", "scripts/image_gen.py"], ["rm", "-rf"],
                                                       ["python3", "scripts/video_gen.py"]]
    assert unclassified(commands) == ["page.md:6: rm -rf generated_images"]
    run_doc_command(commands[0], materials, fake, fake_env)            # the good one passes
    for bad in (commands[1], commands[3]):
        with pytest.raises(AssertionError, match="exit_code.: 2"):
            run_doc_command(bad, materials, fake, fake_env)
    with pytest.raises(AssertionError, match="not on the skip list"):
        run_doc_command(commands[2], materials, fake, fake_env)


# -- the common-flags table ---------------------------------------------------------------------------

def parser_flags(script: str) -> set[str]:
    """Every option string a script accepts (subcommands included)."""
    if script == "mcp_server.py":
        from mediagen.mcp.server import parse_args

        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            parse_args(["--help"])
        return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", out.getvalue()))
    module = importlib.import_module(f"mediagen.cli.{script[:-3]}")

    def walk(parser: argparse.ArgumentParser) -> set[str]:
        found = set(parser._option_string_actions)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    found |= walk(child)
        return found
    return walk(module.build_parser(io.StringIO()))


def flags_table() -> dict[str, set[str]]:
    """flag -> the scripts README's common-flags table says take it."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("Common flags"):].split("\n\n")[1]
    claims: dict[str, set[str]] = {}
    for row in table.splitlines()[2:]:
        flags_cell, scripts_cell = row.strip("|").split("|")
        scripts = set(ALL_SCRIPTS) if scripts_cell.strip() == "all" else set(re.findall(r"`(\w+\.py)`", scripts_cell))
        for flag in re.findall(r"`(--[a-z-]+)[^`]*`", flags_cell):
            claims[flag] = scripts
    return claims


def test_common_flags_table_matches_the_parsers() -> None:
    claims = flags_table()
    assert {"--help", "--show-defaults", "--dry-run", "--estimate-cost", "--max-cost", "--prompt-file"} <= set(claims)
    actual = {script: parser_flags(script) for script in ALL_SCRIPTS}
    wrong = {flag: {"README": sorted(scripts), "parsers": sorted(s for s in ALL_SCRIPTS if flag in actual[s])}
             for flag, scripts in claims.items() if scripts != {s for s in ALL_SCRIPTS if flag in actual[s]}}
    assert wrong == {}


@pytest.mark.parametrize("script", ALL_SCRIPTS)
def test_every_script_answers_help(script: str) -> None:
    """README: every script takes --help (and prints usage)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--help"], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and "usage:" in proc.stdout, proc.stderr


# -- the agent's example shot list ----------------------------------------------------------------------

AGENT = ROOT / ".claude" / "agents" / "media-navigator.md"
# The video backends the agent names: Omni with a Gemini API key, Veo on Vertex AI (CLIProxyAPI has no video).
VIDEO_BACKENDS = {"gemini-api": "Gemini API", "vertex": "Vertex AI"}


def agent_shot_list() -> dict:
    blocks = [b for info, _, b in fenced_blocks(AGENT.read_text()) if info == "yaml"]
    [example] = [yaml.safe_load("\n".join(b)) for b in blocks if any(line.startswith("shots:") for line in b)]
    return example


def test_agent_example_uses_every_reference_it_makes() -> None:
    example = agent_shot_list()
    used = {ref for shot in example["shots"] for ref in shot.get("references") or []}
    made = {ref["id"] for ref in example.get("references") or []}
    assert made == used, f"references no shot uses: {made - used}; unknown ones: {used - made}"
    body = AGENT.read_text()
    assert all(name in body for name in VIDEO_BACKENDS.values())


@pytest.mark.parametrize("flag", ["--estimate-cost", "--dry-run"])
@pytest.mark.parametrize("backend", sorted(VIDEO_BACKENDS))
def test_agent_example_runs_on_each_backend(backend: str, flag: str, hermetic: Path, fake, fake_env) -> None:
    from mediagen.cli import storyboard
    from tests.fake_google.media import image_bytes

    example = agent_shot_list()
    for ref in example.get("references") or []:           # existing images the example points at
        if "path" in ref:
            (hermetic / ref["path"]).parent.mkdir(parents=True, exist_ok=True)
            (hermetic / ref["path"]).write_bytes(image_bytes(320, 180))
    shots = hermetic / "shots.yaml"
    shots.write_text(yaml.safe_dump(example, sort_keys=False))
    argv = [str(shots), flag, "--backend", backend]
    result = run_main(storyboard.main, *argv, env=script_env(fake, fake_env, argv))
    assert result.code == 0, result.doc
    budget = result.doc["budget"]
    assert [s["id"] for s in budget["shots"]] == [s["id"] for s in example["shots"]]
    assert {s["transition"] for s in budget["shots"]} == {"cut", "continue", "extend"}
    assert budget["priced"] is True
    assert not [r for r in fake.requests if r.method == "POST" and ("interactions" in r.path or "predict" in r.path)]


# -- output folders -------------------------------------------------------------------------------------

def test_default_output_folders_are_documented_and_ignored() -> None:
    package = ROOT / "scripts" / "mediagen"
    folders = {m for path in package.rglob("*.py") for m in re.findall(r'"(generated_[a-z]+)', path.read_text())}
    assert folders == {"generated_images", "generated_videos", "generated_batch"}
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    readme = README.read_text()
    for folder in folders:
        assert f"/{folder}/" in ignored, folder
        assert f"`{folder}/" in readme, folder
