"""Lint rules for the prose of the bundle's Markdown (skills, their reference files, the agent).

* A hint that names a script with arguments (`` `jobs.py wait JOB_ID` ``) is a command Claude will
  type: it must be the full command with the anchored script path
  (``python3 "${CLAUDE_SKILL_DIR}/../../../scripts/jobs.py" wait JOB_ID``), because a bare name
  resolves against the session's working directory, not the plugin.
* Where a paragraph shows how to set an environment variable the POSIX way (``export NAME=...``
  or ``NAME=value`` in code), it also shows the PowerShell form (``$env:NAME=...``, or ``setx NAME``).
"""
from __future__ import annotations

import re
from pathlib import Path

BARE_SCRIPT_HINT = re.compile(r"^(?:scripts/)?[a-z_]+\.py\s+\S")
POSIX_ASSIGNMENT = re.compile(r"(?:^|\s)(?:export\s+)?([A-Z][A-Z0-9_]*)=[^\s=]")
CODE_SPAN = re.compile(r"`([^`\n]+)`")


def paragraphs(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each blank-line separated block."""
    blocks, start, current = [], 1, []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            blocks.append((start, "\n".join(current)))
            current = []
    if current:
        blocks.append((start, "\n".join(current)))
    return blocks


def hint_problems(path: Path, where: str) -> list[str]:
    """Bare script hints and POSIX-only environment variable examples in one Markdown file."""
    problems = []
    for start, block in paragraphs(path.read_text(encoding="utf-8")):
        spans = CODE_SPAN.findall(block) if not block.lstrip().startswith(("```", "~~~")) else block.splitlines()
        for span in spans:
            if BARE_SCRIPT_HINT.match(span.strip()):
                problems.append(f"{where}:{start}: hint `{span.strip()}` names a bare script; write the full "
                                f'command with the script\'s path ("${{CLAUDE_SKILL_DIR}}/../../../scripts/..." in '
                                f'skills, "MEDIAGEN_ROOT/scripts/..." in the agent)')
        for name in sorted({m.group(1) for span in spans for m in POSIX_ASSIGNMENT.finditer(span)}):
            if f"$env:{name}" not in block and f"setx {name}" not in block:
                problems.append(f"{where}:{start}: {name} is set the POSIX way only; add the PowerShell form "
                                f'($env:{name}="...")')
    return problems
