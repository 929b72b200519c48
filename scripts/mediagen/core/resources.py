"""Where the project's data files live: JSON schemas in the package, YAML data beside the scripts."""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
SCHEMAS_DIR = PACKAGE_DIR / "schemas"
REPO_ROOT = PACKAGE_DIR.parents[1]
PRESETS_DIR = REPO_ROOT / "presets"
