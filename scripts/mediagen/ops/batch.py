"""Batches of images and videos from one input file: read, plan, price, then run online.

Input formats (by file suffix):

* text (any other suffix): one prompt per line, ``#`` starts a comment line;
  optional per-line parameters after ``||``:
  ``a red fox || aspect_ratio=16:9; count=2; negative_prompt=blurry, dark``;
* CSV: a header with ``prompt`` plus optional parameter columns;
* JSONL: one JSON object (or string) per line;
* YAML / JSON: a list of items, or ``{defaults: {...}, items: [...]}``.

Parameters: ``kind`` (image|video), ``model``, ``aspect_ratio``, ``image_size``,
``count``, ``negative_prompt``, ``seed``, ``output`` (a file name inside the
output folder), ``person_generation``, ``thinking_level``, ``output_mime``,
``images`` (input images), and for video ``duration``, ``resolution``,
``generate_audio``, ``enhance_prompt``, ``image``, ``last_frame``,
``references``. Precedence: the item's own values > command-line flags > the
file's ``defaults`` > config file > environment > catalog defaults.

Every item is planned (validated and priced) before anything is sent. Each
finished item appends one line to ``<output>/batch-results.jsonl``, keyed by a
stable hash of its resolved parameters and its line number, so a rerun skips
what is done and resumes recorded video jobs instead of creating them again.
Online mode sends requests in parallel under an ``AdaptiveLimiter``: after a
429 it paces new requests to the rate the server actually accepted.
"""
from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import csv
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from mediagen.config.settings import Layer, Settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.yamlfile import LOADER, parse_yaml, read_text
from mediagen.ops.images import PARAM_KEYS as IMAGE_PARAM_KEYS
from mediagen.ops.images import ImagePlan, plan_images, run_images
from mediagen.ops.jobstore import JobStore, new_job_id, now_iso
from mediagen.ops.ledger import Ledger
from mediagen.ops.output import MEDIA_SUFFIXES, read_sidecar, write_sidecar
from mediagen.ops.videos import PARAM_KEYS as VIDEO_PARAM_KEYS
from mediagen.ops.videos import VideoPlan, plan_video
from mediagen.transport.http import HttpRequest, RetryPolicy, Transport, new_session

RESULTS_NAME = "batch-results.jsonl"
DEFAULT_OUTPUT_ROOT = "generated_batch"
DEFAULT_CONCURRENCY = 16
KINDS = ("image", "video")
ITEM_TYPES: dict[str, type] = {
    "prompt": str, "kind": str, "model": str, "aspect_ratio": str, "image_size": str, "count": int,
    "negative_prompt": str, "seed": int, "output": str, "person_generation": str, "thinking_level": str,
    "output_mime": str, "images": list, "duration": int, "resolution": str, "generate_audio": bool,
    "enhance_prompt": bool, "image": str, "last_frame": str, "references": list,
}
ALIASES = {"name": "output", "output_name": "output", "file": "output", "filename": "output", "n": "count",
           "aspect": "aspect_ratio", "ratio": "aspect_ratio", "size": "image_size", "negative": "negative_prompt",
           "input_images": "images", "first_frame": "image", "reference_images": "references", "type": "kind",
           "audio": "generate_audio"}
VIDEO_ONLY = ("duration", "resolution", "generate_audio", "enhance_prompt", "image", "last_frame", "references")
IMAGE_ONLY = ("image_size", "thinking_level", "output_mime", "images")
PATH_KEYS = ("images", "image", "last_frame", "references")
DONE_STATES = frozenset({"succeeded", "blocked", "failed"})
PENDING_STATES = frozenset({"submitting", "running"})
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


# -- reading the input file -------------------------------------------------------------

@dataclass
class RawItem:
    """One input line or list entry: where it came from and its raw values."""

    line: int
    values: dict[str, Any]


@dataclass
class BatchInput:
    """A parsed input file: its items and its ``defaults`` block (YAML/JSON only)."""

    path: Path
    items: list[RawItem]
    defaults: dict[str, Any] = field(default_factory=dict)


def read_input(path: Path) -> BatchInput:
    """Parse the input file by its suffix; every problem names the file and line."""
    path = Path(path).expanduser()
    text = read_text(path, error=errors.UsageError, what="batch", encoding="utf-8-sig")  # a BOM is common in CSV
    suffix = path.suffix.lower()
    if suffix == ".csv":
        parsed = BatchInput(path, _csv_items(path, text))
    elif suffix in (".jsonl", ".ndjson"):
        parsed = BatchInput(path, _jsonl_items(path, text))
    elif suffix in (".yaml", ".yml", ".json"):
        parsed = _yaml_input(path, text)
    else:
        parsed = BatchInput(path, _text_items(path, text))
    if not parsed.items:
        raise errors.UsageError(f"{path} has no items", "Add one prompt per line (or items: [...] in YAML).")
    parsed.defaults = normalize_values(parsed.defaults, f"{path} (defaults)")
    parsed.items = [RawItem(i.line, normalize_values(i.values, f"{path}:{i.line}")) for i in parsed.items]
    return parsed


def _text_items(path: Path, text: str) -> list[RawItem]:
    items = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        prompt, _, params = line.partition("||")
        values = _inline_params(params, f"{path}:{number}") if params.strip() else {}
        items.append(RawItem(number, {**values, "prompt": prompt.strip()}))
    return items


def _inline_params(text: str, where: str) -> dict[str, Any]:
    """``key=value; key=value`` after ``||`` on a text line."""
    values: dict[str, Any] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise errors.UsageError(f"{where}: parameter {part.strip()!r} is not key=value",
                                    "Write parameters as: prompt || aspect_ratio=16:9; count=2")
        values[key.strip()] = value.strip()
    return values


def _csv_items(path: Path, text: str) -> list[RawItem]:
    reader = csv.DictReader(text.splitlines())
    headers = [h.strip().lower() for h in reader.fieldnames or []]
    if "prompt" not in headers:
        raise errors.UsageError(f"{path}: the CSV header has no 'prompt' column",
                                "Make the first row a header such as: prompt,aspect_ratio,count")
    items = []
    for row in reader:
        values = {str(k).strip().lower(): v for k, v in row.items() if k is not None and v not in (None, "")}
        prompt = str(values.get("prompt") or "").strip()
        if not prompt or prompt.startswith("#"):
            continue
        items.append(RawItem(reader.line_num, values))
    return items


def _jsonl_items(path: Path, text: str) -> list[RawItem]:
    items = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise errors.UsageError(f"{path}:{number}: not JSON ({exc.msg})",
                                    "Each line must be a JSON object such as {\"prompt\": \"a fox\"}.") from exc
        items.append(RawItem(number, _as_mapping(value, f"{path}:{number}")))
    return items


def _yaml_input(path: Path, text: str) -> BatchInput:
    data = parse_yaml(text, path=path, error=errors.UsageError)
    node = yaml.compose(text, Loader=LOADER)           # the same text parsed once more, for line numbers
    defaults: dict[str, Any] = {}
    items_node = node
    if isinstance(data, dict):
        unknown = set(data) - {"defaults", "items"}
        if unknown or not isinstance(data.get("items"), list):
            raise errors.UsageError(f"{path}: expected a list of items or {{defaults: ..., items: [...]}}",
                                    f"Move {', '.join(sorted(map(str, unknown))) or 'the entries'} under items:.")
        defaults = _as_mapping(data.get("defaults") or {}, f"{path} (defaults)")
        items_node = next(v for k, v in node.value if k.value == "items")
        data = data["items"]
    if not isinstance(data, list):
        raise errors.UsageError(f"{path}: expected a list of items", "Write items as a YAML list (- prompt: ...).")
    lines = [child.start_mark.line + 1 for child in items_node.value]
    items = [RawItem(lines[i], _as_mapping(value, f"{path}:{lines[i]}")) for i, value in enumerate(data)]
    return BatchInput(path, items, defaults)


def _as_mapping(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"prompt": value}
    if not isinstance(value, dict):
        raise errors.UsageError(f"{where}: an item must be a prompt string or a mapping",
                                "Write {\"prompt\": \"...\", \"aspect_ratio\": \"16:9\"}.")
    return dict(value)


def normalize_values(values: dict[str, Any], where: str) -> dict[str, Any]:
    """Keys to setting names (aliases, ``-`` -> ``_``) and values to their types; unknown keys refused."""
    result: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = str(raw_key).strip().lower().replace("-", "_")
        key = ALIASES.get(key, key)
        if key not in ITEM_TYPES:
            raise errors.UsageError(f"{where}: unknown parameter {raw_key!r}",
                                    f"Use one of: {', '.join(sorted(ITEM_TYPES))}.")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        result[key] = _coerce(key, value, where)
    if "kind" in result and result["kind"] not in KINDS:
        raise errors.UsageError(f"{where}: kind {result['kind']!r} is neither image nor video",
                                "Use kind: image or kind: video.")
    return result


def _coerce(key: str, value: Any, where: str) -> Any:
    wanted = ITEM_TYPES[key]
    try:
        if wanted is int:
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value)
            if number != int(number):
                raise ValueError(value)
            return int(number)
        if wanted is bool:
            return _boolean(value)
        if wanted is list:
            return _listed(value)
        return str(value).strip()
    except (TypeError, ValueError) as exc:
        raise errors.UsageError(f"{where}: {key} must be {'a whole number' if wanted is int else wanted.__name__}, "
                                f"got {value!r}", f"Fix {key} on that line.") from exc


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(value)


def _listed(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(";") if part.strip()]


# -- planning -----------------------------------------------------------------------------

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
    quiet = _ItemConsole(console, f"line {raw.line}")
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
    """Where an item's files go: the output folder, or the item's own name inside it."""
    if not name:
        return str(output_dir)
    path = Path(str(name)).expanduser()
    if not path.is_absolute():
        path = output_dir / path
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


class _ItemConsole(Console):
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
        """The last line of every key (a torn last line from a killed run is ignored)."""
        latest: dict[str, dict[str, Any]] = {}
        if not self.path.is_file():
            return latest
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("key"):
                    latest[str(entry["key"])] = entry
        return latest

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append one line, flushed to disk before returning (a kill never loses a finished item)."""
        from filelock import FileLock

        from mediagen.core.redaction import redact

        line = json.dumps(redact(entry), ensure_ascii=False, default=str) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path.with_name(f".{self.path.name}.lock")), timeout=30)
        with self._lock, lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        return entry


@dataclass
class Selection:
    """What a run does with each item: send it, resume its job, or skip it as done."""

    pending: list[BatchItem] = field(default_factory=list)
    resumable: dict[str, list[BatchItem]] = field(default_factory=dict)     # job id -> items
    done: list[BatchItem] = field(default_factory=list)


def select(items: list[BatchItem], previous: dict[str, dict[str, Any]], *, retry_failed: bool) -> Selection:
    """Sort items by their last results line (failed items are re-sent only with ``retry_failed``)."""
    chosen = Selection()
    for item in items:
        entry = previous.get(item.key)
        item.previous = entry
        state = (entry or {}).get("state")
        if entry is None:
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

# -- adaptive rate limiting ----------------------------------------------------------------------

@dataclass
class _Start:
    """One request start the limiter counts (``rejected`` on a 429; ``answered`` once any answer came)."""

    at: float
    rejected: bool = False
    answered: bool = False


class AdaptiveLimiter:
    """Bounded concurrency plus a sliding-window pace learned from 429 answers.

    Until the first 429 only ``concurrency`` bounds the requests. A 429 marks its
    request as rejected and sets the pace to the number of requests the server
    may be counting: those started in the last window, plus older ones still
    unanswered (a slow connection can reach the server late), minus the rejected
    ones. When the server asks for a wait longer than the window (a per-minute
    quota), new starts hold for that long too. Later 429s can only
    lower the pace. A pace that ran ``recover_s`` without a 429 is "proven"; after
    a later dip (e.g. network jitter) the pace climbs back to it, one request per
    ``recover_s``, but never probes above it.
    """

    def __init__(self, concurrency: int, rate: float | None = None, *, margin_s: float = 0.1,
                 recover_s: float = 2.0, notify: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.concurrency = max(1, int(concurrency))
        self.window = 1.0
        self.limit: int | None = None
        if rate:
            self.limit, self.window = (int(rate), 1.0) if rate >= 1 else (1, 1.0 / rate)
        self.proven: int | None = None
        self.margin_s = margin_s
        self.recover_s = recover_s
        self.throttles = 0
        self.halted: str | None = None
        self._notify = notify or (lambda message: None)
        self._clock = clock
        self._cond = threading.Condition()
        self._active = 0
        self._starts: collections.deque[_Start] = collections.deque()
        self._pause_until = 0.0
        self._last_throttle: float | None = None

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``concurrency`` slots."""
        with self._cond:
            while self._active >= self.concurrency:
                self._cond.wait()
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def pace(self, not_before: float = 0.0) -> _Start:
        """Wait until a request may start (and not before ``not_before``); record the start."""
        with self._cond:
            while True:
                now = self._clock()
                wait = self._wait_time(now, not_before)
                if wait <= 0:
                    start = _Start(now)
                    self._starts.append(start)
                    return start
                self._cond.wait(wait)

    def _wait_time(self, now: float, not_before: float) -> float:
        self._recover(now)
        wait = max(not_before, self._pause_until) - now
        if self.limit is None:
            return wait
        self._prune(now)
        accepted = [s for s in self._starts if not s.rejected]
        if len(accepted) >= self.limit:
            wait = max(wait, accepted[len(accepted) - self.limit].at + self.window + self.margin_s - now)
        return wait

    def _prune(self, now: float) -> None:
        horizon = now - (self.window + self.margin_s) * 2
        while self._starts and self._starts[0].at < horizon and self._starts[0].answered:
            self._starts.popleft()

    def answered(self, start: _Start) -> None:
        """The server answered the request of ``start`` (success or error)."""
        with self._cond:
            start.answered = True

    def throttled(self, start: _Start, delay: float | None) -> None:
        """A request got 429: lower the pace to what the server accepted, pause for its delay."""
        with self._cond:
            now = self._clock()
            start.rejected = True
            self.throttles += 1
            self._last_throttle = now
            since = now - self.window - self.margin_s
            observed = max(1, sum(1 for s in self._starts if not s.rejected and (s.at >= since or not s.answered)))
            if self.limit is None or observed < self.limit:
                self.limit = observed
                self._notify(f"rate limited (HTTP 429): pacing new requests to {observed} per "
                             f"{self.window:g}s, as the server accepted")
            if delay and delay > self.window + self.margin_s:
                # A longer wait than one window means a longer quota (per minute): everyone holds.
                self._pause_until = max(self._pause_until, now + min(float(delay), 60.0))
            self._cond.notify_all()

    def _recover(self, now: float) -> None:
        if self.limit is None:
            return
        if self._last_throttle is not None and now - self._last_throttle < self.recover_s:
            return
        self.proven = max(self.proven or 0, self.limit)
        if self.limit < self.proven:
            self.limit += 1
            self._last_throttle = now

    def halt(self, reason: str) -> None:
        """Stop starting new items (e.g. a quota that retries cannot clear)."""
        with self._cond:
            self.halted = self.halted or reason
            self._cond.notify_all()


class PacedTransport(Transport):
    """A transport whose billable requests (and their 429 retries) go through an ``AdaptiveLimiter``."""

    def __init__(self, limiter: AdaptiveLimiter, *, retry: RetryPolicy,
                 announce: Callable[[str], None] | None = None, session: Any = None) -> None:
        super().__init__(session, retry=retry, on_retry=self._retrying, sleep=self._wait)
        self.limiter = limiter
        self._announce = announce or (lambda message: None)
        self._start: _Start | None = None

    def send(self, request: HttpRequest, auth: Any = None, *, stream: bool = False) -> Any:
        """Billable requests take a slot and a paced start; others go straight through."""
        if not request.billable:
            self._start = None
            return super().send(request, auth, stream=stream)
        with self.limiter.slot():
            self._start = self.limiter.pace()
            try:
                return super().send(request, auth, stream=stream)
            finally:
                self.limiter.answered(self._start)

    def _retrying(self, request: HttpRequest, attempt: int, delay: float, reason: str) -> None:
        if self._start is not None:
            self.limiter.answered(self._start)
            if reason == "HTTP 429":
                self.limiter.throttled(self._start, delay)
        self._announce(f"{request.label or request.method}: {reason}; retrying in {delay:.1f}s "
                       f"(attempt {attempt + 1})")

    def _wait(self, delay: float) -> None:
        if self._start is None:
            time.sleep(delay)
            return
        self._start = self.limiter.pace(not_before=time.monotonic() + delay)


# -- running online ----------------------------------------------------------------------------------

@dataclass
class ItemOutcome:
    """What happened to one item in this run (or before it)."""

    item: BatchItem
    state: str
    files: list[str] = field(default_factory=list)
    cost_usd: float | None = None
    job_id: str | None = None
    error: dict[str, Any] | None = None
    seconds: float = 0.0
    previous: bool = False

    def describe(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"index": self.item.index, "line": self.item.line, "key": self.item.key,
                               "prompt": self.item.prompt, "kind": self.item.kind, "state": self.state,
                               "files": self.files, "cost": self.cost_usd, "model": self.item.plan.model_id}
        if self.job_id:
            doc["job_id"] = self.job_id
        if self.error:
            doc["error"] = self.error
        if self.previous:
            doc["previous"] = True
        return doc


@dataclass
class OnlineRun:
    """Everything the online workers share."""

    results: ResultsFile
    limiter: AdaptiveLimiter
    console: Console
    store: JobStore
    ledger: Ledger
    retry: RetryPolicy
    plain_transport: Callable[[], Transport]
    wait: bool = True
    wait_timeout: float | None = None
    total: int = 0
    finished: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    sessions: threading.local = field(default_factory=threading.local)

    def paced(self) -> PacedTransport:
        """A paced transport on this worker thread's own session (kept-alive connections are reused)."""
        session = getattr(self.sessions, "session", None)
        if session is None:
            session = self.sessions.session = new_session()
        return PacedTransport(self.limiter, retry=self.retry, announce=self.console.info, session=session)


def run_online(pending: list[BatchItem], resumable: dict[str, list[BatchItem]], run: OnlineRun) -> list[ItemOutcome]:
    """Send every pending item and resume recorded video jobs; one failure never stops the others."""
    run.total = len(pending) + sum(len(v) for v in resumable.values())
    images = [i for i in pending if i.kind == "image"]
    videos = [i for i in pending if i.kind == "video"]
    outcomes: list[ItemOutcome] = []
    workers = max(1, run.limiter.concurrency)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="img") as image_pool, \
            concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vid") as video_pool:
        futures = [image_pool.submit(_guarded, _image_item, item, run) for item in images]
        futures += [video_pool.submit(_guarded, _video_item, item, run) for item in videos]
        for job_id, items in resumable.items():
            futures += [video_pool.submit(_guarded, _resume_video, item, run, job_id) for item in items]
        for future in concurrent.futures.as_completed(futures):
            outcomes.append(future.result())
    return sorted(outcomes, key=lambda o: o.item.index)


def _guarded(work: Callable[..., ItemOutcome], item: BatchItem, run: OnlineRun, *args: Any) -> ItemOutcome:
    """Run one item; a bug or error in it becomes that item's failure, never the batch's."""
    started = time.monotonic()
    try:
        outcome = work(item, run, *args)
    except errors.MediagenError as exc:
        outcome = ItemOutcome(item, "failed", error=exc.to_dict())
    except Exception as exc:  # noqa: BLE001 - one item's bug must not lose the other items
        outcome = ItemOutcome(item, "failed", error={"type": "internal", "message": repr(exc),
                                                     "hint": "A bug in mediagen; rerun with --debug."})
    outcome.seconds = time.monotonic() - started
    _progress(run, outcome)
    return outcome


def _progress(run: OnlineRun, outcome: ItemOutcome) -> None:
    with run.lock:
        run.finished += 1
        done = run.finished
    files = f", {len(outcome.files)} file(s)" if outcome.files else ""
    why = f": {outcome.error.get('message')}" if outcome.error and outcome.state != "succeeded" else ""
    run.console.info(f"[{done}/{run.total}] line {outcome.item.line}: {outcome.state}{files} "
                     f"({outcome.seconds:.1f}s){why}")


def _image_item(item: BatchItem, run: OnlineRun) -> ItemOutcome:
    if run.limiter.halted:
        return ItemOutcome(item, "not_sent", error={"type": "not_sent", "message": run.limiter.halted,
                                                     "hint": "Run the same command again later to send it."})
    quiet = _ItemConsole(run.console, f"line {item.line}")
    assert isinstance(item.plan, ImagePlan)
    try:
        doc = run_images(item.plan, run.paced, quiet, output_target=item.output_target)
        state, error = "succeeded", None
    except errors.GenerationBlocked as exc:
        doc, state, error = exc.partial or {}, "blocked", exc.to_dict()
    except errors.MediagenError as exc:
        doc, state, error = exc.partial or {}, "failed", exc.to_dict()
        if isinstance(exc, errors.RateLimited):
            run.limiter.halt(f"not sent: the API kept answering 429 ({exc.message})")
    files = [str(image["path"]) for image in doc.get("images") or []]
    _annotate_sidecars(files, item)
    cost = (doc.get("cost") or {}).get("actual_usd")
    entry = {"files": files, "cost_usd": cost}
    if error:
        entry.update(error=error, retryable=_retryable(error))
    run.results.append(item.entry(state, **entry))
    return ItemOutcome(item, state, files, cost, error=error)


def _retryable(error: dict[str, Any]) -> bool:
    """False when Google may have started (and billed) the work: a timeout, a dropped call, a 5xx."""
    if error.get("type") in ("timeout", "network"):
        return False
    return not (error.get("type") == "server_error" and error.get("status") not in (None, 503))


def _annotate_sidecars(files: list[str], item: BatchItem) -> None:
    """Add the batch provenance (input line and key) to each saved file's sidecar."""
    for name in files:
        path = Path(name)
        sidecar = read_sidecar(path)
        if sidecar is not None:
            sidecar["batch"] = {"key": item.key, "line": item.line, "index": item.index, "via": "online"}
            write_sidecar(path, sidecar)


def _video_item(item: BatchItem, run: OnlineRun, job_id: str | None = None) -> ItemOutcome:
    from mediagen.ops.videojobs import submit

    assert isinstance(item.plan, VideoPlan)
    job_id = job_id or new_job_id()
    run.results.append(item.entry("submitting", job_id=job_id))
    quiet = _ItemConsole(run.console, f"line {item.line}")
    try:
        record = submit(item.plan, run.store, run.ledger, run.paced(), quiet, output_target=item.output_target,
                        job_id=job_id)
    except errors.MediagenError as exc:
        error = exc.to_dict()
        run.results.append(item.entry("failed", job_id=job_id, error=error, retryable=_retryable(error)))
        return ItemOutcome(item, "failed", job_id=job_id, error=error)
    return _wait_video(item, run, job_id, record.pop("_initial", None))


def _resume_video(item: BatchItem, run: OnlineRun, job_id: str) -> ItemOutcome:
    """A video recorded by an earlier run: wait for it; never send its create request again."""
    if not (run.store.path(job_id)).is_file():
        return _video_item(item, run, job_id)     # killed before the record: nothing was sent
    record = run.store.get(job_id)
    if not record.get("handle") and record.get("state") not in ("succeeded", "blocked", "failed", "cancelled"):
        error = {"type": "unknown", "message": f"job {job_id} was interrupted during its create request",
                 "hint": "It may or may not have started; mediagen will not send it again. Check AI Studio / "
                         "the Cloud console, then delete its line from batch-results.jsonl to resend."}
        run.results.append(item.entry("failed", job_id=job_id, error=error, retryable=False))
        return ItemOutcome(item, "failed", job_id=job_id, error=error)
    return _wait_video(item, run, job_id, None)


def _wait_video(item: BatchItem, run: OnlineRun, job_id: str, initial: Any) -> ItemOutcome:
    from mediagen.ops.videojobs import wait

    if not run.wait and initial is None:
        run.results.append(item.entry("running", job_id=job_id))
        return ItemOutcome(item, "running", job_id=job_id)
    timeout = run.wait_timeout if run.wait_timeout is not None else float(item.plan.settings["wait_timeout"])
    quiet = _ItemConsole(run.console, f"line {item.line}")
    try:
        doc = wait(job_id, run.store, item.plan.settings, run.plain_transport(), quiet, timeout_s=timeout,
                   initial=initial, ledger=run.ledger)
        state, error = "succeeded", None
    except errors.StillRunning:
        run.results.append(item.entry("running", job_id=job_id))
        return ItemOutcome(item, "running", job_id=job_id)
    except errors.GenerationBlocked as exc:
        doc, state, error = exc.partial or {}, "blocked", exc.to_dict()
    except errors.MediagenError as exc:
        doc, state, error = exc.partial or {}, "failed", exc.to_dict()
    files = [str(v["path"]) for v in doc.get("videos") or []]
    _annotate_sidecars(files, item)
    cost = (doc.get("cost") or {}).get("actual_usd")
    entry: dict[str, Any] = {"job_id": job_id, "files": files, "cost_usd": cost}
    if error:
        entry.update(error=error, retryable=True)
    run.results.append(item.entry(state, **entry))
    return ItemOutcome(item, state, files, cost, job_id=job_id, error=error)


def previous_outcome(item: BatchItem) -> ItemOutcome:
    """An item finished by an earlier run, as recorded in the results file."""
    entry = item.previous or {}
    return ItemOutcome(item, str(entry.get("state")), [str(f) for f in entry.get("files") or []],
                       entry.get("cost_usd"), job_id=entry.get("job_id"), error=entry.get("error"), previous=True)


# -- the summary ---------------------------------------------------------------------------------

def counts(outcomes: list[ItemOutcome]) -> dict[str, int]:
    """How many items ended in each state this run (``skipped_done``: finished by an earlier run)."""
    tally = {"succeeded": 0, "failed": 0, "blocked": 0, "skipped_done": 0, "running": 0, "not_sent": 0}
    for outcome in outcomes:
        if outcome.previous:
            tally["skipped_done"] += 1
        else:
            tally[outcome.state if outcome.state in tally else "failed"] += 1
    return tally


def actual_total(outcomes: list[ItemOutcome], *, previous: bool) -> float:
    """What the items of this run (or, with ``previous``, the earlier ones) actually cost."""
    return round(float(sum(o.cost_usd or 0.0 for o in outcomes if o.previous == previous)), 6)


def run_error(document: dict[str, Any], outcomes: list[ItemOutcome]) -> errors.MediagenError | None:
    """The error the batch ends with (its document attached), or None when every item went well.

    Items finished by an earlier run count too: a rerun that leaves a failed item
    unresolved still exits non-zero.
    """
    failed = [o for o in outcomes if o.state in ("failed", "not_sent")]
    running = [o for o in outcomes if o.state == "running"]
    blocked = [o for o in outcomes if o.state == "blocked"]
    tally = document["counts"]
    summary = (f"this run: {tally['succeeded']} succeeded, {tally['failed'] + tally['not_sent']} failed or not "
               f"sent, {tally['blocked']} blocked, {tally['running']} still running, {tally['skipped_done']} done "
               "before")
    results = document["results_file"]
    error: errors.MediagenError
    if running:
        jobs = sorted({o.job_id for o in running if o.job_id})
        example = jobs[0] if jobs else "JOB"
        error = errors.StillRunning(f"{len(running)} item(s) still running in job(s) {', '.join(jobs)} ({summary})",
                                    f"Nothing is lost: run the same command again (it resumes them from {results} "
                                    f"without new create requests), or scripts/jobs.py wait {example}.",
                                    details={"job_ids": jobs})
    elif failed:
        error = _failure_error(failed, summary, results)
    elif blocked:
        error = errors.GenerationBlocked(f"{len(blocked)} item(s) returned no media ({summary})",
                                         "Rephrase the prompts of the blocked lines (see items); the others were "
                                         "saved.")
    else:
        return None
    error.partial = document
    return error


def _failure_error(failed: list[ItemOutcome], summary: str, results: str) -> errors.MediagenError:
    first = failed[0].error or {}
    classes = {"rate_limited": errors.RateLimited, "api_rejected": errors.ClientError, "auth": errors.AuthError,
               "not_found": errors.NotFoundError, "server_error": errors.ServerError, "network": errors.NetworkError,
               "timeout": errors.RequestTimeout, "invalid_request": errors.ValidationError,
               "usage": errors.UsageError, "credentials": errors.CredentialsError, "config": errors.ConfigError}
    cls = classes.get(str(first.get("type")), errors.GenerationFailed)
    message = f"{len(failed)} item(s) failed ({summary}); first, line {failed[0].item.line}: {first.get('message')}"
    hint = (f"Finished items are kept in {results}: rerun with --retry-failed to send only the failed ones "
            f"(items that may have been billed are not re-sent). {first.get('hint') or ''}").strip()
    if issubclass(cls, errors.ApiError):
        return cls(message, hint, status=first.get("status"))
    return cls(message, hint)
