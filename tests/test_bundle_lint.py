"""The Claude Code bundle (.claude/, .claude-plugin/): static lint, and every documented command runs.

* ``lint_bundle`` passes on the bundle and catches deliberately broken copies.
* Every command line in the skills, their reference files and the agent runs
  in-process against the fake Google service and succeeds: spending commands get
  ``--dry-run`` added, placeholders become real temporary files.
"""
from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

import mediagen
from mediagen.cli import check_api, estimate_cost, image_gen, jobs, storyboard, video_gen
from tests.bundle_lint import bundle_commands, lint_bundle, package_version, rule_matches, tool_entries
from tests.conftest import GEMINI_KEY, ROOT, run_main

MAINS = {"check_api.py": check_api.main, "estimate_cost.py": estimate_cost.main, "image_gen.py": image_gen.main,
         "video_gen.py": video_gen.main, "jobs.py": jobs.main, "storyboard.py": storyboard.main}
FREE_FLAGS = {"--dry-run", "--list-presets", "--show-defaults", "--estimate-cost", "--help", "--version"}
SPENDING = {"image_gen.py", "video_gen.py", "storyboard.py"}
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\bMAX_USD\b")


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
    for name in (".claude", ".claude-plugin", "scripts", "presets"):
        shutil.copytree(ROOT / name, dst / name, ignore=ignore)
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
    assert scripts == set(MAINS), scripts
    assert len(COMMANDS) >= 30


@pytest.fixture
def materials(tmp_path: Path, fake, fake_env) -> dict[str, str]:
    """Real files (and a real job id) for the placeholders used in the command examples."""
    from tests.fake_google.media import image_bytes, mp4_bytes

    work = tmp_path / "materials"
    work.mkdir()
    prompt = work / "prompt.txt"
    prompt.write_text("A red fox trotting through fresh snow at dawn, watercolor\n", encoding="utf-8")
    png = work / "input.png"
    png.write_bytes(image_bytes(320, 180))
    mask = work / "mask.png"
    mask.write_bytes(image_bytes(320, 180))
    video = work / "clip.mp4"
    video.write_bytes(mp4_bytes(4.0))
    shots = work / "shots.yaml"
    shots.write_text("version: 1\ntitle: Test\nshots:\n"
                     "  - {id: s1, prompt: a fox trots through snow, duration: 6, transition: cut}\n"
                     "  - {id: s2, prompt: the fox looks up, duration: 4, transition: continue}\n",
                     encoding="utf-8")
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY, "MEDIAGEN_POLL_FIRST_S": "0.01", "MEDIAGEN_POLL_INTERVAL_S": "0.05"}
    started = run_main(video_gen.main, "--prompt-file", str(prompt), "--preset", "quick", "--no-wait", env=env)
    assert started.code == 0, started.doc
    fake.clear()
    fake.config.interaction_polls_until_done = 0    # the job is done at its first poll
    fake.config.operation_polls_until_done = 0
    return {"PROMPT_FILE": str(prompt), "INPUT_IMAGE": str(png), "FIRST_FRAME": str(png),
            "LAST_FRAME": str(png), "REFERENCE_IMAGE": str(png), "MASK_IMAGE": str(mask),
            "VIDEO_PATH": str(video), "FRAME_PATH": str(work / "clip.frame.png"),
            "JOB_ID": started.doc["job_id"], "MAX_USD": "5", "SHOT_LIST": str(shots)}


def substitute(text: str, values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(0) not in values:
            raise AssertionError(f"undocumented placeholder {m.group(0)} in: {text}")
        return values[m.group(0)]
    return PLACEHOLDER.sub(one, text)


@pytest.mark.parametrize("item", COMMANDS, ids=[_command_id(i) for i in COMMANDS])
def test_documented_command_runs(item, materials: dict[str, str], fake_env: dict[str, str], fake) -> None:
    cmd, scripts_dir = item
    m = cmd.script
    if m is None:
        _run_other_command(cmd.text, materials)
        return
    script = m.group("script")
    assert m.group("path") == f"{scripts_dir}/{script}"
    argv = [substitute(arg, materials) for arg in shlex.split(m.group("args"))]
    if script in SPENDING and not FREE_FLAGS & set(argv):
        argv.append("--dry-run")
    env = {**fake_env, "GEMINI_API_KEY": GEMINI_KEY,
           "MEDIAGEN_POLL_FIRST_S": "0.01", "MEDIAGEN_POLL_INTERVAL_S": "0.05"}
    if "vertex" in argv:
        token = "ya29.fake-bundle-test"
        fake.register_token(token)
        env.update({"GOOGLE_OAUTH_ACCESS_TOKEN": token, "GOOGLE_CLOUD_PROJECT": "fake-project"})
    result = run_main(MAINS[script], *argv, env=env)
    if "--help" in argv or "--version" in argv:
        assert result.code == 0 and result.stdout.strip(), result.stderr
        return
    assert result.code == 0, f"{cmd.where(ROOT)}: {script} {' '.join(argv)}\n{json.dumps(result.doc, indent=1)[:2000]}"
    assert result.doc["ok"] is True
    if "--dry-run" in argv:
        assert result.doc.get("dry_run") is True
    sent = [r for r in fake.requests if r.method == "POST" and ("generate" in r.path or "interactions" in r.path
                                                                  or "predict" in r.path)]
    if script in SPENDING:
        assert sent == [], "a documented example sent a billable request"


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
