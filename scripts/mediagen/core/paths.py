"""Per-user folders, found the same way everywhere (and the only reader of the OS variables behind them).

Every function takes the environment to read, so tests stay hermetic: a test
passes a temporary ``HOME`` and nothing touches the real one. ``system`` is
``"windows"``, ``"darwin"`` or ``"posix"``; it defaults to this machine's.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping

APP = "mediagen"


def this_system() -> str:
    """``windows`` when ``os.name == "nt"`` (as google-auth decides), ``darwin`` on macOS, else ``posix``."""
    if os.name == "nt":
        return "windows"
    return "darwin" if sys.platform == "darwin" else "posix"


def home_dir(env: Mapping[str, str]) -> Path:
    """The user's home from the given environment first (``HOME``, then ``USERPROFILE``)."""
    for name in ("HOME", "USERPROFILE"):
        if env.get(name):
            return Path(env[name])
    return Path.home()


def user_config_dir(env: Mapping[str, str], system: str | None = None) -> Path:
    """``%APPDATA%\\mediagen``, ``~/Library/Application Support/mediagen`` or ``$XDG_CONFIG_HOME/mediagen``."""
    system = system or this_system()
    if system == "windows" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / APP
    if system == "darwin":
        return home_dir(env) / "Library" / "Application Support" / APP
    return _xdg(env, "XDG_CONFIG_HOME", ".config")


def user_state_dir(env: Mapping[str, str], system: str | None = None) -> Path:
    """Where the ledger, job store and sessions live: ``%LOCALAPPDATA%\\mediagen`` or ``$XDG_STATE_HOME/mediagen``."""
    if (system or this_system()) == "windows" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / APP
    return _xdg(env, "XDG_STATE_HOME", ".local/state")


def user_cache_dir(env: Mapping[str, str], system: str | None = None) -> Path:
    """Throw-away markers (schema checks): ``%LOCALAPPDATA%\\mediagen\\cache`` or ``$XDG_CACHE_HOME/mediagen``."""
    if (system or this_system()) == "windows" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / APP / "cache"
    return _xdg(env, "XDG_CACHE_HOME", ".cache")


def gcloud_config_dir(env: Mapping[str, str], system: str | None = None) -> Path:
    """gcloud's folder, found as google-auth does: ``CLOUDSDK_CONFIG``, ``%APPDATA%\\gcloud`` (Windows), ~/.config."""
    if env.get("CLOUDSDK_CONFIG"):
        return Path(env["CLOUDSDK_CONFIG"])
    if (system or this_system()) == "windows" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / "gcloud"
    return home_dir(env) / ".config" / "gcloud"


def _xdg(env: Mapping[str, str], variable: str, fallback: str) -> Path:
    base = env.get(variable)
    return (Path(base) if base else home_dir(env) / fallback) / APP
