"""Per-model limits with their sources: the numbers that differ between models of one family.

Omni 1.2 is not Omni 1.1: clip length, the cap when first or last frames are
given, the reference-image cap and the extension caps all differ, and several
come only from third parties. A model's ``limits`` block in ``models.yaml`` is
the one place those numbers live, each with its ``sources`` and an
``uncertain`` marker:

    limits:
      duration:                {min: 3, max: 15}   # seconds per clip
      frame_mode_max_duration: {value: 10}         # with a first and/or last frame
      reference_images:        {value: 6}          # one cap for every reference image
      extension_step:          {min: 3, max: 10}   # seconds one extension adds
      extension_total:         {value: 30}         # seconds an extended clip may reach

Loading expands the block into the capabilities the generic checks read
(``durations``, ``by_mode``, ``max_reference_images``,
``extension.max_total_seconds``), so validation uses each model's own values.
A refusal caused by an uncertain limit says so and names the override key
that lifts it.
"""
from __future__ import annotations

from typing import Any, Mapping

FRAME_MODES = ("image_to_video", "first_last_frame")
# The key an override changes to lift each limit.
LIFT_KEYS = {"duration": "max", "frame_mode_max_duration": "value", "reference_images": "value",
             "extension_step": "max", "extension_total": "value"}
OVERRIDE = "$MEDIAGEN_CATALOG_OVERRIDE"


def expand(capabilities: Mapping[str, Any], limits: Mapping[str, Any]) -> dict:
    """The capabilities with the model's limits written into the fields the checks read (a copy)."""
    caps = dict(capabilities)           # shallow: only by_mode and the modes written below are copied
    if "duration" in limits:
        caps["durations"] = _span(limits["duration"])
    if "extension_step" in limits:
        _mode(caps, "extend")["durations"] = _span(limits["extension_step"])
    if "frame_mode_max_duration" in limits:
        cap = limits["frame_mode_max_duration"]["value"]
        for mode in FRAME_MODES:
            _mode(caps, mode)["durations"] = [d for d in caps.get("durations") or [] if d <= cap]
    if "reference_images" in limits:
        count = limits["reference_images"]["value"]
        caps["max_reference_images"] = {"asset": count, "style": count, "total": count}
    if "extension_total" in limits and caps.get("extension"):
        caps["extension"] = {**caps["extension"], "max_total_seconds": limits["extension_total"]["value"]}
    return caps


def refusal_note(model_id: str, limits: Mapping[str, Any], field: str, mode: str | None) -> str:
    """For a refusal of ``field``: if an uncertain limit caused it, where the limit comes from and how to lift it."""
    name = _limit_for(limits, field, mode)
    if name is None or not limits[name].get("uncertain"):
        return ""
    key = LIFT_KEYS[name]
    sources = "; ".join(limits[name].get("sources") or ()) or "no source"
    return (f" (an UNCERTAIN limit, from {sources}; if {model_id} accepts more, lift it with the catalog override "
            f"key limits.{name}.{key} in {OVERRIDE}: models: [{{id: {model_id}, limits: {{{name}: {{{key}: N}}}}}}])")


def _limit_for(limits: Mapping[str, Any], field: str, mode: str | None) -> str | None:
    """Which limit decides ``field`` in ``mode`` (None when the model has no such limit)."""
    if field == "duration":
        if mode == "extend":
            name = "extension_step"
        elif mode in FRAME_MODES and "frame_mode_max_duration" in limits:
            name = "frame_mode_max_duration"
        else:
            name = "duration"
    elif field in ("reference_assets", "reference_styles"):
        name = "reference_images"
    elif field == "source_seconds":
        name = "extension_total"
    else:
        return None
    return name if name in limits else None


def _span(bounds: Mapping[str, Any]) -> list[int]:
    return list(range(int(bounds["min"]), int(bounds["max"]) + 1))


def _mode(caps: dict, mode: str) -> dict:
    """``caps``'s own copy of ``by_mode[mode]`` (the catalog's entry is never written)."""
    by_mode = caps["by_mode"] = dict(caps.get("by_mode") or {})
    by_mode[mode] = dict(by_mode.get(mode) or {})
    return by_mode[mode]
