"""The catalog against what a credential can see: the free live drift check (``check_api.py --drift``).

For the chosen backend it lists:

* ``not_served``: models the catalog calls served there that the credential cannot see (an answer of
  404, or absence from the service's listing);
* ``unlisted``: image and video models the service lists that the catalog does not have on that backend.
  Only the Gemini API (``models.list``, every page; a model counts as media by its id or by ``predict`` /
  ``predictLongRunning`` among its methods) and the proxy (``/v1/models``) can list. Vertex has no
  listing of Google's models, so there catalog ids are only confirmed one by one (``unlisted`` is null);
* ``retired_but_listed``: models the catalog retired that the service still shows;
* ``passed_shutdowns``: firm shutdown dates that have come while the catalog file still calls the model
  served (the catalog is out of date, even though mediagen already refuses the model);
* ``cannot_tell``: an answer of 403, or an allow-listed model the project may not be allowed to see;
* ``notices``: not drift, worth knowing (a "not before" shutdown date that passed while the model still
  answers).

Any of the first four means drift. Nothing here sends a request: it reads what the checks saw.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

MEDIA_ID = re.compile(r"image|imagen|veo|omni|video", re.IGNORECASE)
VIDEO_ID = re.compile(r"veo|omni|video", re.IGNORECASE)
MEDIA_METHODS = {"predict": "image", "predictLongRunning": "video"}
DRIFT_KEYS = ("not_served", "unlisted", "retired_but_listed", "passed_shutdowns")


@dataclass
class Sight:
    """What one backend's check saw: per catalog wire id, True (served), False (not served) or None (cannot
    tell); and the service's own listing (id -> supported methods) where it has one."""

    seen: dict[str, bool | None] = field(default_factory=dict)
    listing: dict[str, list[str]] | None = None

    def recording(self, probe: Callable[..., bool | None]) -> Callable[..., bool | None]:
        """``probe`` that also remembers each answer by wire id."""
        def visible(wire_id: str, *rest: Any) -> bool | None:
            self.seen[wire_id] = probe(wire_id, *rest)
            return self.seen[wire_id]
        return visible


def drift_report(catalog: Any, backend: str, sight: Sight) -> dict[str, Any]:
    """The drift document for ``backend``: every difference, and whether any of them counts as drift."""
    report: dict[str, Any] = {"backend": backend, "today": catalog.today, "catalog_as_of": catalog.as_of,
                              "not_served": [], "unlisted": None, "retired_but_listed": [],
                              "passed_shutdowns": [], "cannot_tell": [], "notices": []}
    for model in catalog.models():
        entry = model.backends.get(backend)
        if entry is not None:
            _compare_entry(catalog, model, entry, sight, report)
    if sight.listing is not None:
        report["unlisted"] = _unlisted(catalog, backend, sight.listing)
    report["found"] = any(report[key] for key in DRIFT_KEYS)
    return report


def summary(report: dict[str, Any]) -> str:
    """One line: how many differences of each kind."""
    parts = [f"{len(report[key])} {key.replace('_', ' ')}" for key in DRIFT_KEYS if report[key]]
    return ", ".join(parts) or "no drift"


def _compare_entry(catalog: Any, model: Any, entry: Any, sight: Sight, report: dict[str, Any]) -> None:
    row = {"id": model.id, "wire_id": entry.id, "status": entry.status}
    seen = _seen(entry, sight)
    if entry.declared_status != "retired" and entry.shutdown and entry.shutdown <= catalog.today:
        target = "notices" if entry.still_served else "passed_shutdowns"
        report[target].append({**row, "shutdown": entry.shutdown,
                               "reason": f"its firm shutdown date {entry.shutdown} has come but the catalog "
                                         f"file says {entry.declared_status}"})
    if not entry.served:
        if seen:
            report["retired_but_listed"].append({**row, "reason": "the catalog says retired; the service still "
                                                                  "shows it"})
        return
    if seen is None or (seen is False and entry.allowlist):
        why = "allow-listed: this project may not be allowed to see it" if entry.allowlist else "403: cannot tell"
        report["cannot_tell"].append({**row, "reason": why})
    elif seen is False:
        report["not_served"].append({**row, "reason": "not served to this credential (404 or not listed)"})
    elif entry.shutdown_not_before and entry.shutdown_not_before <= catalog.today:
        report["notices"].append({**row, "reason": f"Google said it may shut down from {entry.shutdown_not_before};"
                                                   " it still answers"})


def _seen(entry: Any, sight: Sight) -> bool | None:
    """Whether the service showed the entry; for a retired entry it was not asked about, the listing decides."""
    if entry.id in sight.seen:
        return sight.seen[entry.id]
    if sight.listing is not None:
        return entry.id in sight.listing
    return False


def _unlisted(catalog: Any, backend: str, listing: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Image and video models in the listing that the catalog does not have on ``backend``."""
    found = []
    for wire_id, methods in sorted(listing.items()):
        kind = media_kind(wire_id, methods)
        model = catalog.get(wire_id)
        if kind is None or (model is not None and backend in model.backends):
            continue
        row: dict[str, Any] = {"id": wire_id, "kind": kind, "methods": list(methods)}
        if model is not None:
            row["catalog_id"] = model.id
            row["reason"] = f"the catalog knows {model.id} but not on this backend"
        found.append(row)
    return found


def media_kind(wire_id: str, methods: list[str]) -> str | None:
    """``image`` or ``video`` for a listed model that makes media (by id, then by method); None otherwise."""
    if MEDIA_ID.search(wire_id):
        return "video" if VIDEO_ID.search(wire_id) else "image"
    kinds = [MEDIA_METHODS[m] for m in methods if m in MEDIA_METHODS]
    return kinds[0] if kinds else None
