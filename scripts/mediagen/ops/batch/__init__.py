"""Batches of images and videos from one input file: read, plan, price, then run online.

Parameters: ``kind`` (image|video), ``model``, ``aspect_ratio``, ``image_size``,
``count``, ``negative_prompt``, ``seed``, ``output`` (a file name inside the
output folder), ``person_generation``, ``thinking_level``, ``output_mime``,
``images`` (input images), and for video ``duration``, ``resolution``,
``generate_audio``, ``enhance_prompt``, ``image``, ``last_frame``,
``references``.

Every item is planned (validated and priced) before anything is sent. The
modules, in the order a run uses them:

* ``inputs``: reading and normalizing the input file (txt, CSV, JSONL, YAML/JSON);
* ``planning``: planning and keying items, the results file, and what a rerun
  still has to do (``select``);
* ``online``: the online runner (worker pools, per-item image and video work);
* ``summary``: each item's outcome, the counts, the cost and the run's error.

Gemini Batch API jobs live in ``mediagen.ops.batch_api``.
"""
from __future__ import annotations

from mediagen.ops.batch.inputs import ALIASES, ITEM_TYPES, KINDS, BatchInput, RawItem, normalize_values, read_input
from mediagen.ops.batch.online import OnlineRun, run_online
from mediagen.ops.batch.planning import (
    DEFAULT_OUTPUT_ROOT,
    DONE_STATES,
    PENDING_STATES,
    RESULTS_NAME,
    BatchItem,
    BatchPlan,
    ItemConsole,
    ResultsFile,
    Selection,
    default_output_dir,
    item_key,
    output_target,
    plan_batch,
    select,
    total_estimate,
)
from mediagen.ops.batch.summary import ItemOutcome, actual_total, counts, previous_outcome, run_error

__all__ = [
    "ALIASES", "DEFAULT_OUTPUT_ROOT", "DONE_STATES", "ITEM_TYPES", "KINDS", "PENDING_STATES",
    "RESULTS_NAME", "BatchInput", "BatchItem", "BatchPlan", "ItemConsole", "ItemOutcome", "OnlineRun", "RawItem",
    "ResultsFile", "Selection", "actual_total", "counts", "default_output_dir", "item_key", "normalize_values",
    "output_target", "plan_batch", "previous_outcome", "read_input", "run_error", "run_online", "select",
    "total_estimate",
]
