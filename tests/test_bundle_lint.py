"""The Claude Code bundle (.claude/, .claude-plugin/): static lint, and every documented command runs.

* ``lint_bundle`` passes on the bundle and catches deliberately broken copies.
* Every command line in the skills, their reference files and the agent runs
  in-process against the fake Google service and succeeds: spending commands get
  ``--dry-run`` added, placeholders become real temporary files.
"""
from __future__ import annotations

import io
import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

import mediagen
from mediagen.cli import image_gen
from tests.bundle_lint import bundle_commands, lint_bundle, package_version, rule_matches, tool_entries
from tests.conftest import ROOT
from tests.doc_commands import MAINS, SERVER_SCRIPTS, run_script, substitute, write_materials


# -- the linter on the real bundle ---------------------------------------------

def test_bundle_is_clean() -> None:
    assert lint_bundle(ROOT) == []


def test_plugin_version_is_the_package_version() -> None:
    plugin = json.loads((ROOT / ".claude-plugin" / "plugin.json").read_text())
    market = json.loads((ROOT / ".claude-plugin" / "marketplace.json").read_text())
    assert plugin["version"] == mediagen.__version__ == package_version(ROOT)
    entry = next(p for p in market["plugins"] if p["name"] == plugin["name"])
    assert entry["source"] == "./"
    assert entry.get("version", plugin["version"]) == plugin["version"]


def test_skills_and_agent_are_the_expected_set() -> None:
    skills = sorted(p.name for p in (ROOT / ".claude" / "skills").iterdir() if (p / "SKILL.md").is_file())
    assert skills == ["generate-image", "generate-video", "generative"]
    assert (ROOT / ".claude" / "agents" / "media-navigator.md").is_file()


def test_generate_image_auto_triggers_and_no_user_text_reaches_a_shell() -> None:
    from tests.bundle_lint import split_frontmatter

    for name in ("generate-image", "generate-video", "generative"):
        meta, body, _ = split_frontmatter((ROOT / ".claude" / "skills" / name / "SKILL.md").read_text())
        assert not meta.get("disable-model-invocation"), name
        assert "--prompt-file" in body or name == "generative"
        assert "!`" not in body, f"{name}: no shell injection lines at all"
        # $ARGUMENTS appears only as the trailing data line, never in a command.
        for line in body.splitlines():
            if "$ARGUMENTS" in line:
                assert line.startswith(("Request:", "Arguments:")), line


@pytest.mark.parametrize("spec, command, expected", [
    ('python3 "x/scripts/a.py" *', 'python3 "x/scripts/a.py"', True),
    ('python3 "x/scripts/a.py" *', 'python3 "x/scripts/a.py" --dry-run', True),
    ('python3 "x/scripts/a.py" *', 'python3 "x/scripts/b.py" --dry-run', False),
    ('python3 "x/scripts/a.py" *', 'python3 "x/scripts/a.pyc"', False),
    ("command -v ffmpeg", "command -v ffmpeg", True),
    ("git diff:*", "git diff --stat", True),
])
def test_rule_matching(spec: str, command: str, expected: bool) -> None:
    assert rule_matches(spec, command) is expected


def test_tool_entries_accepts_the_three_spellings() -> None:
    assert tool_entries("Read, Glob") == ["Read", "Glob"]
    assert tool_entries('Bash(python3 "a b" *) Read') == ['Bash(python3 "a b" *)', "Read"]
    assert tool_entries(["Read", "Write"]) == ["Read", "Write"]


# -- the linter on broken copies ------------------------------------------------

def bundle_copy(tmp_path: Path) -> Path:
    """A copy of everything the linter looks at."""
    dst = tmp_path / "bundle"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in (".claude", ".claude-plugin", "scripts", "presets", "hooks"):
        shutil.copytree(ROOT / name, dst / name, ignore=ignore)
    shutil.copy2(ROOT / "requirements.txt", dst / "requirements.txt")
    (dst / "tests" / "tools" / "claude-cli").mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(ROOT / "tests" / "tools" / "claude-cli" / name, dst / "tests" / "tools" / "claude-cli" / name)
    return dst


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


IMAGE_SKILL = ".claude/skills/generate-image/SKILL.md"
AGENT = ".claude/agents/media-navigator.md"


def _bad_name(root: Path) -> None:
    edit(root / IMAGE_SKILL, "name: generate-image", "name: Generate_Image")


def _name_not_folder(root: Path) -> None:
    edit(root / IMAGE_SKILL, "name: generate-image", "name: make-image")


def _missing_script(root: Path) -> None:
    edit(root / IMAGE_SKILL, 'scripts/image_gen.py" --list-presets', 'scripts/image_gen_v2.py" --list-presets')


def _broken_script_help(root: Path) -> None:
    (root / "scripts" / "check_api.py").write_text("raise SystemExit(3)\n")


def _not_pre_approved(root: Path) -> None:
    edit(root / IMAGE_SKILL, '  - Bash(python3 "${CLAUDE_SKILL_DIR}/../../../scripts/image_gen.py" *)\n', "")


def _unused_rule(root: Path) -> None:
    edit(root / IMAGE_SKILL, "  - Read\n", '  - Bash(python3 "${CLAUDE_SKILL_DIR}/../../../scripts/jobs.py" *)\n  - Read\n')


def _bare_bash(root: Path) -> None:
    edit(root / IMAGE_SKILL, "  - Read\n", "  - Bash\n  - Read\n")


def _cwd_relative_script(root: Path) -> None:
    edit(root / IMAGE_SKILL, 'python3 "${CLAUDE_SKILL_DIR}/../../../scripts/image_gen.py" --list-presets',
         'python3 "scripts/image_gen.py" --list-presets')


def _no_when_clause(root: Path) -> None:
    edit(root / IMAGE_SKILL, "Use when the user asks", "Handy if the user asks")


def _no_trigger_words(root: Path) -> None:
    edit(root / IMAGE_SKILL, "picture, photo, icon, logo,", "")


def _injection(root: Path) -> None:
    edit(root / IMAGE_SKILL, "Request: $ARGUMENTS", 'Context: !`echo "$ARGUMENTS"`\n\nRequest: $ARGUMENTS')


def _missing_reference(root: Path) -> None:
    (root / ".claude/skills/generate-image/reference/image-options.md").unlink()


def _frontmatter_not_first(root: Path) -> None:
    path = root / IMAGE_SKILL
    path.write_text("\n" + path.read_text())


def _unknown_key(root: Path) -> None:
    edit(root / IMAGE_SKILL, "argument-hint:", "triggers: [image]\nargument-hint:")


def _long_body(root: Path) -> None:
    path = root / IMAGE_SKILL
    path.write_text(path.read_text() + "filler line\n" * 520)


def _version_mismatch(root: Path) -> None:
    edit(root / ".claude-plugin/plugin.json", '"version": "0.1.0"', '"version": "0.2.0"')


def _marketplace_source(root: Path) -> None:
    edit(root / ".claude-plugin/marketplace.json", '"source": "./"', '"source": "../mediagen"')


def _agent_scoped_bash(root: Path) -> None:
    edit(root / AGENT, "tools: Read, Glob, Grep, Write, Bash", "tools: Read, Bash(python3 *)")


def _agent_not_shipped(root: Path) -> None:
    shutil.copy2(root / AGENT, root / ".claude/agents/media-helper.md")
    edit(root / ".claude/agents/media-helper.md", "name: media-navigator", "name: media-helper")


def _agent_asks_user(root: Path) -> None:
    edit(root / AGENT, "tools: Read, Glob, Grep, Write, Bash", "tools: Read, Glob, Grep, Write, Bash, AskUserQuestion")


def _shot_list_example(root: Path) -> None:
    edit(root / AGENT, "transition: extend       #", "transition: dissolve     #")


def _bare_script_hint(root: Path) -> None:
    edit(root / ".claude/skills/generate-video/SKILL.md", "resume it with the free `wait` command of step 4",
         "resume it with `jobs.py wait JOB_ID`")


def _posix_only_variable(root: Path) -> None:
    edit(root / ".claude/skills/generative/reference/troubleshooting.md",
         ' (PowerShell: `$env:GOOGLE_GENAI_USE_VERTEXAI="true"`)', "")


def _extra_manifest_file(root: Path) -> None:
    (root / ".claude-plugin" / "hooks.json").write_text("{}")


def _loose_cli_pin(root: Path) -> None:
    edit(root / "tests" / "tools" / "claude-cli" / "package.json", '"@anthropic-ai/claude-code": "',
         '"@anthropic-ai/claude-code": "^')


BREAKAGES = {
    "bad name": (_bad_name, "name"),
    "name differs from folder": (_name_not_folder, "must equal the folder name"),
    "missing script": (_missing_script, "image_gen_v2.py does not exist"),
    "script --help fails": (_broken_script_help, "check_api.py --help exited 3"),
    "command not pre-approved": (_not_pre_approved, "not pre-approved"),
    "unused allowed-tools rule": (_unused_rule, "matches no command"),
    "bare Bash": (_bare_bash, "bare Bash"),
    "cwd-relative script path": (_cwd_relative_script, "script path must start with"),
    "no when clause": (_no_when_clause, "Use when"),
    "no trigger words": (_no_trigger_words, "lacks trigger words"),
    "argument in ! line": (_injection, "shell injection"),
    "missing reference file": (_missing_reference, "image-options.md does not exist"),
    "frontmatter not at byte 0": (_frontmatter_not_first, "first byte"),
    "unknown frontmatter key": (_unknown_key, "Additional properties"),
    "body too long": (_long_body, "keep it under 500"),
    "version mismatch": (_version_mismatch, "must equal the package version"),
    "marketplace source": (_marketplace_source, "source must be './'"),
    "agent scoped Bash": (_agent_scoped_bash, "cannot scope"),
    "agent not in plugin.json": (_agent_not_shipped, "not listed in plugin.json"),
    "agent with AskUserQuestion": (_agent_asks_user, "not available to subagents"),
    "shot-list example": (_shot_list_example, "shot-list example"),
    "extra file in .claude-plugin": (_extra_manifest_file, "may hold only"),
    "bare script in a hint": (_bare_script_hint, "`jobs.py wait JOB_ID` names a bare script"),
    "environment variable without PowerShell": (_posix_only_variable,
                                                "GOOGLE_GENAI_USE_VERTEXAI is set the POSIX way only"),
    "CLI not pinned": (_loose_cli_pin, "exact version"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_linter_catches_broken_copy(tmp_path: Path, breakage: str) -> None:
    root = bundle_copy(tmp_path)
    assert lint_bundle(root) == [], "the untouched copy must be clean"
    damage, expected = BREAKAGES[breakage]
    damage(root)
    problems = lint_bundle(root)
    assert any(expected in p for p in problems), "\n".join(problems) or "(no problems found)"


# -- every documented command runs -------------------------------------------------

COMMANDS = bundle_commands(ROOT)


def _command_id(item) -> str:
    cmd, _ = item
    return f"{cmd.file.relative_to(ROOT).as_posix()}:{cmd.line}"


def test_commands_were_found() -> None:
    scripts = {c.script.group("script") for c, _ in COMMANDS if c.script}
    assert scripts == set(MAINS) - {"batch_gen.py", "gallery.py"}, scripts
    assert len(COMMANDS) >= 30


@pytest.fixture
def materials(hermetic: Path, fake, fake_env) -> dict[str, str]:
    """Real files (and a real job id) for the placeholders used in the command examples."""
    return write_materials(hermetic, fake, fake_env)


@pytest.mark.parametrize("item", COMMANDS, ids=[_command_id(i) for i in COMMANDS])
def test_documented_command_runs(item, materials: dict[str, str], fake_env: dict[str, str], fake) -> None:
    cmd, scripts_dir = item
    m = cmd.script
    if m is None:
        _run_other_command(cmd.text, materials)
        return
    script = m.group("script")
    assert m.group("path") == f"{scripts_dir}/{script}"
    assert script not in SERVER_SCRIPTS
    run_script(script, m.group("args"), materials, fake, fake_env, cmd.where(ROOT))


def _run_other_command(text: str, materials: dict[str, str]) -> None:
    if text.startswith("command -v "):
        proc = subprocess.run(["sh", "-c", text], capture_output=True, text=True)
        assert proc.returncode in (0, 1)
        return
    if text.startswith("ffmpeg "):
        if shutil.which("ffmpeg") is None:
            pytest.skip("ffmpeg is not installed here (CI installs it)")
        argv = [substitute(a, materials) for a in shlex.split(text)]
        proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert Path(materials["FRAME_PATH"]).stat().st_size > 0
        return
    raise AssertionError(f"no runner for documented command: {text}")


def test_generate_video_runs_several_shots_as_one_storyboard() -> None:
    from tests.bundle_lint import fenced_blocks, split_frontmatter

    meta, body, _ = split_frontmatter((ROOT / ".claude/skills/generate-video/SKILL.md").read_text())
    rules = tool_entries(meta["allowed-tools"])
    for launcher in ("python3", "py -3"):
        assert f'Bash({launcher} "${{CLAUDE_SKILL_DIR}}/../../../scripts/storyboard.py" *)' in rules
    section = body[body.index("## Multi-shot"):]
    commands = [line for info, _, lines in fenced_blocks(section) if info == "bash" for line in lines]
    assert commands and all('/scripts/storyboard.py" "SHOT_LIST"' in c for c in commands), commands
    assert any("--estimate-cost" in c for c in commands)
    assert any("--approve" in c and "--max-cost" in c and "--wait-timeout" in c for c in commands)
    assert "one by one" not in body and "never shot by shot" in section


def test_navigator_shot_list_example_matches_the_schema() -> None:
    import jsonschema
    import yaml

    from tests.bundle_lint import fenced_blocks

    schema = json.loads((ROOT / "scripts" / "mediagen" / "schemas" / "shotlist.schema.json").read_text())
    blocks = [b for info, _, b in fenced_blocks((ROOT / AGENT).read_text()) if info == "yaml"]
    examples = [yaml.safe_load("\n".join(b)) for b in blocks if any(line.startswith("shots:") for line in b)]
    assert len(examples) == 1
    jsonschema.validate(examples[0], schema)
    assert examples[0]["shots"][0]["transition"] == "cut"
    assert {s["transition"] for s in examples[0]["shots"]} == {"cut", "continue", "extend"}


def test_lint_module_cli(capsys) -> None:
    from tests import bundle_lint

    assert bundle_lint.main([str(ROOT)]) == 0
    assert capsys.readouterr().out == ""


def test_stdout_capture_helper_is_silent_on_help() -> None:
    out = io.StringIO()
    assert image_gen.main(["--help"], env={"PATH": ""}, stdout=out, stderr=io.StringIO()) == 0
    assert "--prompt-file" in out.getvalue()
