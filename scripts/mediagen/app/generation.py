"""Steps every generating use case shares: settings, preset and catalog first; the free outcomes last.

The order is fixed: settings (with their sources) -> preset -> catalog ->
plan (resolve, validate, price, build the exact requests) -> the free
outcomes (``show_defaults``, ``estimate_cost``) -> the spending gate ->
``dry_run`` or the real run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediagen.app.context import Context
from mediagen.app.gate import Budget, Cap, gate
from mediagen.app.requests import setting_values
from mediagen.app.runtime import load_catalog
from mediagen.catalog import Catalog
from mediagen.config.credentials import placeholder_headers
from mediagen.config.presets import Preset, get_preset
from mediagen.config.settings import Settings, resolve_settings
from mediagen.core import errors
from mediagen.ops import frames
from mediagen.ops.ledger import warn_over_cap
from mediagen.core.paths import user_cache_dir
from mediagen.transport.http import HttpRequest


@dataclass
class Start:
    """What a generation resolves before planning."""

    settings: Settings
    preset: Preset | None
    catalog: Catalog


def resolve(request: Any, ctx: Context, kind: str | None, extra: dict[str, Any] | None = None) -> Settings:
    """The request's settings (its values as the command-line layer), warnings reported."""
    values = {**setting_values(request), **(extra or {})}
    settings = resolve_settings(values, ctx.env, config_path=request.config, project=request.project, kind=kind,
                                cwd=ctx.cwd)
    for warning in settings.warnings:
        ctx.console.warn(warning)
    ctx.console.progress_interval_s = float(settings.get("progress_interval_s"))
    return settings


def begin(request: Any, ctx: Context, kind: str) -> Start:
    """Settings, then the preset, then the catalog."""
    settings = resolve(request, ctx, kind)
    preset = get_preset(kind, request.preset, cache_dir=user_cache_dir(ctx.env)) if request.preset else None
    return Start(settings, preset, load_catalog(ctx.env))


def explain_model_error(exc: errors.ApiError, catalog: Catalog, plan: Any) -> None:
    """Put the catalog's way forward in front of the hint when the API says it does not know the model.

    A 404 from a model the catalog knows a replacement for names the replacement; CLIProxyAPI's "unknown
    provider for model" says how to add the id to the proxy's own model list. Changes ``exc`` in place.
    """
    backend = plan.choice.backend
    advice = None
    if backend == "cliproxy" and isinstance(exc, errors.ClientError) and _proxy_does_not_know(exc):
        advice = catalog.proxy_unknown_model_hint(plan.wire_id)
    elif isinstance(exc, errors.NotFoundError):
        advice = catalog.not_found_hint(plan.model_id, backend)
    if advice:
        exc.hint = f"{advice} {exc.hint}".strip()


def _proxy_does_not_know(exc: errors.ApiError) -> bool:
    return exc.code == "model_not_found" or "unknown provider for model" in exc.message


def check_local_tools(purpose: str, ctx: Context, *, free: bool, partial: dict[str, Any] | None = None) -> None:
    """ffmpeg/ffprobe for a run that needs them: refused before anything is sent (exit 3) when missing.

    A ``free`` outcome (estimate, defaults, dry run) only warns, so the user learns it before approving.
    """
    if free:
        warning = frames.missing_warning(purpose)
        if warning:
            ctx.console.warn(warning)
        return
    try:
        frames.require_tools(purpose)
    except errors.ConfigError as exc:
        exc.partial = partial
        raise


def cap_of(settings: Settings) -> Cap:
    """The cost cap in force; one given with this request (flag or tool argument) also approves."""
    value = settings.get("max_cost")
    return Cap(float(value) if value is not None else None, explicit=settings.source("max_cost") == "cli")


def budget_of(estimate: Any, what: str = "this request") -> Budget:
    """A plan's estimate as the gate's budget (its maximum where the catalog gives one)."""
    usd = getattr(estimate, "max_usd", None)
    return Budget(estimate.usd if usd is None else usd, bool(estimate.priced), what, likely_usd=estimate.usd)


def warn_if_over_cap(cost: dict[str, Any], cap: Cap, console: Any, what: str) -> None:
    """Warn loudly when a finished run's actual cost is over the cap (its worst-case estimate was not)."""
    actual = cost.get("actual_usd")
    if cap.usd is not None and isinstance(actual, (int, float)) and actual > cap.usd + 1e-9:
        console.warn(warn_over_cap(float(actual), cap.usd, what))


def free_outcome(request: Any, plan: Any, shown: tuple[str, ...], requests: list[HttpRequest],
                 compact: tuple[str, ...] = ()) -> dict | None:
    """The outcome of a request that spends nothing (defaults, estimate, dry run), else None to go on.

    The gate runs here, so a dry run over the cap is refused as the real run would be. A dry run carries
    the ``compact`` settings (``settings_summary``) for a preview.
    """
    summary = plan.describe()
    if request.show_defaults:
        return {**summary, "settings": plan.settings.show(shown)}
    if request.estimate_cost:
        return {**summary, "estimate": plan.estimate.to_dict()}
    gate(budget_of(plan.estimate), cap_of(plan.settings), spending=not request.dry_run)
    if request.dry_run:
        return {**summary, "dry_run": True, "settings": settings_summary(plan, compact),
                "requests": describe_requests(requests, placeholder_headers(plan.choice.credential))}
    return None


def settings_summary(plan: Any, keys: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The settings a preview shows, each ``{"value", "source"}`` as sent (catalog defaults included), and the
    backend chosen with the reason."""
    shown = {}
    for key in keys:
        value = plan.request.get(key, plan.settings.get(key))
        derived = "the inputs" if key == "mode" else "catalog"
        source = plan.settings.source(key) or (derived if value is not None else "unset")
        shown[key] = {"value": value, "source": source}
    shown["backend"] = {"value": plan.choice.backend, "source": plan.choice.reason}
    return shown


def describe_requests(requests: list[HttpRequest], auth_headers: dict[str, str]) -> list[dict[str, Any]]:
    """Distinct requests for a dry run, secrets masked and base64 payloads elided."""
    shown: list[dict[str, Any]] = []
    for request in requests:
        doc = elide_base64(request.describe(auth_headers))
        if shown and shown[-1]["request"] == doc:
            shown[-1]["repeat"] += 1
        else:
            shown.append({"request": doc, "repeat": 1})
    return shown


def elide_base64(value: Any, limit: int = 256) -> Any:
    """Replace long space-free strings (base64 media, data: URIs) with a short description."""
    if isinstance(value, str) and len(value) > limit and not any(c.isspace() for c in value[:limit]):
        return f"<{len(value)} characters elided>"
    if isinstance(value, dict):
        return {k: elide_base64(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [elide_base64(v, limit) for v in value]
    return value
