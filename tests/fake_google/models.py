"""The fake's own model tables (test data, not the product catalog).

IDs and capabilities follow google-media-apis.md §1.1, §2.1, §3.1/3.4 and
gemini-omni-and-veo-status.md §1 as of late 2026; where the references are
UNCERTAIN the fake picks one answer and says so in a comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STANDARD_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
EXTENDED_RATIOS = STANDARD_RATIOS + ("1:4", "4:1", "1:8", "8:1")
ALL_RATIOS = EXTENDED_RATIOS + ("9:21",)

# Output pixel sizes at 1K for Gemini 3 image models ([G-img] table; 1:1 =
# 1024x1024 and 16:9 = 1376x768 are quoted in the reference). 2K/4K scale by
# 2/4 and "512" halves. The tall/wide ratios are derived (area ~1 MP,
# multiples of 16).
PIXELS_1K = {
    "1:1": (1024, 1024), "2:3": (848, 1264), "3:2": (1264, 848), "3:4": (896, 1200),
    "4:3": (1200, 896), "4:5": (928, 1152), "5:4": (1152, 928), "9:16": (768, 1376),
    "16:9": (1376, 768), "21:9": (1584, 672), "9:21": (672, 1584),
    "1:4": (512, 2048), "4:1": (2048, 512), "1:8": (368, 2944), "8:1": (2944, 368),
}
# gemini-2.5-flash-image has a fixed ~1 MP output and no imageSize.
PIXELS_25 = {
    "1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832), "3:4": (864, 1184),
    "4:3": (1184, 864), "4:5": (896, 1152), "5:4": (1152, 896), "9:16": (768, 1344),
    "16:9": (1344, 768), "21:9": (1536, 672),
}
SIZE_SCALE = {"512": 0.5, "1K": 1, "2K": 2, "4K": 4}
FLASH_TOKENS = {"512": 747, "1K": 1120, "2K": 1680, "4K": 2520}
PRO_TOKENS = {"1K": 1120, "2K": 1120, "4K": 2000}


@dataclass(frozen=True)
class ImageModel:
    id: str
    display: str
    sizes: tuple[str, ...]            # accepted imageConfig.imageSize values ("" = field not supported)
    ratios: tuple[str, ...]
    tokens: dict = field(default_factory=dict)   # imageSize -> output image tokens
    thinking: bool = True             # Gemini 3 image models always think
    global_only: bool = True          # Vertex: location must be "global"
    fixed_pixels: bool = False        # 2.5 Flash Image: PIXELS_25, ignores imageSize


@dataclass(frozen=True)
class VeoModel:
    id: str
    durations: tuple[int, ...]
    resolutions: tuple[str, ...]
    max_samples_gemini: int
    max_samples_vertex: int
    asset_refs: int                   # max "asset" reference images (0 = unsupported)
    style_refs: bool
    extension: bool
    mask: bool
    audio: bool = True
    mask_uncertain: bool = False      # masks accepted unless config.veo31_mask_refused (UNCERTAIN)


@dataclass(frozen=True)
class ImagenModel:
    id: str
    sizes: tuple[str, ...]            # sampleImageSize values (upper-case)
    max_samples: int


IMAGE_MODELS = {m.id: m for m in [
    ImageModel("gemini-nano-banana-2.1", "Nano Banana 2.1", ("512", "1K", "2K", "4K"), EXTENDED_RATIOS,
               FLASH_TOKENS),  # "512" support: UNCERTAIN (documented for 3.1 Flash Image)
    ImageModel("gemini-3-pro-image", "Nano Banana Pro", ("1K", "2K", "4K"), STANDARD_RATIOS, PRO_TOKENS),
    ImageModel("gemini-3.1-flash-image", "Nano Banana 2", ("512", "1K", "2K", "4K"), EXTENDED_RATIOS,
               FLASH_TOKENS),
    ImageModel("gemini-3.1-flash-lite-image", "Nano Banana 2 Lite", ("1K",), EXTENDED_RATIOS,
               {"1K": 1120}),  # ratios: UNCERTAIN
    ImageModel("gemini-2.5-flash-image", "Nano Banana", ("1K",), STANDARD_RATIOS, {"1K": 1290},
               thinking=False, global_only=False, fixed_pixels=True),
    # CLIProxyAPI-only spellings (the proxy's catalogs still list previews).
    ImageModel("gemini-3-pro-image-preview", "Nano Banana Pro (preview)", ("1K", "2K", "4K"), STANDARD_RATIOS,
               PRO_TOKENS),
    ImageModel("gemini-3.1-flash-image-preview", "Nano Banana 2 (preview)", ("512", "1K", "2K", "4K"),
               EXTENDED_RATIOS, FLASH_TOKENS),
]}

TEXT_MODELS = {
    "gemini-2.5-pro": "Gemini 2.5 Pro",
    "gemini-2.5-flash": "Gemini 2.5 Flash",
    "gemini-3-flash-preview": "Gemini 3 Flash Preview",
}

VEO_MODELS = {m.id: m for m in [
    VeoModel("veo-3.1-generate-preview", (4, 6, 8), ("720p", "1080p", "4k"), 1, 4, 3, False, True, False),
    VeoModel("veo-3.1-fast-generate-preview", (4, 6, 8), ("720p", "1080p", "4k"), 1, 4, 3, False, True, False),
    VeoModel("veo-3.1-lite-generate-preview", (4, 6, 8), ("720p", "1080p"), 1, 4, 0, False, False, False),
    VeoModel("veo-3.0-generate-001", (4, 6, 8), ("720p", "1080p"), 1, 4, 0, False, False, False),
    VeoModel("veo-3.0-fast-generate-001", (4, 6, 8), ("720p", "1080p"), 1, 4, 0, False, False, False),
    VeoModel("veo-2.0-generate-001", (5, 6, 7, 8), ("720p",), 2, 4, 0, False, False, False, audio=False),
    # Vertex
    # Mask editing on Veo 3.1 is UNCERTAIN: accepted unless config.veo31_mask_refused.
    VeoModel("veo-3.1-generate-001", (4, 6, 8), ("720p", "1080p", "4k"), 1, 4, 3, False, True, False,
             mask_uncertain=True),
    VeoModel("veo-3.1-fast-generate-001", (4, 6, 8), ("720p", "1080p", "4k"), 1, 4, 3, False, True, False,
             mask_uncertain=True),
    VeoModel("veo-3.1-lite-generate-001", (4, 6, 8), ("720p", "1080p"), 1, 4, 0, False, True, False),
    # Mask editing and STYLE references: only this allow-listed model (SDK tests).
    VeoModel("veo-2.0-generate-exp", (5, 6, 7, 8), ("720p",), 2, 4, 3, True, True, True, audio=False),
]}

IMAGEN_MODELS = {m.id: m for m in [
    ImagenModel("imagen-4.0-generate-001", ("1K", "2K"), 4),
    ImagenModel("imagen-4.0-fast-generate-001", (), 4),
    ImagenModel("imagen-4.0-ultra-generate-001", ("1K", "2K"), 1),
    ImagenModel("imagen-3.0-generate-002", (), 4),
    ImagenModel("imagen-3.0-fast-generate-001", (), 4),
    ImagenModel("imagen-3.0-capability-001", (), 4),   # editing model; the fake treats it as text-to-image
]}

# Imagen output pixels ([G-imagen]); sampleImageSize 2K doubles.
IMAGEN_PIXELS = {"1:1": (1024, 1024), "3:4": (896, 1280), "4:3": (1280, 896),
                 "9:16": (768, 1408), "16:9": (1408, 768)}

# --- Gemini Developer API (generativelanguage) -----------------------------

GEMINI_IMAGE_IDS = ("gemini-nano-banana-2.1", "gemini-3-pro-image", "gemini-3.1-flash-lite-image")
GEMINI_OMNI_IDS = ("gemini-omni-1.1-flash", "gemini-omni-1.2-flash")
# Longest Omni clip per model (default 10 s). 1.2's 15 s comes from third parties (UNCERTAIN).
OMNI_MAX_CLIP_S = {"gemini-omni-1.2-flash": 15}
GEMINI_VEO_IDS = ("veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.1-lite-generate-preview",
                  "veo-3.0-generate-001", "veo-3.0-fast-generate-001", "veo-2.0-generate-001")
GEMINI_IMAGEN_IDS = ("imagen-4.0-generate-001", "imagen-4.0-fast-generate-001", "imagen-4.0-ultra-generate-001")
# Retired on the Gemini API in 2026 (always 404, no knob).
GEMINI_RETIRED_IDS = ("gemini-2.5-flash-image", "gemini-3.1-flash-image", "gemini-3-pro-image-preview",
                      "gemini-3.1-flash-image-preview", "imagen-3.0-generate-002", "gemini-omni-flash-preview")

# --- Vertex AI ---------------------------------------------------------------

VERTEX_IMAGE_IDS = ("gemini-3-pro-image", "gemini-3.1-flash-image", "gemini-3.1-flash-lite-image",
                    "gemini-nano-banana-2.1", "gemini-2.5-flash-image")
VERTEX_TEXT_IDS = ("gemini-2.5-pro", "gemini-2.5-flash")
VERTEX_IMAGEN_IDS = ("imagen-4.0-generate-001", "imagen-4.0-fast-generate-001", "imagen-4.0-ultra-generate-001",
                     "imagen-3.0-generate-002", "imagen-3.0-fast-generate-001", "imagen-3.0-capability-001")
VERTEX_VEO_IDS = ("veo-3.1-generate-001", "veo-3.1-fast-generate-001", "veo-3.1-lite-generate-001",
                  "veo-2.0-generate-exp")
VERTEX_OMNI_IDS = ("gemini-omni-1.1-flash-preview", "gemini-omni-1.2-flash", "gemini-omni-flash-preview")
VERTEX_RETIRED_IDS = ("veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.1-lite-generate-preview",
                      "veo-3.0-generate-preview", "veo-3.0-fast-generate-preview", "veo-3.0-generate-001",
                      "veo-3.0-fast-generate-001", "veo-2.0-generate-001", "gemini-3-pro-image-preview")

# --- CLIProxyAPI ------------------------------------------------------------
# model id -> the fake image/text model whose behaviour it gets.
CLIPROXY_MODELS = {
    "gemini-3-pro-image-preview": "gemini-3-pro-image-preview",
    "gemini-3.1-flash-image-preview": "gemini-3.1-flash-image-preview",
    "gemini-3-pro-image": "gemini-3-pro-image",
    "gemini-3.1-flash-image": "gemini-3.1-flash-image",
    "gemini-nano-banana-2.1": "gemini-nano-banana-2.1",
    "gemini-2.5-pro": "gemini-2.5-pro",
    "gemini-2.5-flash": "gemini-2.5-flash",
    "gemini-3-flash-preview": "gemini-3-flash-preview",
}


def image_pixels(model: ImageModel, aspect: str, size: str) -> tuple[int, int]:
    """Output pixel size for an image model, aspect ratio and imageSize label."""
    if model.fixed_pixels:
        return PIXELS_25.get(aspect, (1024, 1024))
    w, h = PIXELS_1K.get(aspect, (1024, 1024))
    scale = SIZE_SCALE.get(size, 1)
    return max(16, int(round(w * scale / 2)) * 2), max(16, int(round(h * scale / 2)) * 2)


def nearest_ratio(width: int, height: int, allowed: tuple[str, ...]) -> str:
    """Closest supported ratio to an input image (the default when none is asked for)."""
    target = width / max(1, height)

    def dist(r: str) -> float:
        a, b = r.split(":")
        return abs(int(a) / int(b) - target)

    return min(allowed, key=dist)
