"""What a use case may use from its caller: the environment, the console, the working directory."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from mediagen.config.settings import process_env
from mediagen.core.console import Console


@dataclass
class Context:
    """The environment to read settings from, where progress goes, and the folder relative paths start from."""

    env: dict[str, str]
    console: Console
    cwd: Path = field(default_factory=Path.cwd)

    def process_setting(self, key: str) -> str | None:
        """A process variable (``config.settings.PROCESS_ENV_VARS``) from this context's environment."""
        return process_env(self.env, key)

    @classmethod
    def of(cls, env: Mapping[str, str] | None, console: Console) -> Context:
        """A context over ``env`` (``os.environ`` when None)."""
        return cls(dict(os.environ if env is None else env), console)
