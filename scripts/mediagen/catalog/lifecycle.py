"""Resolution and lifecycle: names to wire ids, deprecation warnings, and what to use instead.

Retired or not served -> ``ModelUnavailable`` naming the replacement and where
things are served; deprecated -> a warning with the shutdown date; unknown ->
passed through unvalidated with a warning, unless it cannot be a model id at
all (it becomes part of a URL path, so ``/``, ``?``, ``#``, ``:`` and spaces
are refused).

Dates are read against the catalog's ``today``. A *firm* shutdown date that
has come retires the model (refused before sending); a "not before" date
(Google's "as early as") only warns, before and after it passes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from mediagen.catalog.data import BACKENDS, FLAGS, KINDS, BackendEntry, CatalogData, Model
from mediagen.core.errors import ModelUnavailable, ValidationError
from mediagen.core.resources import script_command

OVERRIDE = "$MEDIAGEN_CATALOG_OVERRIDE"
MAX_TYPO_EDITS = 2          # an unknown id this close to a known one is taken for a typo
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")     # what Google's model ids (and versions) are made of


@dataclass
class Resolution:
    """A name resolved for a backend: the model, its entry, the id to send, and warnings."""

    requested: str
    model: Model | None
    entry: BackendEntry | None
    wire_id: str
    warnings: list[str] = field(default_factory=list)


def check_backend(backend: str) -> None:
    """Raise ``ValidationError`` for a backend name the catalog does not know."""
    if backend not in BACKENDS:
        raise ValidationError(f"unknown backend {backend!r}", f"use --backend with one of: {', '.join(BACKENDS)}")


def default_model(catalog: CatalogData, kind: str, backend: str) -> str:
    """The default model id for a kind on a backend; ``ModelUnavailable`` if there is none."""
    if kind not in KINDS:
        raise ValidationError(f"unknown kind {kind!r}; choose image or video")
    check_backend(backend)
    defaults = catalog.defaults().get(kind) or {}
    if backend not in defaults:
        others = ", ".join(b for b in BACKENDS if b in defaults)
        raise ModelUnavailable(f"no {kind} model is served on {catalog.backend_label(backend)}",
                               f"use --backend with one of: {others}")
    return defaults[backend]


def default_or_none(catalog: CatalogData, kind: str, backend: str) -> str | None:
    """The default model id for a kind on a backend, or None if there is none."""
    try:
        return default_model(catalog, kind, backend)
    except ModelUnavailable:
        return None


def default_location(catalog: CatalogData, model_id: str, backend: str) -> str | None:
    """The model's default location on this backend (Vertex), or None."""
    model = catalog.get(model_id)
    entry = model.backends.get(backend) if model else None
    return entry.locations[0] if entry and entry.locations else None


def resolve(catalog: CatalogData, name: str, backend: str, allow_unknown: bool = False) -> Resolution:
    """Map a name to the model and wire id for ``backend`` (see the module docstring).

    An unknown name within two edits of a catalog id or alias is taken for a typo and refused
    (``ValidationError`` naming the match) unless ``allow_unknown``; any other unknown name passes.
    """
    check_backend(backend)
    model = catalog.get(name)
    if model is None:
        if not MODEL_ID.fullmatch(name):
            raise ValidationError(f"{name!r} cannot be a model id: it would change the request's URL",
                                  "Model ids are letters, digits, '.', '-', '_' and '@' (for example "
                                  f"gemini-2.5-flash-image); {script_command('check_api.py')} lists the models your "
                                  "credential can use.",
                                  details={"model": name})
        near = [] if allow_unknown else near_names(catalog, name)
        if near:
            raise ValidationError(f"unknown model {name!r}; did you mean {' or '.join(near)}?",
                                  f"use --model {near[0]}, or add --allow-unknown-model to send {name!r} as it is "
                                  "(unvalidated and unpriced)", details={"model": name, "did_you_mean": near})
        return Resolution(name, None, None, name,
                          [f"model {name!r} is not in the catalog: request unvalidated and unpriced"])
    entry = model.backends.get(backend)
    if entry is None or not entry.served:
        message, hint = unavailable(catalog, model, backend)
        raise ModelUnavailable(message, hint, details={"model": model.id, "backend": backend})
    warnings = [w for w in (lifecycle_warning(catalog, model, entry),) if w]
    return Resolution(name, model, entry, entry.id, warnings)


def near_names(catalog: CatalogData, name: str, limit: int = MAX_TYPO_EDITS) -> list[str]:
    """Catalog ids, aliases and wire ids within ``limit`` edits of ``name``: closest first, served models before
    retired ones (at most three)."""
    wanted = str(name).strip().lower().removeprefix("models/")
    owners = {known.lower(): model for model in catalog.models()
              for known in (model.id, *model.aliases, *(e.id for e in model.backends.values()))}
    scored = sorted((edits, not owners[known].served_on(), known) for known in owners
                    if (edits := edit_distance(wanted, known, limit)) <= limit)
    return [known for *_, known in scored[:3]]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance between ``a`` and ``b``, or ``limit + 1`` as soon as it is known to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def lifecycle_warning(catalog: CatalogData, model: Model, entry: BackendEntry) -> str | None:
    """The deprecation warning for a served entry (shutdown date and replacement), or None."""
    if entry.status != "deprecated":
        return None
    text = f"{model.id} is deprecated on {catalog.backend_label(entry.backend)}{_dates(catalog, entry)}"
    if entry.replacement:
        text += f"; use {replacement_use(entry)}"
    return text


def _dates(catalog: CatalogData, entry: BackendEntry) -> str:
    """The shutdown part of a deprecation warning, read against the catalog's date."""
    if entry.shutdown:
        text = (f"; its shutdown date {entry.shutdown} has passed (the catalog says it still answers) and calls "
                "may fail" if entry.shutdown <= catalog.today else f" and shuts down on {entry.shutdown}")
    elif entry.shutdown_not_before:
        since = entry.shutdown_not_before
        text = (f"; Google said it may shut down from {since}, so it can stop answering any day"
                if since <= catalog.today else f" and may shut down from {since} (Google: \"as early as\")")
    else:
        return ""
    return text + (" (date UNCERTAIN)" if entry.uncertain else "")


def replacement_use(entry: BackendEntry) -> str:
    """How to ask for an entry's replacement: ``--model R`` plus the settings that match the old model."""
    flags = [f"--model {entry.replacement}"]
    flags += [f"{FLAGS.get(name, '--' + name.replace('_', '-'))} {value}" for name, value in entry.replacement_settings]
    return " ".join(flags)


def not_found_hint(catalog: CatalogData, name: str, backend: str) -> str | None:
    """For a 404 from a catalog model with a known replacement: the replacement to use (else None)."""
    model = catalog.get(name)
    entry = model.backends.get(backend) if model else None
    if entry is None or not entry.replacement:
        return None
    label = catalog.backend_label(backend)
    return f"{model.id} may have been shut down on {label}{_dates(catalog, entry)}: use {replacement_use(entry)}."


def proxy_unknown_model_hint(wire_id: str) -> str:
    """For CLIProxyAPI's "unknown provider for model": how to add the id to the proxy's own model list."""
    return (f"CLIProxyAPI routes only the models in its own list: add {wire_id} to its config.yaml under "
            f"gemini-api-key: -> models: (- name: {wire_id}) and restart the proxy, or pick a model it lists "
            f"({script_command('check_api.py')} shows them).")


def unavailable(catalog: CatalogData, model: Model, backend: str) -> tuple[str, str]:
    """Message and hint for a model that is retired or absent on ``backend``."""
    entry = model.backends.get(backend)
    if entry is not None:
        return _retired_text(catalog, model, entry)
    return _absent_text(catalog, model, backend)


def _retired_text(catalog: CatalogData, model: Model, entry: BackendEntry) -> tuple[str, str]:
    label = catalog.backend_label(entry.backend)
    when = f" on {entry.shutdown}" if entry.shutdown else ""
    message = f"{model.id} was shut down on {label}{when}"
    if entry.retired_by_date:
        message += f" (its firm shutdown date has come{'; the date is UNCERTAIN' if entry.uncertain else ''})"
    hints = []
    replacement = catalog.get(entry.replacement) if entry.replacement else None
    if replacement is not None:
        where = ", ".join(replacement.served_on()) or "nowhere"
        message += f"; its replacement is {replacement.id} (served on {where})"
        if entry.backend in replacement.served_on():
            hints.append(replacement_use(entry))
    elsewhere = _elsewhere(catalog, model, entry.backend, skip=replacement.id if replacement else None)
    if elsewhere:
        message += "; " + "; ".join(text for text, _ in elsewhere)
        hints.extend(hint for _, hint in elsewhere)
    hint = "use " + ", or ".join(hints) if hints else "pick another model with --model"
    if entry.retired_by_date:
        hint += (f"; if it still answers, set still_served: true for it in {OVERRIDE} (models: [{{id: {model.id}, "
                 f"backends: {{{entry.backend}: {{still_served: true}}}}}}])")
    return message, hint


def _absent_text(catalog: CatalogData, model: Model, backend: str) -> tuple[str, str]:
    label = catalog.backend_label(backend)
    reason = (model.unavailable_on.get(backend) or {})
    alternative = reason.get("alternative") or default_or_none(catalog, model.kind, backend)
    served = model.served_on()
    message = reason.get("message") or f"{model.id} is not served on {label}"
    parts, hints = [], []
    if alternative:
        credential = catalog.backend_info(backend).get("credential", label)
        parts.append(f"use {alternative} with {credential}")
        hints.append(f"--model {alternative}")
    for other in served:
        parts.append(f"{model.id} on {catalog.backend_label(other)} (--backend {other})")
        hints.append(f"--backend {other}")
    if not served:
        message += "; it is not served anywhere any more"
    if parts:
        message += ": " + ", or ".join(parts)
    return message, "use " + ", or ".join(hints) if hints else "pick another model with --model"


def _elsewhere(catalog: CatalogData, model: Model, backend: str, skip: str | None = None) -> list[tuple[str, str]]:
    """For other backends: what to use there (the model itself or its replacement)."""
    found = []
    for other, entry in model.backends.items():
        target = model.id if entry.served else entry.replacement
        target_model = catalog.get(target) if target else None
        if other == backend or target_model is None or other not in target_model.served_on():
            continue
        if target == skip:
            continue
        found.append((f"on {catalog.backend_label(other)} use {target} (--backend {other} --model {target})",
                      f"--backend {other} --model {target}"))
    return found


def alternatives(catalog: CatalogData, kind: str, backend: str) -> list[Model]:
    """Models of a kind that are fully served on ``backend`` (not deprecated, not allowlisted)."""
    found = []
    for model in catalog.models(kind):
        entry = model.backends.get(backend)
        if entry and entry.status in ("ga", "preview") and not entry.allowlist:
            found.append(model)
    return found
