"""Which model a request goes to and where its method lives (URL), in one place for images and video."""
from __future__ import annotations

from typing import Any

from mediagen.config.credentials import BackendChoice
from mediagen.config.settings import Settings
from mediagen.core.console import Console
from mediagen.wire import endpoints


def resolve_model(catalog: Any, settings: Settings, backend: str, console: Console) -> Any:
    """The catalog's resolution of the ``model`` setting, its lifecycle warnings shown.

    A near miss of a catalog id is refused as a typo unless ``allow_unknown_model`` is set.
    """
    resolution = catalog.resolve(settings["model"], backend, allow_unknown=bool(settings.get("allow_unknown_model")))
    for warning in resolution.warnings:
        console.warn(warning)
    return resolution


def model_method_url(choice: BackendChoice, settings: Settings, wire_id: str, method: str,
                     location: str | None) -> str:
    """The URL of ``{model}:{method}`` on the chosen backend (Vertex express form without a project)."""
    if choice.backend == "gemini-api":
        return endpoints.gemini_model_url(settings["gemini_base_url"], settings["gemini_api_version"],
                                          wire_id, method)
    if choice.backend == "vertex":
        return endpoints.vertex_model_url(project=None if choice.express else choice.project_id,
                                          location=location or "global", model=wire_id, method=method,
                                          override=settings.get("vertex_base_url"))
    return endpoints.cliproxy_url(choice.credential.auth.url, "/v1/chat/completions")
