"""Requests that plan many generations: estimates, shot lists (``storyboard.py``) and batches."""
from __future__ import annotations

from dataclasses import dataclass

from mediagen.app.requests import (BATCH_INPUT_MODES, BATCH_KINDS, BATCH_VIA, CLI, DEFAULT_INLINE_LIMIT_MB,
                                   ESTIMATE_KINDS, Spending, Where, arg)
from mediagen.app.requests.image import ImageRequest
from mediagen.app.requests.video import VideoRequest


@dataclass(frozen=True)
class EstimateRequest(Where):
    """Price a request, a shot list or a batch file (``estimate_cost.py``, MCP ``estimate_cost``)."""

    kind: str = arg("Price an image or a video request, a storyboard shot list (kind shotlist + file) or a batch "
                    "file (kind batch + file, via batch-api for the Batch API price).", "image",
                    choices=ESTIMATE_KINDS, setting=None)
    image: ImageRequest | None = None
    video: VideoRequest | None = None
    file: str | None = arg("The shot list (YAML) or batch file (txt, CSV, JSONL or YAML) to price.", setting=None)
    via: str = arg("batch: online prices, or batch-api / vertex-batch for the batch discount.", "online",
                   choices=BATCH_VIA, setting=None)


# -- multi-item runs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShotListRequest(Spending):
    """Make a multi-shot video from a shot list (``storyboard.py``, MCP ``start_storyboard``)."""

    shotlist: str = arg("The shot list (YAML): the format the media-navigator agent writes.", "", setting=None)
    approve: bool = arg("Spend the budget shown (without it, or a covering max_cost, nothing is sent).", False,
                        setting=None)
    redo: tuple[str, ...] | None = arg("Regenerate shot N (number or id) and the shots that continue from it.",
                                       setting=None)
    output: str | None = arg("Storyboard folder (default ./generated_videos/<title-slug>/).", setting=None)
    concurrency: int | None = arg("Independent shots generated at once (default 4).", minimum=1)
    wait_timeout: float | None = arg("Stop waiting after S seconds in all (default 480); running jobs continue "
                                     "and a rerun resumes them.", minimum=0)


@dataclass(frozen=True)
class BatchRequest(Spending):
    """Many images (or videos) from one input file (``batch_gen.py``, MCP ``start_batch``)."""

    input: str = arg("Input file: .txt, .csv, .jsonl, .yaml/.yml or .json.", "", setting=None)
    kind: str | None = arg("image (default) or video.", choices=BATCH_KINDS, setting=None, item=True)
    model: str | None = arg("Model id or alias.", setting=None, item=True)
    aspect_ratio: str | None = arg("e.g. 1:1, 16:9.", setting=None, item=True)
    image_size: str | None = arg("512, 1K, 2K or 4K where the model offers it.", setting=None, item=True)
    count: int | None = arg("Images per item.", minimum=1, setting=None, item=True)
    negative_prompt: str | None = arg("What to avoid.", setting=None, item=True)
    seed: int | None = arg("Seed, where the backend accepts one.", setting=None, item=True)
    person_generation: str | None = arg("allow_all | allow_adult | dont_allow.", setting=None, item=True)
    thinking_level: str | None = arg("minimal | high (Gemini 3.1 image models).", setting=None, item=True)
    output_mime: str | None = arg("image/png or image/jpeg (Vertex only).", setting=None, item=True)
    duration: int | None = arg("Video seconds.", setting=None, item=True)
    resolution: str | None = arg("Video resolution (720p, 1080p, 4k).", setting=None, item=True)
    output: str | None = arg("Output folder (default ./generated_batch/<input name>/).", setting=None)
    via: str = arg("online (default): parallel requests now; batch-api: one Gemini Batch API job (50% off); "
                   "vertex-batch: one Vertex batch prediction job (50% off; needs gcs_bucket, runs in "
                   "batch_location).", "online", choices=BATCH_VIA, setting=None)
    concurrency: int | None = arg("Parallel requests online (default: auto, sized from the measured latency and "
                                  "the rate the API allows, at most 256); 429s lower the pace.",
                                  minimum=1, setting=None)
    rate: float | None = arg("Start paced at this many requests per second.", setting=None)
    retry_failed: bool = arg("Also resend items whose earlier attempt failed (never ones that may have been "
                             "billed).", False, setting=None)
    retry_unknown: bool = arg("Also resend items whose earlier create may have been billed without a result "
                              "(state unknown); they may be billed twice, so this needs approve, and the refusal "
                              "first says how many items and the most it could cost.", False, setting=None)
    approve: bool = arg("Approve the estimate above the approve_above threshold.", False, setting=None)
    wait: bool = arg("Wait for jobs (default).", True, faces=CLI, setting=None)
    wait_timeout: float | None = arg("Stop waiting for jobs after S seconds.", minimum=0, setting=None)
    batch_input: str = arg("Batch API: inline requests, or a JSONL file through the Files API (auto: file above "
                           "the limit).", "auto", choices=BATCH_INPUT_MODES, setting=None)
    inline_limit_mb: float = arg("Batch API: largest inline request body before switching to a file "
                                 "(default 20).", DEFAULT_INLINE_LIMIT_MB, setting=None)
    upload_chunk_bytes: int | None = arg("Files API upload chunk size (tests).", faces=(), setting=None)
