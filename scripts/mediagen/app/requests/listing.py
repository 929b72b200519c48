"""Requests that only read: the setup check, the model catalog, the gallery."""
from __future__ import annotations

from dataclasses import dataclass

from mediagen.app.requests import BACKENDS, Where, arg


@dataclass(frozen=True)
class CheckRequest(Where):
    """A free check of credentials, backend choice and model visibility (``check_api.py``, ``check_setup``)."""

    drift: bool = arg("Also compare the catalog with what the credential can see (free): catalog models not "
                      "served, served image/video models missing from the catalog, shutdown dates that have "
                      "passed. Exit 11 (the drift listed in the result) when they differ.", False, setting=None)


@dataclass(frozen=True)
class ModelListing:
    """The catalog as a listing (MCP ``list_models``)."""

    kind: str | None = arg("Only image or only video models.", choices=("image", "video"))
    backend: str | None = arg("Only models served on this backend (lifecycle shown for it alone).",
                              choices=BACKENDS)


@dataclass(frozen=True)
class GalleryRequest:
    """A static HTML gallery over a folder's sidecars (``gallery.py``, MCP ``write_gallery``)."""

    folder: str = arg("Folder to scan (sub-folders included).", "")
    output: str | None = arg("Where to write the page (default FOLDER/gallery.html).")
    title: str | None = arg("Page title (default: the folder name).")
    page_size: int | None = arg("Cards per page: gallery.html, then gallery-2.html... (default 200; the "
                                "gallery_page_size setting).", minimum=1, setting="gallery_page_size")
