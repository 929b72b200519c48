"""Use cases that only read: the setup check, the model catalog, the gallery page."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mediagen.app.context import Context
from mediagen.app.generation import resolve
from mediagen.app.outcome import Outcome, SavedFile, require_positive
from mediagen.app.requests import BACKENDS, CheckRequest, GalleryRequest, ModelListing
from mediagen.app.runtime import load_catalog, make_transport
from mediagen.config.settings import resolve_settings
from mediagen.core import errors
from mediagen.ops import frames
from mediagen.ops.checks import check_setup, local_checks
from mediagen.ops.drift import summary
from mediagen.ops.gallery import GALLERY_NAME
from mediagen.ops.gallerypages import write_pages

CHECK_SETTINGS = ("backend", "use_vertex", "api_key", "project_id", "location", "credentials_file",
                  "access_token", "gemini_base_url", "gemini_api_version", "vertex_base_url",
                  "cliproxy_url", "cliproxy_api_key")
CAPABILITY_KEYS = ("modes", "aspect_ratios", "image_sizes", "durations", "resolutions", "max_input_images", "count")
KINDS = ("image", "video")
__all__ = ["GALLERY_NAME", "check", "gallery", "list_models"]


def check(request: CheckRequest, ctx: Context) -> Outcome:
    """Which backend and why, whether the credential works, which catalog models it sees (and, with ``drift``,
    how the catalog differs from that: exit 11). Free."""
    settings = resolve(request, ctx, None)
    if request.show_defaults:
        return Outcome({"settings": settings.show(CHECK_SETTINGS), "project": settings.project,
                        "config_file": str(settings.config.path) if settings.config else None})
    local = local_checks(ctx.console)
    try:
        result = check_setup(settings, make_transport(settings, ctx.console), lambda: load_catalog(ctx.env),
                             ctx.console, drift=request.drift)
    except errors.MediagenError as exc:
        exc.partial = exc.partial if exc.partial is not None else {"checks": local}
        raise
    result["checks"] = local + result["checks"]
    if request.drift and result["drift"]["found"]:
        raise _drift_error(result)
    return Outcome(result)


def _drift_error(result: dict[str, Any]) -> errors.DriftFound:
    """Exit 11 with the whole check (drift included) as the run's result."""
    backend = result["drift"]["backend"]
    return errors.DriftFound(
        f"the catalog is out of step with what {backend} serves: {summary(result['drift'])}",
        "See 'drift' in the result. Update presets/models.yaml, or fix the entries now with $MEDIAGEN_CATALOG_OVERRIDE "
        "(a status, a date, still_served: true, or a new model); README 'Catalog drift' explains each list.",
        partial=result)


def list_models(request: ModelListing, ctx: Context) -> Outcome:
    """The catalog: each model's lifecycle per backend, the defaults, the main capabilities. Offline."""
    catalog = load_catalog(ctx.env)
    models = [row for row in (_model_row(m, request.backend) for m in catalog.models(request.kind)) if row]
    defaults: dict[str, dict[str, str]] = {}
    for kind in ([request.kind] if request.kind else KINDS):
        for backend in ([request.backend] if request.backend else BACKENDS):
            try:
                defaults.setdefault(kind, {})[backend] = catalog.default_model(kind, backend)
            except errors.MediagenError:
                continue
    return Outcome({"catalog": {"as_of": catalog.as_of, "source": catalog.path}, "defaults": defaults,
                    "models": models})


def gallery(request: GalleryRequest, ctx: Context) -> Outcome:
    """Write the static HTML gallery of a folder's sidecars, in pages; the result is a summary, not every item."""
    require_positive(request.page_size, "page_size", "--page-size")
    settings = resolve_settings({"gallery_page_size": request.page_size}, ctx.env, cwd=ctx.cwd)
    result = write_pages(Path(request.folder), Path(request.output) if request.output else None,
                         title=request.title, page_size=settings.get("gallery_page_size"))
    pages = len(result["pages"])
    ctx.console.info(f"wrote {result['path']} ({result['counts']['items']} item(s)"
                     f"{f', {pages} pages' if pages > 1 else ''})")
    if result["posters"].get("skipped"):
        ctx.console.warn(f"{result['posters']['skipped']} ({frames.INSTALL_HINT})")
    return Outcome(result, (SavedFile(Path(result["path"]), "text/html", "gallery"),))


def _model_row(model: Any, backend: str | None) -> dict[str, Any] | None:
    entries = {name: _lifecycle(model, name, entry) for name, entry in model.backends.items()
               if backend in (None, name)}
    if backend and not entries:
        return None
    row: dict[str, Any] = {"id": model.id, "kind": model.kind, "family": model.family,
                           "name": model.display_name, "aliases": list(model.aliases), "backends": entries}
    if model.unavailable_on:
        row["unavailable_on"] = {k: v for k, v in model.unavailable_on.items() if backend in (None, k)}
    return row


def _lifecycle(model: Any, backend: str, entry: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": entry.id, "status": entry.status}
    for key in ("shutdown", "shutdown_not_before", "replacement"):
        if getattr(entry, key):
            doc[key] = getattr(entry, key)
    if entry.locations:
        doc["locations"] = list(entry.locations)
    if entry.allowlist:
        doc["allowlist"] = True
    if entry.served:
        caps = model.capabilities_for(backend)
        doc["capabilities"] = {k: caps[k] for k in CAPABILITY_KEYS if caps.get(k) not in (None, [], {})}
    return doc
