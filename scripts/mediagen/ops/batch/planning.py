"""Batch planning: every item validated, priced and keyed; the results file and what a run still has to do.

Precedence of an item's values: its own > command-line flags > the file's
``defaults`` > config file > environment > catalog defaults. Each finished
item appends one line to ``<output>/batch-results.jsonl``, keyed by a stable
hash of its resolved parameters and its line number, so a rerun skips what is
done and resumes recorded jobs instead of creating them again.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediagen.config.settings import Layer, Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.files import file_lock
from mediagen.ops.batch.inputs import KINDS, BatchInput, RawItem
from mediagen.ops.images import PARAM_KEYS as IMAGE_PARAM_KEYS
from mediagen.ops.images import ImagePlan, plan_images
from mediagen.ops.jobstore import now_iso
from mediagen.ops.output import MEDIA_SUFFIXES
from mediagen.ops.videos import PARAM_KEYS as VIDEO_PARAM_KEYS
from mediagen.ops.videos import VideoPlan, plan_video
from mediagen.transport.http import Transport

RESULTS_NAME = "batch-results.jsonl"
DEFAULT_OUTPUT_ROOT = "generated_batch"
VIDEO_ONLY = ("duration", "resolution", "generate_audio", "enhance_prompt", "image", "last_frame", "references")
IMAGE_ONLY = ("image_size", "thinking_level", "output_mime", "images")
PATH_KEYS = ("images", "image", "last_frame", "references")
DONE_STATES = frozenset({"succeeded", "blocked", "failed", "unknown", "paid_not_saved"})
PENDING_STATES = frozenset({"submitting", "running"})


@dataclass
class BatchItem:
    """One planned item: validated, priced and keyed; ``plan`` holds its requests."""

    index: int
    line: int
    kind: str
    prompt: str
    key: str
    plan: ImagePlan | VideoPlan
    output_target: str
    previous: dict[str, Any] | None = None

    @property
    def count(self) -> int:
        return int(self.plan.settings.get("count") or 1)

    def estimate_usd(self) -> float | None:
        return self.plan.estimate.usd if self.plan.estimate is not None else None

    def entry(self, state: str, **fields: Any) -> dict[str, Any]:
        """A results-file line for this item."""
        return {"key": self.key, "index": self.index, "line": self.line, "kind": self.kind, "state": state,
                "prompt": self.prompt, "model": self.plan.model_id, "time": now_iso(), **fields}


@dataclass
class BatchPlan:
    """Every item of the input, planned; nothing has been sent."""

    source: BatchInput
    items: list[BatchItem]
    output_dir: Path

    @property
    def results_path(self) -> Path:
        return self.output_dir / RESULTS_NAME


def default_output_dir(source: Path) -> Path:
    """``./generated_batch/<input file stem>``: one folder (and one results file) per input file."""
    return Path(DEFAULT_OUTPUT_ROOT) / source.stem


def plan_batch(source: BatchInput, bases: dict[str, Settings], cli_defaults: dict[str, Any], catalog: Any,
               console: Console, output_dir: Path, *, estimate_only: bool = False,
               transport: Transport | None = None) -> BatchPlan:
    """Plan every item; all problems (with their lines) are reported together before anything is sent."""
    items: list[BatchItem] = []
    problems: list[str] = []
    for index, raw in enumerate(source.items, start=1):
        try:
            items.append(_plan_item(index, raw, source, bases, cli_defaults, catalog, console, output_dir,
                                    estimate_only, transport))
        except errors.UsageError as exc:
            problems.append(f"line {raw.line}: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""))
        except errors.ConfigError:
            raise                    # credentials/config: the same for every item
    if problems:
        raise errors.ValidationError(f"{len(problems)} of {len(source.items)} item(s) in {source.path} are not "
                                     f"valid; nothing was sent. First: {problems[0]}",
                                     "Fix the lines listed in details, then run again.",
                                     details={"problems": problems})
    return BatchPlan(source, items, Path(output_dir))


def _plan_item(index: int, raw: RawItem, source: BatchInput, bases: dict[str, Settings],
               cli_defaults: dict[str, Any], catalog: Any, console: Console, output_dir: Path,
               estimate_only: bool, transport: Transport | None) -> BatchItem:
    values = {**source.defaults, **{k: v for k, v in cli_defaults.items() if v is not None}, **raw.values}
    prompt = str(values.get("prompt") or "").strip()
    if not prompt:
        raise errors.UsageError("the item has no prompt", "Give every item a prompt.")
    kind = _kind_of(values, catalog)
    item_values = _for_kind(raw.values, kind, source.path.parent, "item")
    layers = [Layer(f"item:{source.path.name}:{raw.line}", item_values),
              Layer("cli", _for_kind(cli_defaults, kind, Path.cwd(), "command line")),
              Layer(f"defaults:{source.path.name}", _for_kind(source.defaults, kind, source.path.parent, "defaults"))]
    settings = bases[kind].with_layers(layers)
    quiet = ItemConsole(console, f"line {raw.line}")
    if kind == "image":
        plan: ImagePlan | VideoPlan = plan_images(prompt, settings, catalog, quiet, transport=transport,
                                                  estimate_only=estimate_only)
    else:
        plan = plan_video(prompt, settings, catalog, quiet, transport=transport, estimate_only=estimate_only)
    target = output_target(output_dir, plan.settings.get("output"), kind)
    return BatchItem(index, raw.line, kind, prompt, item_key(raw.line, kind, prompt, plan), plan, target)


def _kind_of(values: dict[str, Any], catalog: Any) -> str:
    if values.get("kind"):
        return str(values["kind"])
    model = catalog.get(str(values["model"])) if values.get("model") else None
    if model is not None and model.kind in KINDS:
        return model.kind
    return "video" if any(k in values for k in ("duration", "resolution", "last_frame")) else "image"


def _for_kind(values: dict[str, Any], kind: str, base_dir: Path, where: str) -> dict[str, Any]:
    """Setting values for one kind: paths made absolute, ``image`` mapped to input images for images."""
    result = {k: v for k, v in values.items() if k not in ("prompt", "kind")}
    if kind == "image":
        if "image" in result:
            result["images"] = [*result.get("images", []), result.pop("image")]
        wrong = [k for k in VIDEO_ONLY if k in result and k != "image"]
    else:
        wrong = [k for k in IMAGE_ONLY if k in result]
    if wrong and where == "item":
        raise errors.UsageError(f"{', '.join(wrong)} do(es) not apply to {kind} items",
                                f"Drop {', '.join(wrong)}, or set kind to the other kind.")
    for key in wrong:
        result.pop(key, None)
    for key in PATH_KEYS:
        if key in result:
            result[key] = _resolve_paths(result[key], base_dir)
    return result


def _resolve_paths(value: Any, base_dir: Path) -> Any:
    if isinstance(value, list):
        return [_resolve_paths(v, base_dir) for v in value]
    text = str(value)
    if "://" in text or text.startswith(("data:", "gs:")):
        return text
    suffix = ""
    for kind in (":asset", ":style"):
        if text.lower().endswith(kind):
            text, suffix = text[: -len(kind)], kind
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve()) + suffix


def output_target(output_dir: Path, name: Any, kind: str) -> str:
    """Where an item's files go: the output folder, or the item's own name inside it (never outside it)."""
    if not name:
        return str(output_dir)
    path = Path(str(name)).expanduser()
    if not path.is_absolute():
        path = output_dir / path
    folder = Path(output_dir).resolve()
    if not path.resolve().is_relative_to(folder):
        raise errors.UsageError(f"output {name!r} would write outside the batch folder {folder}",
                                "Give a name inside the folder (e.g. foxes/red.png), or choose the folder with -o.")
    if path.suffix.lower() not in MEDIA_SUFFIXES:
        path = path.with_name(path.name + (".png" if kind == "image" else ".mp4"))
    return str(path)


def item_key(line: int, kind: str, prompt: str, plan: ImagePlan | VideoPlan) -> str:
    """A stable key: a hash of the resolved parameters and the line number."""
    names = IMAGE_PARAM_KEYS if kind == "image" else VIDEO_PARAM_KEYS
    skip = {"concurrency", "output_dir", "wait_timeout", "location"}
    params = {k: plan.settings.get(k) for k in names if k not in skip}
    for extra in ("images", "image", "last_frame", "references", "output"):
        if plan.settings.get(extra):
            params[extra] = plan.settings.get(extra)
    basis = {"line": line, "kind": kind, "prompt": prompt, "backend": plan.choice.backend,
             "model": plan.model_id, "request": plan.request, "params": params}
    text = json.dumps(basis, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class ItemConsole(Console):
    """Planning chatter stays quiet; warnings reach the run's console once, prefixed with the line."""

    def __init__(self, parent: Console, prefix: str) -> None:
        super().__init__(parent.stream, quiet=True)
        self.parent = parent
        self.prefix = prefix

    def warn(self, message: str) -> None:
        self.parent.warn(f"{self.prefix}: {message}")


# -- the results file -----------------------------------------------------------------------

class ResultsFile:
    """``batch-results.jsonl``: one JSON line per finished (or submitted) item, appended atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, Any]]:
        """The last line of every key (a torn last line from a killed run, or any line that cannot be read, is
        ignored: the lines that can be read still say which items are done)."""
        latest: dict[str, dict[str, Any]] = {}
        if not self.path.is_file():
            return latest
        with open(self.path, "rb") as handle:
            for line in handle:
                try:
                    entry = json.loads(line.decode("utf-8"))
                except (ValueError, RecursionError):    # not UTF-8, not JSON, or nested deeper than the parser goes
                    continue
                if isinstance(entry, dict) and entry.get("key"):
                    latest[str(entry["key"])] = entry
        return latest

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append one line, flushed to disk before returning (a kill never loses a finished item)."""
        from mediagen.core.redaction import redact

        line = json.dumps(redact(entry), ensure_ascii=False, default=str) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = file_lock(self.path.with_name(f".{self.path.name}.lock"), timeout=30)
        with self._lock, lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        return entry


@dataclass
class Selection:
    """What a run does with each item: send it, resume its job, or skip it as done.

    ``repeating`` lists the pending items whose earlier create may already have been billed.
    """

    pending: list[BatchItem] = field(default_factory=list)
    resumable: dict[str, list[BatchItem]] = field(default_factory=dict)     # job id -> items
    done: list[BatchItem] = field(default_factory=list)
    repeating: list[BatchItem] = field(default_factory=list)


def possibly_billed(entry: dict[str, Any] | None) -> bool:
    """Whether a results line is an item whose create may have been billed without a result (``unknown``).

    Lines written before the state existed say ``failed`` with ``retryable: false``.
    """
    entry = entry or {}
    return entry.get("state") == "unknown" or (entry.get("state") == "failed" and entry.get("retryable") is False
                                               and (entry.get("error") or {}).get("type") != "paid_not_saved")


def select(items: list[BatchItem], previous: dict[str, dict[str, Any]], *, retry_failed: bool,
           retry_unknown: bool = False) -> Selection:
    """Sort items by their last results line.

    Failed items are re-sent only with ``retry_failed``; items that may have been billed (``unknown``) only
    with ``retry_unknown`` (and are listed in ``repeating``).
    """
    chosen = Selection()
    for item in items:
        entry = previous.get(item.key)
        item.previous = entry
        state = (entry or {}).get("state")
        if entry is None:
            chosen.pending.append(item)
        elif possibly_billed(entry):
            (chosen.repeating if retry_unknown else chosen.done).append(item)
            if retry_unknown:
                chosen.pending.append(item)
        elif state in PENDING_STATES and entry.get("job_id"):
            chosen.resumable.setdefault(str(entry["job_id"]), []).append(item)
        elif state == "failed" and retry_failed and entry.get("retryable", True):
            chosen.pending.append(item)
        elif state in DONE_STATES:
            chosen.done.append(item)
        else:
            chosen.pending.append(item)
    return chosen


# -- cost gate --------------------------------------------------------------------------------

def total_estimate(items: list[BatchItem]) -> tuple[float, bool]:
    """Sum of the items' estimates, and whether every item was priced."""
    total, priced = 0.0, True
    for item in items:
        usd = item.estimate_usd()
        if usd is None or not item.plan.estimate.priced:
            priced = False
        else:
            total += usd
    return round(total, 6), priced
