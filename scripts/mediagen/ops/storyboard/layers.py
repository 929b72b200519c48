"""Settings for each shot, as layers over the command line, config file and environment.

**Settings**, highest first: command-line flags; for an extension, the source
clip's sidecar; the shot's own fields; the shot's preset; the shot list's
top-level fields; its preset; then the config file, environment and catalog
defaults as for ``video_gen.py``. Keyframes and generated references use the
shot list's ``image_model`` and the film's aspect ratio.
"""
from __future__ import annotations

from typing import Any

from mediagen.config.presets import get_preset
from mediagen.config.settings import Layer, Settings
from mediagen.ops.storyboard.shotlist import Shot, ShotList
from mediagen.ops.videos import VideoPlan


def _values(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", [], ())}


def _preset_layer(name: str | None, backend: str) -> list[Layer]:
    if not name:
        return []
    preset = get_preset("video", name)
    return [Layer(f"preset:{preset.name}", preset.values_for(backend))]


def top_layers(shotlist: ShotList, backend: str) -> list[Layer]:
    """The shot list's own defaults, then its preset (below every shot's own values)."""
    return [Layer(f"shotlist:{shotlist.path}", dict(shotlist.top)), *_preset_layer(shotlist.top.get("preset"),
                                                                                  backend)]


def shot_settings(base: Settings, shotlist: ShotList, shot: Shot, backend: str, *, image: str | None = None,
                  references: list[str] | None = None, extend: str | None = None,
                  inherit: dict[str, Any] | None = None) -> Settings:
    """CLI > (extension) the source clip's settings > shot fields > shot preset > shot list > its preset."""
    own = _values(duration=shot.duration, model=shot.model, resolution=shot.resolution, image=image,
                  references=references, extend_video=extend)
    layers = [Layer(f"extends:shot {shot.index - 1}", inherit)] if inherit else []
    layers += [Layer(f"shotlist:{shotlist.path}#shots/{shot.index}", own), *_preset_layer(shot.preset, backend)]
    return base.with_layers(layers + top_layers(shotlist, backend))


def image_settings(base: Settings, shotlist: ShotList, aspect_ratio: str) -> Settings:
    """Keyframes and references: the shot list's image model, the film's aspect ratio, one image."""
    values = _values(model=shotlist.image_model, aspect_ratio=aspect_ratio, backend=shotlist.top.get("backend"))
    return base.with_layers([Layer(f"shotlist:{shotlist.path}", {**values, "count": 1})])


def inherited(plan: VideoPlan) -> dict[str, Any]:
    """What an extension takes from its source clip's sidecar (mirrored before the clip exists)."""
    return {"model": plan.model_id, "resolution": plan.settings["resolution"],
            "aspect_ratio": plan.settings["aspect_ratio"], "backend": plan.choice.backend}
