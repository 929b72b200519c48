"""The model catalog: which models exist, where they are served, what they accept and cost.

The data lives in ``presets/models.yaml`` (checked against
``presets/models.schema.json``); this package loads it, resolves names to wire
ids, validates requests and estimates their cost.

Requests are checked in one **normalized form**: a flat dict whose absent keys
mean "not given" (see ``VOCABULARY``).  Validation returns every problem at
once; each names the request field, says what is wrong with the allowed values
listed, and phrases the fix as CLI flags (``FLAGS``).

Nothing here prints or exits: failures raise ``CatalogError`` (bad catalog
file), ``ModelUnavailable`` (retired or not served) or ``ValidationError``.

The modules, lowest first: ``conditions`` (the rule language), ``data``
(vocabulary, model classes, loading), ``lifecycle`` (resolution, deprecation,
defaults), ``rules`` (validation) and ``pricing`` (estimates).  ``Catalog``
here ties them together.
"""
from __future__ import annotations

from typing import Any, Mapping

from mediagen.catalog import lifecycle, pricing, rules
from mediagen.catalog.data import (
    BACKENDS,
    COMMON_KEYS,
    DEFAULT_CATALOG_PATH,
    IMAGE_KEYS,
    KINDS,
    MODES,
    SCHEMA_PATH,
    SERVED,
    VIDEO_KEYS,
    VOCABULARY,
    BackendEntry,
    CatalogData,
    Model,
    Rule,
)
from mediagen.catalog.lifecycle import Resolution
from mediagen.catalog.pricing import CostEstimate, worst_usd
from mediagen.catalog.rules import FLAGS, LABELS, SUPPORT_FIELDS, Problem

__all__ = [
    "BACKENDS", "COMMON_KEYS", "DEFAULT_CATALOG_PATH", "FLAGS", "IMAGE_KEYS", "KINDS", "LABELS", "MODES",
    "SCHEMA_PATH", "SERVED", "SUPPORT_FIELDS", "VIDEO_KEYS", "VOCABULARY", "BackendEntry", "Catalog",
    "CostEstimate", "Model", "Problem", "Resolution", "Rule", "worst_usd",
]


class Catalog(CatalogData):
    """The loaded catalog.  Build it with ``Catalog.load()``."""

    # ---- defaults and resolution

    def default_model(self, kind: str, backend: str) -> str:
        """The default model id for a kind on a backend; ``ModelUnavailable`` if there is none."""
        return lifecycle.default_model(self, kind, backend)

    def default_location(self, model_id: str, backend: str) -> str | None:
        """The model's default location on this backend (Vertex), or None."""
        return lifecycle.default_location(self, model_id, backend)

    def resolve(self, name: str, backend: str, allow_unknown: bool = False) -> Resolution:
        """Map a name to the model and wire id for ``backend``.

        Retired or not served -> ``ModelUnavailable`` naming the replacement and
        where things are served; deprecated -> a warning with the shutdown date;
        unknown -> passed through unvalidated with a warning, unless it is within
        two edits of a catalog id or alias (a typo: ``ValidationError`` naming
        the match) and ``allow_unknown`` is false.
        """
        return lifecycle.resolve(self, name, backend, allow_unknown)

    def lifecycle_warning(self, model: Model, entry: BackendEntry) -> str | None:
        """The deprecation warning for a served entry (shutdown date and replacement), or None."""
        return lifecycle.lifecycle_warning(self, model, entry)

    def unavailable(self, model: Model, backend: str) -> tuple[str, str]:
        """Message and hint for a model that is retired or absent on ``backend``."""
        return lifecycle.unavailable(self, model, backend)

    def not_found_hint(self, name: str, backend: str) -> str | None:
        """For a 404 from a catalog model with a known replacement: the replacement to use (else None)."""
        return lifecycle.not_found_hint(self, name, backend)

    @staticmethod
    def proxy_unknown_model_hint(wire_id: str) -> str:
        """For CLIProxyAPI's "unknown provider for model": how to add the id to the proxy's own model list."""
        return lifecycle.proxy_unknown_model_hint(wire_id)

    # ---- validate

    def validate(self, request: Mapping[str, Any]) -> list[Problem]:
        """Every problem with a normalized request (errors and warnings), at once.

        The request holds only what the user gave (keys in ``VOCABULARY``;
        others are ignored); a missing ``model`` means the backend's default and
        a missing video ``mode`` means text_to_video.  Unknown models pass
        through (``[]``).  A model that is retired or not served on the backend
        yields that one problem.
        """
        return rules.validate(self, request)

    def enforce(self, request: Mapping[str, Any], warn: Any) -> None:
        """Validate; pass warnings to ``warn(text)`` and raise ``ValidationError`` listing every error."""
        rules.enforce(self, request, warn)

    def offers(self, model: Model, backend: str, name: str, value: Any,
               context: Mapping[str, Any] | None = None) -> bool:
        """True if ``model`` on ``backend`` accepts ``name=value`` (generic checks only).

        ``context`` carries fields that change the limits, such as ``mode``.
        """
        return rules.offers(self, model, backend, name, value, context)

    def where_offered(self, model: Model, backend: str, name: str, value: Any,
                      context: Mapping[str, Any] | None = None) -> str:
        """A short hint naming a backend or model that accepts ``name=value`` ("" if none)."""
        return rules.where_offered(self, model, backend, name, value, context)

    # ---- cost

    def estimate(self, request: Mapping[str, Any]) -> CostEstimate:
        """List-price estimate: count x per-image price, or count x seconds x per-second price."""
        return pricing.estimate(self, request)

    def cheapest_alternative(self, request: Mapping[str, Any]) -> tuple[str, dict, CostEstimate] | None:
        """A cheaper valid model and/or setting for the same kind and backend.

        Returns ``(model_id, changes, estimate)`` where ``changes`` holds only the
        request keys that differ; None if nothing valid is cheaper.
        """
        return pricing.cheapest_alternative(self, request)
