"""Where the project's data files live: JSON schemas in the package, YAML data beside the scripts."""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
SCRIPTS_DIR = PACKAGE_DIR.parent
SCHEMAS_DIR = PACKAGE_DIR / "schemas"
REPO_ROOT = PACKAGE_DIR.parents[1]
PRESETS_DIR = REPO_ROOT / "presets"


def script_command(script: str, *args: str) -> str:
    """``python3 "<absolute path>/scripts/X.py" ARGS``: a command that works from any folder, for hints.

    ``script`` is the file name (``jobs.py``); the path is quoted so folders with spaces work too.
    """
    words = [f'python3 "{SCRIPTS_DIR / script}"', *args]
    return " ".join(words)

