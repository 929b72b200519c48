"""The MCP tools: each one a thin call into the same operations the scripts use.

``run_tool`` validates a call's arguments against the tool's schema
(``mcp_schema``), turns them into the script's ``argparse.Namespace``, resolves
settings exactly as the script would (call arguments as the CLI layer, then
preset, config file, environment, defaults), calls the operation, and returns
one JSON-ready document: the script's result on success, or the CLI contract's
error object (``type``, ``message``, ``hint``, plus ``exit_code``) on failure.
Generated images also yield small PNG previews (at most 256 px on a side).

Nothing here imports the MCP SDK, prints or exits: progress reaches the server
through ``ReportingConsole``'s callback, human lines go to the given stream.
"""
from __future__ import annotations

import io
import json
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, TextIO

from mediagen.app.runtime import load_catalog, make_transport
from mediagen.cli import check_api as check_api_cli
from mediagen.cli import estimate_cost as estimate_cli
from mediagen.cli import image_gen as image_cli
from mediagen.cli import jobs as jobs_cli
from mediagen.cli import video_gen as video_cli
from mediagen.cli.common import Context as CliContext
from mediagen.cli.common import describe_requests
from mediagen.config.credentials import placeholder_headers
from mediagen.config.presets import get_preset
from mediagen.config.settings import Settings, resolve_settings
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.redaction import redact, redact_text
from mediagen.mcp.schema import (
    BACKENDS,
    DEFAULT_WAIT_SECONDS,
    KINDS,
    MAX_WAIT_SECONDS,
    ToolSpec,
)
from mediagen.ops.images import plan_images, run_images
from mediagen.ops.jobstore import store_for
from mediagen.ops.ledger import check_budget, ledger_for
from mediagen.ops.output import read_sidecar
from mediagen.ops.videojobs import submit, wait
from mediagen.ops.videos import plan_video

PREVIEW_MAX_PX = 256
MAX_PREVIEWS = 4
CAPABILITY_KEYS = ("modes", "aspect_ratios", "image_sizes", "durations", "resolutions", "max_input_images", "count")

ProgressCallback = Callable[[float, str], None]


class ReportingConsole(Console):
    """A console whose polling updates also go to ``on_progress(fraction, message)``.

    The fraction always increases (MCP progress must): it follows elapsed time
    over the model's usual total and creeps towards 1 when that estimate is
    exceeded.
    """

    def __init__(self, stream: TextIO, on_progress: ProgressCallback | None = None) -> None:
        super().__init__(stream)
        self._on_progress = on_progress
        self._last = 0.0

    def progress(self, state: str, elapsed_s: float, fraction: float | None = None) -> None:
        super().progress(state, elapsed_s, fraction)
        usual = f", about {fraction:.0%} of the usual time" if fraction is not None else ""
        self.step(f"{state} ({elapsed_s:.0f}s elapsed{usual})", fraction)

    def step(self, message: str, fraction: float | None = None) -> None:
        """Send one progress update (no-op without a callback)."""
        if self._on_progress is None:
            return
        creep = self._last + (0.99 - self._last) * 0.05
        value = max(creep, min(0.99, fraction)) if fraction is not None else creep
        self._last = value
        self._on_progress(round(value, 4), redact_text(message))


@dataclass
class Call:
    """What one tool call may use: the environment, the console, and the previews it produced."""

    env: dict[str, str]
    console: ReportingConsole
    previews: list[bytes] = field(default_factory=list)


@dataclass
class ToolResult:
    """A tool's outcome: the JSON document (redacted) and PNG previews."""

    ok: bool
    doc: dict[str, Any]
    previews: list[bytes] = field(default_factory=list)

    def text(self) -> str:
        return json.dumps(self.doc, ensure_ascii=False, default=_json_default)     # compact: tokens count


def run_tool(spec: ToolSpec, arguments: Mapping[str, Any] | None, *, env: Mapping[str, str],
             console: ReportingConsole) -> ToolResult:
    """Run one tool call; never raises for mediagen errors (they become the error document)."""
    call = Call(dict(env), console)
    given = {k: v for k, v in (arguments or {}).items() if v is not None}
    try:
        spec.validate(given)
        doc = HANDLERS[spec.name](spec, given, call)
        return ToolResult(True, redact({"ok": True, "tool": spec.name, **doc, "warnings": console.warnings}),
                          call.previews)
    except errors.MediagenError as exc:
        return ToolResult(False, redact(error_document(spec.name, exc, console)), call.previews)
    except Exception as exc:  # noqa: BLE001 - a bug still answers with the error contract
        console.stream.write(redact_text(traceback.format_exc()))
        internal = errors.MediagenError(f"internal error: {exc!r}",
                                        "This is a bug in mediagen: the server log (stderr) has the traceback; "
                                        "please report it.")
        internal.type = "internal"
        return ToolResult(False, redact(error_document(spec.name, internal, console)), call.previews)


def error_document(tool: str, exc: errors.MediagenError, console: Console) -> dict[str, Any]:
    """The CLI contract's error object at the top level, plus the exit code and any partial result."""
    doc: dict[str, Any] = {**exc.to_dict(), "exit_code": int(exc.exit_code), "tool": tool,
                           "warnings": list(console.warnings)}
    partial = getattr(exc, "result", None)
    if isinstance(partial, dict):
        doc["result"] = partial
    return doc


# -- generation ---------------------------------------------------------------------------------

def generate_image(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> dict[str, Any]:
    ns = spec.namespace(arguments)
    settings = _settings(call, ns, _generation_values(image_cli, ns, arguments), "image")
    preset = get_preset("image", ns.preset) if ns.preset else None
    plan = plan_images(_prompt(ns), settings, load_catalog(call.env), call.console, preset=preset)
    check_budget(plan.estimate.usd, plan.settings.get("max_cost"), priced=plan.estimate.priced)
    if ns.dry_run:
        return {**plan.describe(), "dry_run": True,
                "requests": describe_requests(plan.http_requests, placeholder_headers(plan.choice.credential))}
    try:
        doc = run_images(plan, lambda: make_transport(plan.settings, call.console), call.console)
    except errors.MediagenError as exc:
        partial = getattr(exc, "result", None)
        if isinstance(partial, dict) and partial.get("images"):
            partial["images"] = _media(partial["images"], call, previews=True)
        raise
    doc["images"] = _media(doc["images"], call, previews=True)
    return doc


def start_video(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> dict[str, Any]:
    """Plan, price and submit a video job; return its id without waiting (also ``extend_video``)."""
    ns = spec.namespace(arguments)
    settings = _settings(call, ns, _generation_values(video_cli, ns, arguments), "video")
    preset = get_preset("video", ns.preset) if ns.preset else None
    transport = make_transport(settings, call.console)
    plan = plan_video(_prompt(ns), settings, load_catalog(call.env), call.console, preset=preset,
                      transport=transport)
    summary = plan.describe()
    check_budget(plan.estimate.usd, plan.settings.get("max_cost"), priced=plan.estimate.priced)
    if ns.dry_run:
        assert plan.create is not None
        return {**summary, "dry_run": True,
                "requests": describe_requests([plan.create], placeholder_headers(plan.choice.credential))}
    store, ledger = store_for(plan.settings), ledger_for(plan.settings)
    record = submit(plan, store, ledger, transport, call.console)
    initial = record.pop("_initial", None)
    job_id = record["job_id"]
    if initial is not None:         # the API answered at once: save the result now
        doc = wait(job_id, store, plan.settings, transport, call.console, timeout_s=0.0, initial=initial,
                   ledger=ledger)
        return {**_video_doc(doc, call), "done": True}
    return {**summary, "job_id": job_id, "state": "running", "done": False,
            "next": f"call get_video with job_id {job_id} (repeat while state is 'running')"}


def get_video(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> dict[str, Any]:
    """Poll a job for up to ``wait_seconds``; download it once done (exactly once across processes)."""
    ns = spec.namespace(arguments)
    settings = _settings(call, ns, {}, "video")
    wait_s = max(0.0, min(MAX_WAIT_SECONDS, float(arguments.get("wait_seconds", DEFAULT_WAIT_SECONDS))))
    job_id, store = ns.job_id, store_for(settings)
    kind = store.get(job_id).get("kind") or "video"
    if kind != "video":         # the store is shared with other job kinds (e.g. image batches)
        raise errors.UsageError(f"job {job_id} is a {kind} job, not a video job",
                                f"Check it with scripts/jobs.py status {job_id}.")
    call.console.step(f"job {job_id}: checking")
    try:
        doc = wait(job_id, store, settings, make_transport(settings, call.console), call.console,
                   timeout_s=wait_s, ledger=ledger_for(settings), poll_now=True)
    except errors.StillRunning as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        return {"job_id": job_id, "state": "running", "done": False, "remote_state": details.get("state"),
                "message": exc.message,
                "next": f"call get_video again with job_id {job_id}; the job keeps running meanwhile"}
    return {**_video_doc(doc, call), "done": True}


# -- free tools ---------------------------------------------------------------------------------

def list_jobs(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> dict[str, Any]:
    return jobs_cli.handle(spec.namespace(arguments), CliContext(call.env, call.console))


def estimate_cost(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> dict[str, Any]:
    return estimate_cli.handle(spec.namespace(arguments), CliContext(call.env, call.console))


def check_setup(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> dict[str, Any]:
    return check_api_cli.handle(spec.namespace(arguments), CliContext(call.env, call.console))


def list_models(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> dict[str, Any]:
    """The catalog with each model's lifecycle per backend, the defaults, and the main capabilities."""
    catalog = load_catalog(call.env)
    kind, backend = arguments.get("kind"), arguments.get("backend")
    models = []
    for model in catalog.models(kind):
        entries = {name: _lifecycle(model, name, entry) for name, entry in model.backends.items()
                   if backend in (None, name)}
        if backend and not entries:
            continue
        row: dict[str, Any] = {"id": model.id, "kind": model.kind, "family": model.family,
                               "name": model.display_name, "aliases": list(model.aliases), "backends": entries}
        if model.unavailable_on:
            row["unavailable_on"] = {k: v for k, v in model.unavailable_on.items() if backend in (None, k)}
        models.append(row)
    defaults: dict[str, dict[str, str]] = {}
    for k in ([kind] if kind else KINDS):
        for b in ([backend] if backend else BACKENDS):
            try:
                defaults.setdefault(k, {})[b] = catalog.default_model(k, b)
            except errors.MediagenError:
                continue
    return {"catalog": {"as_of": catalog.as_of, "source": catalog.path}, "defaults": defaults, "models": models}


def _lifecycle(model: Any, backend: str, entry: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": entry.id, "status": entry.status}
    for key in ("shutdown", "replacement"):
        if getattr(entry, key):
            doc[key] = getattr(entry, key)
    if entry.locations:
        doc["locations"] = list(entry.locations)
    if entry.allowlist:
        doc["allowlist"] = True
    if entry.served:
        caps = model.capabilities_for(backend)
        doc["capabilities"] = {k: caps[k] for k in CAPABILITY_KEYS if caps.get(k) not in (None, [], {})}
    return doc


HANDLERS: dict[str, Callable[[ToolSpec, dict[str, Any], Call], dict[str, Any]]] = {
    "generate_image": generate_image, "start_video": start_video, "extend_video": start_video,
    "get_video": get_video, "list_jobs": list_jobs, "estimate_cost": estimate_cost, "list_models": list_models,
    "check_setup": check_setup,
}


# -- helpers ------------------------------------------------------------------------------------

def _settings(call: Call, ns: Any, values: Mapping[str, Any], kind: str) -> Settings:
    """Settings exactly as the script resolves them: these values as the CLI layer, then config, env, defaults."""
    settings = resolve_settings(values, call.env, config_path=getattr(ns, "config", None),
                                project=getattr(ns, "project", None), kind=kind)
    for warning in settings.warnings:
        call.console.warn(warning)
    return settings


def _generation_values(module: Any, ns: Any, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The script's flag -> setting mapping, plus this call's ``output_dir``."""
    values = module.cli_values(ns)
    values["output_dir"] = arguments.get("output_dir")
    return values


def _prompt(ns: Any) -> str:
    text = str(getattr(ns, "prompt", None) or "").strip()
    if not text:
        raise errors.UsageError("no prompt given", "Pass the prompt text in 'prompt'.")
    return text


def _video_doc(doc: dict[str, Any], call: Call) -> dict[str, Any]:
    return {**doc, "videos": _media(doc.get("videos") or [], call, previews=False)}


def _media(items: list[dict[str, Any]], call: Call, *, previews: bool) -> list[dict[str, Any]]:
    """Saved files with their sidecar summary (and, for images, a preview for the first few)."""
    shown = []
    for item in items:
        path = item.get("path")
        entry = dict(item)
        sidecar = read_sidecar(Path(path)) if path else None
        if sidecar:
            entry["sidecar_summary"] = sidecar_summary(sidecar)
        if previews and path and len(call.previews) < MAX_PREVIEWS:
            png = preview_png(Path(path))
            if png is not None:
                call.previews.append(png)
                entry["preview"] = f"preview {len(call.previews)} (PNG, at most {PREVIEW_MAX_PX} px)"
        shown.append(entry)
    return shown


def sidecar_summary(sidecar: Mapping[str, Any]) -> dict[str, Any]:
    """The few sidecar fields worth showing in a tool result (the full sidecar stays on disk)."""
    params = sidecar.get("parameters") or {}
    values = {k: (v.get("value") if isinstance(v, dict) else v) for k, v in params.items()}
    cost = sidecar.get("cost") or {}
    summary = {"created": sidecar.get("created"), "prompt": sidecar.get("prompt"),
               "model": (sidecar.get("model") or {}).get("id"), "backend": (sidecar.get("backend") or {}).get("name"),
               "mode": sidecar.get("mode"), "parameters": {k: v for k, v in values.items() if v not in (None, "", [])},
               "actual_usd": cost.get("actual_usd"), "estimate_usd": cost.get("estimate_usd"),
               "price_as_of": cost.get("as_of"), "job_id": sidecar.get("job_id")}
    return {k: v for k, v in summary.items() if v is not None}


def preview_png(path: Path, max_px: int = PREVIEW_MAX_PX) -> bytes | None:
    """A downscaled PNG of an image file (``None`` if Pillow cannot read it)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.thumbnail((max_px, max_px))
            if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                image = image.convert("RGBA")
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
            return out.getvalue()
    except (OSError, ValueError):
        return None


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)
