"""Where the project's data files live: JSON schemas in the package, YAML data beside the scripts."""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
SCRIPTS_DIR = PACKAGE_DIR.parent
SCHEMAS_DIR = PACKAGE_DIR / "schemas"
REPO_ROOT = PACKAGE_DIR.parents[1]
PRESETS_DIR = REPO_ROOT / "presets"


def script_path(name: str) -> Path:
    """The absolute path of an entry script (``jobs`` -> ``.../scripts/jobs.py``), for hints that must work anywhere."""
    return SCRIPTS_DIR / f"{name}.py"
