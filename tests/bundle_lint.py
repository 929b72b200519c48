"""Static checks of the Claude Code bundle: skills, the agent, and the plugin manifests.

``lint_bundle(root)`` returns a list of problems (empty = clean). It covers what
``claude plugin validate`` does not check: frontmatter against JSON Schemas
(``tests/bundle_schemas/``), names, descriptions and their trigger words,
``allowed-tools`` against the commands the skill body runs, that every referenced file
and script exists and that each script's ``--help`` works, argument placeholders in
``!`` injection lines, the plugin version against the Python package, and the agent's
shot-list example against the shot-list schema.

Conventions the bundle follows (and this linter enforces):

* Commands live in fenced ``bash`` blocks, one command per line, so tests can extract
  and run them. A script runs as ``python3 "<dir>/scripts/<name>.py" ...`` (or
  ``py -3 ...`` on Windows), where ``<dir>`` is ``${CLAUDE_SKILL_DIR}/../../..`` in
  skills and the placeholder ``MEDIAGEN_ROOT`` in the agent.
* Placeholders are UPPER_CASE words (``PROMPT_FILE``, ``JOB_ID``, ...).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

try:
    from tests.bundle_hints import hint_problems
except ImportError:                 # run as a script: python3 tests/bundle_lint.py
    from bundle_hints import hint_problems

SCHEMA_DIR = Path(__file__).resolve().parent / "bundle_schemas"
# Schemas the scripts themselves use live in the package (the shot list is read by storyboard.py).
PACKAGE_SCHEMAS = {"shotlist.schema.json": Path(__file__).resolve().parents[1] / "scripts" / "mediagen" / "schemas"
                   / "shotlist.schema.json"}

# Canonical built-in tools (Claude Code 2.1.240).
KNOWN_TOOLS = {
    "Read", "Grep", "Glob", "LSP", "Edit", "Write", "NotebookEdit", "Bash", "PowerShell", "Monitor",
    "WebFetch", "WebSearch", "Agent", "Task", "Skill", "AskUserQuestion", "EnterPlanMode", "ExitPlanMode",
    "TodoWrite", "TaskCreate", "TaskGet", "TaskList", "TaskUpdate", "TaskOutput", "TaskStop",
    "CronCreate", "CronDelete", "CronList", "ScheduleWakeup", "EnterWorktree", "ExitWorktree",
    "ToolSearch", "WaitForMcpServers", "ListMcpResourcesTool", "ReadMcpResourceTool", "SendMessage",
    "ListAgents", "SendUserFile", "Artifact", "Workflow", "EndConversation",
}
# Tools a subagent never gets.
NOT_FOR_AGENTS = {"AskUserQuestion", "EnterPlanMode", "ExitPlanMode", "ScheduleWakeup", "TaskOutput",
                  "WaitForMcpServers", "Workflow", "EndConversation"}

# Words each shipped skill's description must contain (lower-case) so it triggers.
TRIGGER_WORDS = {
    "generate-image": ["image", "picture", "photo", "icon", "logo", "edit", "presets", "/generate-image"],
    "generate-video": ["video", "clip", "animate", "extend", "presets", "/generate-video"],
    "generative": ["/generative", "set up", "configure", "models", "presets", "cost", "multi-shot"],
}
WHEN_CLAUSE = re.compile(r"\bUse (when|proactively|for)\b")
SKILL_BODY_MAX_LINES = 500
REFERENCE_TOC_AFTER = 100
DESCRIPTION_LISTING_MAX = 1536

LAUNCHER = r"(?P<launcher>python3|py -3)"
SCRIPT_CMD = re.compile(LAUNCHER + r' "(?P<path>(?:[^"]*/)?scripts/(?P<script>[A-Za-z0-9_]+\.py))"(?P<args>(?: .*)?)$')
SKILL_SCRIPTS_DIR = "${CLAUDE_SKILL_DIR}/../../../scripts"
AGENT_SCRIPTS_DIR = "MEDIAGEN_ROOT/scripts"
# Lines in bash blocks that are not script calls but are allowed (each must still be pre-approved).
OTHER_COMMANDS = (re.compile(r"^command -v [a-z0-9_-]+$"),
                  re.compile(r'^ffmpeg -hide_banner -loglevel error -n -ss [0-9.:]+ -i "[^"]+" -frames:v 1 "[^"]+"$'))
PATH_REF = re.compile(r"(\$\{CLAUDE_SKILL_DIR\}|\$\{CLAUDE_PLUGIN_ROOT\}|MEDIAGEN_ROOT)(/[A-Za-z0-9_.\-/]*[A-Za-z0-9_\-])")
MD_LINK = re.compile(r"\[[^\]]*\]\((?!https?:|#|mailto:)([^)\s]+)\)")
ARG_PLACEHOLDER = re.compile(r"\$(ARGUMENTS|[0-9]\b|\{?ARGUMENTS\[)")
VERSION_RE = re.compile(r'^__version__\s*=\s*["\']([^"\']+)["\']', re.M)
RULE_RE = re.compile(r"^(?P<tool>[A-Za-z_]+)(?:\((?P<spec>.*)\))?$")


@dataclass(frozen=True)
class Command:
    """One line of a fenced bash block."""

    file: Path
    line: int
    text: str

    @property
    def script(self) -> re.Match[str] | None:
        return SCRIPT_CMD.match(self.text)

    def where(self, root: Path) -> str:
        return f"{_rel(self.file, root)}:{self.line}"


# -- parsing ------------------------------------------------------------------

def split_frontmatter(text: str) -> tuple[Any, str, int]:
    """(frontmatter, body, body_start_line). Frontmatter must start at byte 0 with ``---``."""
    if not text.startswith("---\n"):
        raise ValueError("frontmatter must start at the first byte with '---'")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ValueError("frontmatter is not closed by a '---' line")
    data = yaml.safe_load(text[4:end])
    body = text[end + 5:]
    return data, body, text[:end + 5].count("\n") + 1


def fenced_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """(info string, first content line number, lines) of every fenced code block."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^(\s*)(`{3,}|~{3,})(.*)$", lines[i])
        if not m:
            i += 1
            continue
        fence, info, start, content = m.group(2), m.group(3).strip(), i + 2, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            content.append(lines[i][len(m.group(1)):] if lines[i].startswith(m.group(1)) else lines[i])
            i += 1
        blocks.append((info, start, content))
        i += 1
    return blocks


def commands_in(path: Path) -> list[Command]:
    """Every non-empty, non-comment line of the ``bash`` blocks in a Markdown file."""
    found = []
    for info, start, lines in fenced_blocks(path.read_text(encoding="utf-8")):
        if info.split()[:1] != ["bash"]:
            continue
        for offset, raw in enumerate(lines):
            text = raw.strip()
            if text and not text.startswith("#"):
                found.append(Command(path, start + offset, text))
    return found


def inline_commands(path: Path) -> list[Command]:
    """Script calls written in inline code spans (they must be pre-approved too)."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for span in re.findall(r"`([^`]+)`", line):
            if SCRIPT_CMD.match(span.strip()):
                found.append(Command(path, number, span.strip()))
    return found


def tool_entries(value: Any) -> list[str]:
    """``allowed-tools``/``tools`` as a list (a string splits on commas, or on spaces outside parentheses)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    text = str(value)
    if "," in text:
        return [part.strip() for part in text.split(",") if part.strip()]
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == " " and depth == 0:
            if current:
                parts.append(current)
            current = ""
        else:
            current += ch
    return parts + ([current] if current else [])


def rule_matches(spec: str, command: str) -> bool:
    """Permission-rule matching for ``Bash(spec)``: ``*`` matches anything; a trailing `` *`` is optional."""
    if spec.endswith(":*"):
        spec = spec[:-2] + " *"
    pattern = re.escape(spec).replace(r"\*", ".*")
    if spec.endswith(" *") and spec.count("*") == 1:
        pattern = pattern[: -len(r"\ .*")] + r"(?: .*)?"
    return re.fullmatch(pattern, command, flags=re.S) is not None


def package_version(root: Path) -> str | None:
    init = root / "scripts" / "mediagen" / "__init__.py"
    if not init.is_file():
        return None
    m = VERSION_RE.search(init.read_text(encoding="utf-8"))
    return m.group(1) if m else None


@lru_cache(maxsize=None)
def _schema(name: str) -> dict[str, Any]:
    return json.loads(PACKAGE_SCHEMAS.get(name, SCHEMA_DIR / name).read_text(encoding="utf-8"))


def schema_problems(data: Any, schema_name: str, where: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(_schema(schema_name))
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        field = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(f"{where}: {field}: {error.message}")
    return problems


def script_help_problem(script: Path) -> str | None:
    """Run ``script --help`` in a scratch directory; None when it exits 0 with a usage line.

    Results are cached by content (the script and the package beside it), so linting
    identical copies of the bundle runs each ``--help`` once.
    """
    digest = hashlib.sha256(script.read_bytes())
    for source in sorted((script.parent / "mediagen").rglob("*.py")):
        digest.update(source.relative_to(script.parent).as_posix().encode() + b"\0" + source.read_bytes())
    key = digest.hexdigest()
    if key not in _HELP_RESULTS:
        _HELP_RESULTS[key] = _help_problem(script.name, script)
    return _HELP_RESULTS[key]


_HELP_RESULTS: dict[str, str | None] = {}


def _help_problem(name: str, script: Path) -> str | None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONIOENCODING": "utf-8"}
    with tempfile.TemporaryDirectory() as scratch:
        env["HOME"] = scratch
        try:
            proc = subprocess.run([sys.executable, str(script), "--help"], cwd=scratch, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{name} --help failed to run: {exc}"
    if proc.returncode != 0 or "usage:" not in proc.stdout:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        return f"{name} --help exited {proc.returncode}: {tail[0][:200]}"
    return None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _resolve(anchor: str, rest: str, base_dir: Path, root: Path) -> Path:
    start = base_dir if anchor == "${CLAUDE_SKILL_DIR}" else root
    return Path(os.path.normpath(str(start) + rest))


# -- the linter -------------------------------------------------------------

class _Lint:
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.problems: list[str] = []
        self.skills_dir = self.root / ".claude" / "skills"
        self.agents_dir = self.root / ".claude" / "agents"

    def add(self, message: str) -> None:
        self.problems.append(message)

    # paths and scripts ------------------------------------------------------

    def check_paths(self, path: Path, base_dir: Path) -> list[Path]:
        """Every anchored path reference and relative Markdown link in ``path`` must exist."""
        text = path.read_text(encoding="utf-8")
        found = []
        for m in PATH_REF.finditer(text):
            target = _resolve(m.group(1), m.group(2), base_dir, self.root)
            if not target.exists():
                self.add(f"{_rel(path, self.root)}: referenced path {m.group(0)} does not exist "
                         f"(resolved to {_rel(target, self.root)})")
            else:
                found.append(target)
        for link in MD_LINK.findall(text):
            if not (path.parent / link).exists():
                self.add(f"{_rel(path, self.root)}: Markdown link target {link} does not exist")
        return found

    def check_command(self, cmd: Command, scripts_dir: str, base_dir: Path) -> None:
        """One command per line; a script call uses the expected path, and the script works."""
        m = cmd.script
        if m is None:
            if not any(p.match(cmd.text) for p in OTHER_COMMANDS):
                self.add(f"{cmd.where(self.root)}: not a recognised command line (one script call per line, "
                         f'written as python3 "{scripts_dir}/<script>.py" ...): {cmd.text[:120]}')
            return
        if not m.group("path").startswith(scripts_dir + "/"):
            self.add(f"{cmd.where(self.root)}: script path must start with {scripts_dir}/ "
                     f"(got {m.group('path')}); cwd-relative or absolute paths break installs")
            return
        anchor = "${CLAUDE_SKILL_DIR}" if scripts_dir.startswith("${CLAUDE_SKILL_DIR}") else "MEDIAGEN_ROOT"
        target = _resolve(anchor, m.group("path")[len(anchor):], base_dir, self.root)
        if not target.is_file():
            self.add(f"{cmd.where(self.root)}: script {m.group('script')} does not exist "
                     f"(resolved to {_rel(target, self.root)})")
            return
        problem = script_help_problem(target)
        if problem:
            self.add(f"{cmd.where(self.root)}: {problem}")
        if any(ch in m.group("args") for ch in ";|&`$<>") and "${" not in m.group("args"):
            self.add(f"{cmd.where(self.root)}: shell metacharacters in the arguments; pass data through files")

    # skills -------------------------------------------------------------------

    def lint_skills(self) -> list[str]:
        if not self.skills_dir.is_dir():
            self.add(".claude/skills is missing")
            return []
        names = []
        for skill_dir in sorted(p for p in self.skills_dir.iterdir() if p.is_dir()):
            skill_md = skill_dir / "SKILL.md"
            if not skill_md.is_file():
                self.add(f"{_rel(skill_dir, self.root)}: no SKILL.md")
                continue
            names.append(skill_dir.name)
            self.lint_skill(skill_dir, skill_md)
        return names

    def _frontmatter(self, path: Path) -> tuple[str, dict, Any] | None:
        """(where, frontmatter, body), or None after recording why the frontmatter is unusable."""
        where = _rel(path, self.root)
        try:
            meta, body, _ = split_frontmatter(path.read_text(encoding="utf-8"))
        except (ValueError, yaml.YAMLError) as exc:
            self.add(f"{where}: frontmatter: {exc}")
            return None
        if not isinstance(meta, dict):
            self.add(f"{where}: frontmatter is not a mapping")
            return None
        return where, meta, body

    def lint_skill(self, skill_dir: Path, skill_md: Path) -> None:
        parsed = self._frontmatter(skill_md)
        if parsed is None:
            return
        where, meta, body = parsed
        self.problems.extend(schema_problems(meta, "skill.schema.json", where))
        name = meta.get("name")
        if name != skill_dir.name:
            self.add(f"{where}: name {name!r} must equal the folder name {skill_dir.name!r}")
        self.lint_description(where, str(meta.get("description") or ""), skill_dir.name,
                              str(meta.get("when_to_use") or ""))
        if meta.get("disable-model-invocation") and skill_dir.name == "generate-image":
            self.add(f"{where}: generate-image must stay model-invocable (no disable-model-invocation)")
        body_lines = body.count("\n") + 1
        if body_lines >= SKILL_BODY_MAX_LINES:
            self.add(f"{where}: body has {body_lines} lines (keep it under {SKILL_BODY_MAX_LINES}; "
                     f"move detail to reference files)")
        self.lint_injection(where, body, meta)

        # Files this skill's turn may read: its own markdown files plus any it references.
        files = [skill_md] + sorted(p for p in skill_dir.rglob("*.md") if p != skill_md)
        for extra in list(files):
            for target in self.check_paths(extra, skill_dir):
                if target.suffix == ".md" and target.is_file() and target not in files:
                    files.append(target)
                    self.check_paths(target, skill_dir)
        for md in files:
            if md != skill_md:
                lines = md.read_text(encoding="utf-8").count("\n")
                if lines > REFERENCE_TOC_AFTER and "## Contents" not in md.read_text(encoding="utf-8"):
                    self.add(f"{_rel(md, self.root)}: {lines} lines without a '## Contents' section")
        commands = [c for md in files for c in commands_in(md) + inline_commands(md)]
        for md in files:
            self.problems.extend(hint_problems(md, _rel(md, self.root)))
        for cmd in commands:
            self.check_command(cmd, SKILL_SCRIPTS_DIR, skill_dir)
        self.lint_allowed_tools(where, tool_entries(meta.get("allowed-tools")), commands)

    def lint_description(self, where: str, description: str, name: str, when_to_use: str) -> None:
        if not WHEN_CLAUSE.search(description):
            self.add(f"{where}: description needs a 'Use when ...' clause saying when to use it")
        first = description.split()[:1]
        if first and first[0].lower() in ("i", "you", "we", "use", "this"):
            self.add(f"{where}: description must open in the third person with what it does "
                     f"(e.g. 'Generates ...'), not {first[0]!r}")
        if len(description) + len(when_to_use) > DESCRIPTION_LISTING_MAX:
            self.add(f"{where}: description + when_to_use exceed {DESCRIPTION_LISTING_MAX} characters")
        lowered = description.lower()
        missing = [w for w in TRIGGER_WORDS.get(name, [f"/{name}"]) if w not in lowered]
        if missing:
            self.add(f"{where}: description lacks trigger words: {', '.join(missing)}")

    def lint_injection(self, where: str, body: str, meta: dict[str, Any]) -> None:
        """No argument placeholders inside ``!`` shell injection (they are substituted before the shell runs)."""
        names = meta.get("arguments") or []
        names = names.split() if isinstance(names, str) else list(names)
        named = re.compile(r"\$(" + "|".join(map(re.escape, names)) + r")\b") if names else None
        injected = [m.group(1) for m in re.finditer(r"(?:^|\s)!`([^`]*)`", body, re.M)]
        injected += ["\n".join(lines) for info, _, lines in fenced_blocks(body) if info.startswith("!")]
        for command in injected:
            if ARG_PLACEHOLDER.search(command) or (named and named.search(command)):
                self.add(f"{where}: argument placeholder inside a '!' injection line (shell injection): "
                         f"{command[:80]}")

    def lint_allowed_tools(self, where: str, entries: list[str], commands: list[Command]) -> None:
        bash_specs = []
        for entry in entries:
            m = RULE_RE.match(entry)
            if not m:
                self.add(f"{where}: allowed-tools entry {entry!r} is not a tool rule")
                continue
            tool, spec = m.group("tool"), m.group("spec")
            if tool not in KNOWN_TOOLS and not entry.startswith("mcp__"):
                self.add(f"{where}: allowed-tools names an unknown tool {tool!r}")
            if tool == "Bash":
                if spec is None:
                    self.add(f"{where}: allowed-tools has a bare Bash (pre-approves every command); "
                             f"list the exact script commands")
                else:
                    bash_specs.append(spec)
        for cmd in commands:
            if not any(rule_matches(spec, cmd.text) for spec in bash_specs):
                self.add(f"{cmd.where(self.root)}: command is not pre-approved by allowed-tools in {where}: "
                         f"{cmd.text[:120]}")
        texts = [c.text for c in commands]
        for spec in bash_specs:
            as_python3 = re.sub(r"^py -3 ", "python3 ", spec)
            if not any(rule_matches(as_python3, t) for t in texts):
                self.add(f"{where}: allowed-tools rule Bash({spec}) matches no command the skill runs")

    # agents -------------------------------------------------------------------

    def lint_agents(self) -> list[Path]:
        if not self.agents_dir.is_dir():
            self.add(".claude/agents is missing")
            return []
        files = sorted(self.agents_dir.rglob("*.md"))
        for path in files:
            self.lint_agent(path)
        return files

    def lint_agent(self, path: Path) -> None:
        parsed = self._frontmatter(path)
        if parsed is None:
            return
        where, meta, body = parsed
        for key in ("hooks", "mcpServers", "permissionMode"):
            if key in meta:
                self.add(f"{where}: {key} is ignored for plugin-shipped agents; drop it")
        self.problems.extend(schema_problems(meta, "agent.schema.json", where))
        if meta.get("name") != path.stem:
            self.add(f"{where}: name {meta.get('name')!r} should equal the file name {path.stem!r}")
        description = str(meta.get("description") or "")
        if not WHEN_CLAUSE.search(description):
            self.add(f"{where}: description needs a 'Use when/Use proactively ...' clause")
        for entry in tool_entries(meta.get("tools")):
            m = RULE_RE.match(entry)
            tool = m.group("tool") if m else entry
            if m and m.group("spec") is not None and tool != "Agent":
                self.add(f"{where}: tools entry {entry!r}: a subagent's tools list cannot scope a tool "
                         f"(the specifier is ignored and the whole tool is granted; anthropics/claude-code#95002)")
            if tool not in KNOWN_TOOLS and not entry.startswith("mcp__"):
                self.add(f"{where}: tools names an unknown tool {tool!r}")
            if tool in NOT_FOR_AGENTS:
                self.add(f"{where}: {tool} is not available to subagents")
        self.check_paths(path, self.root)
        self.problems.extend(hint_problems(path, where))
        for cmd in commands_in(path) + inline_commands(path):
            self.check_command(cmd, AGENT_SCRIPTS_DIR, self.root)
        for info, start, lines in fenced_blocks(body):
            if info.split()[:1] == ["yaml"] and any(line.startswith("shots:") for line in lines):
                try:
                    example = yaml.safe_load("\n".join(lines))
                except yaml.YAMLError as exc:
                    self.add(f"{where}: shot-list example does not parse: {exc}")
                    continue
                self.problems.extend(schema_problems(example, "shotlist.schema.json",
                                                     f"{where} (shot-list example)"))

    # manifests ----------------------------------------------------------------

    def lint_manifests(self, skill_names: list[str], agent_files: list[Path]) -> None:
        plugin_dir = self.root / ".claude-plugin"
        if not plugin_dir.is_dir():
            self.add(".claude-plugin/ is missing")
            return
        extra = sorted(p.name for p in plugin_dir.iterdir() if p.name not in ("plugin.json", "marketplace.json"))
        if extra:
            self.add(f".claude-plugin/ may hold only plugin.json and marketplace.json (found {', '.join(extra)})")
        if (self.root / "CLAUDE.md").exists():
            self.add("CLAUDE.md at the plugin root is not loaded by plugins (claude plugin validate warns)")
        plugin = self._json(plugin_dir / "plugin.json")
        market = self._json(plugin_dir / "marketplace.json")
        if plugin is None:
            return
        self.problems.extend(schema_problems(plugin, "plugin.schema.json", ".claude-plugin/plugin.json"))
        version = package_version(self.root)
        if version is None:
            self.add("scripts/mediagen/__init__.py has no __version__")
        elif plugin.get("version") != version:
            self.add(f".claude-plugin/plugin.json: version {plugin.get('version')!r} must equal the package "
                     f"version {version!r} (scripts/mediagen/__init__.py)")
        skills = plugin.get("skills")
        for rel in ([skills] if isinstance(skills, str) else skills or []):
            target = self.root / rel
            if not target.is_dir():
                self.add(f".claude-plugin/plugin.json: skills path {rel} is not a directory")
            elif target.resolve() != self.skills_dir:
                self.add(f".claude-plugin/plugin.json: skills path {rel} should be ./.claude/skills")
        listed = []
        for rel in plugin.get("agents") or []:
            target = (self.root / rel).resolve()
            listed.append(target)
            if not target.is_file():
                self.add(f".claude-plugin/plugin.json: agent file {rel} does not exist")
        for agent in agent_files:
            if agent.resolve() not in listed:
                self.add(f"{_rel(agent, self.root)} is not listed in plugin.json 'agents' "
                         f"(the plugin would not ship it)")
        if market is not None:
            self.problems.extend(schema_problems(market, "marketplace.schema.json", ".claude-plugin/marketplace.json"))
            entries = [p for p in market.get("plugins") or [] if isinstance(p, dict)]
            mine = [p for p in entries if p.get("name") == plugin.get("name")]
            if not mine:
                self.add(f".claude-plugin/marketplace.json: no entry named {plugin.get('name')!r}")
            for entry in mine:
                if entry.get("source") != "./":
                    self.add(".claude-plugin/marketplace.json: the plugin's source must be './' (this repository)")
                if "version" in entry and entry["version"] != plugin.get("version"):
                    self.add(f".claude-plugin/marketplace.json: version {entry['version']!r} differs from "
                             f"plugin.json {plugin.get('version')!r}")
        self.lint_package_json()

    def lint_package_json(self) -> None:
        # The pinned CLI lives under tests/ so that installing the plugin does not run npm.
        if (self.root / "package.json").is_file():
            self.add("package.json at the plugin root makes every plugin install run npm ci; "
                     "keep the CLI pin in tests/tools/claude-cli/")
        cli = self.root / "tests" / "tools" / "claude-cli"
        pkg = self._json(cli / "package.json")
        if pkg is None:
            return
        pinned = (pkg.get("devDependencies") or {}).get("@anthropic-ai/claude-code")
        if not pinned or not re.fullmatch(r"\d+\.\d+\.\d+", str(pinned)):
            self.add(f"package.json: devDependencies['@anthropic-ai/claude-code'] must be an exact version "
                     f"(got {pinned!r})")
            return
        lock = self._json(cli / "package-lock.json")
        if lock is None:
            return
        locked = ((lock.get("packages") or {}).get("node_modules/@anthropic-ai/claude-code") or {}).get("version")
        if locked != pinned:
            self.add(f"package-lock.json: @anthropic-ai/claude-code is {locked!r}, package.json pins {pinned!r} "
                     f"(run npm install)")

    def _json(self, path: Path) -> Any:
        if not path.is_file():
            self.add(f"{_rel(path, self.root)} is missing")
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            self.add(f"{_rel(path, self.root)}: invalid JSON: {exc}")
            return None


def lint_bundle(root: Path) -> list[str]:
    """All problems found in the bundle under ``root`` (the repository / plugin root)."""
    lint = _Lint(Path(root))
    names = lint.lint_skills()
    agents = lint.lint_agents()
    lint.lint_manifests(names, agents)
    return list(dict.fromkeys(lint.problems))     # a reference file shared by skills reports once


def bundle_commands(root: Path) -> list[tuple[Command, str]]:
    """Every command line of the bundle (skills, their reference files, agents) with its scripts-dir prefix."""
    root = Path(root).resolve()
    out = []
    for md in sorted((root / ".claude" / "skills").rglob("*.md")):
        out += [(c, SKILL_SCRIPTS_DIR) for c in commands_in(md) + inline_commands(md)]
    for md in sorted((root / ".claude" / "agents").rglob("*.md")):
        out += [(c, AGENT_SCRIPTS_DIR) for c in commands_in(md) + inline_commands(md)]
    return out


def main(argv: Iterable[str] | None = None) -> int:
    """``python3 tests/bundle_lint.py [ROOT]``: print problems, exit 1 if any."""
    args = list(sys.argv[1:] if argv is None else argv)
    root = Path(args[0]) if args else Path(__file__).resolve().parents[1]
    problems = lint_bundle(root)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
