"""Requests of image generation: ``image_gen.py`` and MCP ``generate_image``."""
from __future__ import annotations

from dataclasses import dataclass

from mediagen.app.requests import ALLOW_UNKNOWN_HELP, CLI, MCP, Spending, arg


@dataclass(frozen=True)
class ImageRequest(Spending):
    """Generate images (``image_gen.py``, MCP ``generate_image``)."""

    prompt: str = arg("What to generate: the prompt text.", "", setting=None, min_length=1)
    model: str | None = arg("Model id or alias (e.g. nano-banana-pro); default from the catalog.",
                            catalog_models="image")
    allow_unknown_model: bool = arg(ALLOW_UNKNOWN_HELP, False)
    aspect_ratio: str | None = arg("e.g. 1:1, 3:4, 16:9, 21:9 (the model's own set).", catalog="aspect_ratios")
    image_size: str | None = arg("512, 1K, 2K or 4K where the model offers it.", catalog="image_sizes")
    image: tuple[str, ...] | None = arg("Input image: path, http(s) URL, gs:// (Vertex) or data: URI. Repeatable.",
                                        setting="images")
    continue_from: str | None = arg(
        "Continue the conversation that produced this saved image (found through its sidecar): the earlier "
        "turns are re-sent verbatim, thought signatures included, so the model keeps their context; the "
        "prompt says what to change. Continuing an earlier result branches. Gemini image models on the "
        "Gemini API or Vertex only (command line: --continue).")
    count: int | None = arg("How many images (sent in parallel).", minimum=1)
    negative_prompt: str | None = arg("What to avoid (Imagen field; folded into the prompt otherwise).")
    seed: int | None = arg("Seed, where the backend accepts one.")
    person_generation: str | None = arg("allow_all | allow_adult | dont_allow (Vertex / Imagen).",
                                        catalog="person_generation")
    output_mime: str | None = arg("image/png or image/jpeg (Vertex only).", catalog="supports:output_mime")
    thinking_level: str | None = arg("minimal | high (Gemini 3.1 image models).", catalog="supports:thinking_level")
    preset: str | None = arg("A preset from presets/image.yaml (see --list-presets).", presets="image")
    concurrency: int | None = arg("Parallel requests for --count (default 4).", minimum=1)
    output: str | None = arg("Output file or folder (default ./generated_images/).", faces=CLI)
    output_dir: str | None = arg(
        "Folder for the results (the output_dir setting, here for this call; default ./generated_images/, or "
        "MEDIAGEN_OUTPUT_DIR / the config file's output_dir). A relative path resolves against the MCP server's "
        "working directory: the Claude Code project folder when Claude Code starts the server from .mcp.json.",
        faces=MCP)


@dataclass(frozen=True)
class PresetListing:
    """The presets of one kind (``--list-presets``)."""

    kind: str = "image"
