"""Compact views of saved media for faces that show results to a model: sidecar summaries and previews."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Mapping

from mediagen.ops.output import read_sidecar

PREVIEW_MAX_PX = 256


def with_summaries(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Saved files with the few sidecar fields worth showing (the full sidecar stays on disk)."""
    shown = []
    for item in items:
        entry = dict(item)
        sidecar = read_sidecar(Path(item["path"])) if item.get("path") else None
        if sidecar is not None:
            entry["sidecar_summary"] = sidecar_summary(sidecar.to_json())
        shown.append(entry)
    return shown


def sidecar_summary(sidecar: Mapping[str, Any]) -> dict[str, Any]:
    """Prompt, model, backend, parameters that were set, costs, job id."""
    params = sidecar.get("parameters") or {}
    values = {k: (v.get("value") if isinstance(v, dict) else v) for k, v in params.items()}
    cost = sidecar.get("cost") or {}
    summary = {"created": sidecar.get("created"), "prompt": sidecar.get("prompt"),
               "model": (sidecar.get("model") or {}).get("id"), "backend": (sidecar.get("backend") or {}).get("name"),
               "mode": sidecar.get("mode"), "parameters": {k: v for k, v in values.items() if v not in (None, "", [])},
               "actual_usd": cost.get("actual_usd"), "estimate_usd": cost.get("estimate_usd"),
               "price_as_of": cost.get("as_of"), "job_id": sidecar.get("job_id")}
    return {k: v for k, v in summary.items() if v is not None}


def preview_png(path: Path, max_px: int = PREVIEW_MAX_PX) -> bytes | None:
    """A downscaled PNG of an image file (``None`` if Pillow cannot read it)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.thumbnail((max_px, max_px))
            if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                image = image.convert("RGBA")
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
            return out.getvalue()
    except (OSError, ValueError):
        return None
