"""The MCP face: tool arguments -> typed requests -> the same use cases the scripts run.

``run_tool`` checks a call's raw arguments against the tool's schema (an
unknown or misspelt argument is refused before anything is sent), builds the
request, runs the use case, and returns a ``ToolResult``: the output
contract's document (``app.contract``), the files the run saved (for resource
links) and small PNG previews of generated images. Progress reaches the
client through ``ReportingConsole``; human lines go to the server's stderr.
Nothing here imports the MCP SDK.
"""
from __future__ import annotations

import json
import traceback
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping, TextIO

from mediagen.app import contract
from mediagen.app import requests as rq
from mediagen.app.batch import prepare_batch
from mediagen.app.context import Context
from mediagen.app.estimate import estimate
from mediagen.app.image import generate_image
from mediagen.app.jobs import get_video, job_command
from mediagen.app.listing import check, gallery, list_models
from mediagen.app.outcome import Outcome, Prepared, SavedFile
from mediagen.app.present import preview_png, with_summaries
from mediagen.app.sessions import session_command
from mediagen.app.storyboard import prepare_storyboard
from mediagen.app.video import start_video
from mediagen.core import errors
from mediagen.core.console import Console
from mediagen.core.redaction import redact_text
from mediagen.mcp.runs import Runs
from mediagen.mcp.schema import ToolSpec

MAX_PREVIEWS = 4
BUG_HINT = "This is a bug in mediagen: the server log (stderr) has the traceback; please report it."

ProgressCallback = Callable[[float, str], None]


class ReportingConsole(Console):
    """A console whose polling updates also go to ``on_progress(fraction, message)``.

    The fraction always increases (MCP progress must): it follows elapsed time
    over the model's usual total and creeps towards 1 when that is exceeded;
    ``finish`` sends 1.0 when the work is done.
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
        """Send one progress update below 1 (no-op without a callback)."""
        creep = self._last + (0.99 - self._last) * 0.05
        self._send(max(creep, min(0.99, fraction)) if fraction is not None else creep, message)

    def finish(self, message: str) -> None:
        """Progress reaches its total: the work is done."""
        self._send(1.0, message)

    def _send(self, value: float, message: str) -> None:
        if self._on_progress is None or value <= self._last:
            return
        self._last = value
        self._on_progress(round(value, 4), redact_text(message))


@dataclass
class Call:
    """What one tool call may use: the context, the server's background runs, and what it produced."""

    ctx: Context
    runs: Runs
    previews: list[bytes] = field(default_factory=list)

    @property
    def console(self) -> ReportingConsole:
        return self.ctx.console        # type: ignore[return-value]


@dataclass
class ToolResult:
    """A tool's outcome: the JSON document, the files it saved, and PNG previews."""

    ok: bool
    doc: dict[str, Any]
    files: tuple[SavedFile, ...] = ()
    previews: list[bytes] = field(default_factory=list)

    def text(self) -> str:
        return json.dumps(self.doc, ensure_ascii=False, default=str)     # compact: tokens count


def run_tool(spec: ToolSpec, arguments: Mapping[str, Any] | None, *, env: Mapping[str, str],
             console: ReportingConsole, runs: Runs | None = None) -> ToolResult:
    """Run one tool call; never raises (every failure becomes the error document)."""
    call = Call(Context.of(env, console), runs or Runs())
    try:
        given = spec.check(arguments)
        outcome = HANDLERS[spec.name](spec, given, call)
        if outcome.document.get("done") is not False:
            console.finish("done")
        doc = contract.success(outcome.document, name_key="tool", name=spec.name, warnings=console.warnings)
        return ToolResult(True, doc, outcome.files, call.previews)
    except BaseException as exc:  # noqa: BLE001 - a bug still answers with the error contract
        if isinstance(exc, (SystemExit, GeneratorExit)):
            raise
        error = contract.as_error(exc, bug_hint=BUG_HINT)
        if isinstance(error, errors.InternalError):
            console.stream.write(redact_text("".join(traceback.format_exception(exc))))
        doc = contract.tool_failure(error, name=spec.name, warnings=console.warnings)
        return ToolResult(False, doc, (), call.previews)


# -- arguments -> requests ---------------------------------------------------------------------------

def request_of(request_type: type, arguments: Mapping[str, Any], **values: Any) -> Any:
    """The request whose fields the arguments fill (lists become tuples)."""
    names = {f.name for f in fields(request_type)}
    given = {k: (tuple(v) if isinstance(v, list) else v) for k, v in arguments.items() if k in names}
    return request_type(**{**given, **values})


def _estimate_request(spec: ToolSpec, arguments: dict[str, Any]) -> rq.EstimateRequest:
    """``kind`` picks the nested request; a property of the other kind is refused."""
    kind = arguments.get("kind", "image")
    top = {k: v for k, v in arguments.items() if k in ("kind", "file", "via", "backend", "project", "location",
                                                        "config")}
    inner: dict[str, Any] = {}
    for name, value in arguments.items():
        if name in top:
            continue
        prop = spec.prop(name)
        if prop is not None and prop.kinds and kind not in prop.kinds:
            raise errors.UsageError(f"{name} does not apply to {kind} estimates",
                                    f"Drop {name}, or use kind={prop.kinds[0]}.")
        inner[name] = value
    if kind == "video" and isinstance(inner.get("image"), list):
        if len(inner["image"]) != 1:
            raise errors.UsageError("image takes one value for video estimates", "Pass one image.")
        inner["image"] = inner["image"][0]
    if kind == "image" and isinstance(inner.get("image"), str):
        inner["image"] = [inner["image"]]
    nested = {"image": None, "video": None}
    if kind in nested:
        nested[kind] = request_of(rq.ImageRequest if kind == "image" else rq.VideoRequest, inner,
                                  prompt="(estimate)")
    return request_of(rq.EstimateRequest, top, **nested)


# -- handlers ------------------------------------------------------------------------------------------

def _generate_image(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> Outcome:
    try:
        outcome = generate_image(request_of(rq.ImageRequest, arguments), call.ctx)
    except errors.MediagenError as exc:
        if isinstance(exc.partial, dict) and exc.partial.get("images"):
            exc.partial = {**exc.partial, "images": _images(exc.partial["images"], call)}
        raise
    if "images" not in outcome.document:        # a dry run
        return outcome
    return replace(outcome, document={**outcome.document, "images": _images(outcome.document["images"], call)})


def _images(items: list[dict[str, Any]], call: Call) -> list[dict[str, Any]]:
    shown = with_summaries(items)
    for entry in shown:
        if entry.get("path") and len(call.previews) < MAX_PREVIEWS:
            png = preview_png(Path(entry["path"]))
            if png is not None:
                call.previews.append(png)
                entry["preview"] = f"preview {len(call.previews)} (PNG, at most 256 px)"
    return shown


def _with_videos(outcome: Outcome) -> Outcome:
    videos = outcome.document.get("videos")
    if not videos:
        return outcome
    return replace(outcome, document={**outcome.document, "videos": with_summaries(videos)})


def _start_video(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> Outcome:
    return _with_videos(start_video(request_of(rq.VideoRequest, arguments), call.ctx))


def _get_video(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> Outcome:
    return _with_videos(get_video(request_of(rq.JobQuery, arguments, action="status"), call.ctx))


def _list_jobs(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> Outcome:
    return job_command(request_of(rq.JobQuery, arguments, action="list"), call.ctx)


def _cancel_job(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> Outcome:
    return job_command(request_of(rq.JobQuery, arguments, action="cancel"), call.ctx)


def _estimate(spec: ToolSpec, arguments: dict[str, Any], call: Call) -> Outcome:
    return estimate(_estimate_request(spec, arguments), call.ctx)


def _start_run(kind: str, prepare: Callable[[Any, Context], Outcome | Prepared], request: Any,
               call: Call) -> Outcome:
    run_id, console = call.runs.console_for(call.console.stream)
    prepared = prepare(request, replace(call.ctx, console=console))
    call.console.warnings.extend(w for w in console.warnings if w not in call.console.warnings)
    if isinstance(prepared, Outcome):            # estimate, dry run or defaults: nothing to run
        return prepared
    call.runs.start(run_id, kind, console, prepared.start)
    return Outcome({**prepared.summary, "run_id": run_id, "state": "running", "done": False,
                    "next": f"call get_{kind} with run_id {run_id} (repeat while state is 'running')"})


def _get_run(kind: str, arguments: dict[str, Any], call: Call) -> Outcome:
    """Wait for a background run; its outcome once done (its error raised as this call's error)."""
    seconds = max(0.0, min(rq.MAX_WAIT_SECONDS, float(arguments.get("wait_seconds", rq.DEFAULT_WAIT_SECONDS))))
    run = call.runs.wait(arguments["run_id"], kind, seconds,
                         lambda line, elapsed: call.console.step(f"{line} ({elapsed:.0f}s elapsed)"))
    if not run.done.is_set():
        return Outcome({"run_id": run.run_id, "state": "running", "done": False,
                        "message": call.runs.latest(run.run_id),
                        "next": f"call get_{kind} again with run_id {run.run_id}; the run keeps going meanwhile"})
    call.console.warnings.extend(w for w in run.console.warnings if w not in call.console.warnings)
    if run.error is not None:
        raise run.error
    assert run.outcome is not None
    return Outcome({**run.outcome.document, "run_id": run.run_id, "state": "done", "done": True},
                   run.outcome.files)


Handler = Callable[[ToolSpec, dict[str, Any], Call], Outcome]
HANDLERS: dict[str, Handler] = {
    "generate_image": _generate_image, "start_video": _start_video, "extend_video": _start_video,
    "continue_image": _generate_image, "continue_video": _start_video,
    "list_sessions": lambda s, a, call: session_command(request_of(rq.SessionQuery, a, action="list"), call.ctx),
    "show_session": lambda s, a, call: session_command(request_of(rq.SessionQuery, a, action="show"), call.ctx),
    "get_video": _get_video, "list_jobs": _list_jobs, "cancel_job": _cancel_job, "estimate_cost": _estimate,
    "list_models": lambda s, a, call: list_models(request_of(rq.ModelListing, a), call.ctx),
    "check_setup": lambda s, a, call: check(request_of(rq.CheckRequest, a), call.ctx),
    "write_gallery": lambda s, a, call: gallery(request_of(rq.GalleryRequest, a), call.ctx),
    "start_storyboard": lambda s, a, call: _start_run("storyboard", prepare_storyboard,
                                                      request_of(rq.ShotListRequest, a), call),
    "get_storyboard": lambda s, a, call: _get_run("storyboard", a, call),
    "start_batch": lambda s, a, call: _start_run("batch", prepare_batch, request_of(rq.BatchRequest, a), call),
    "get_batch": lambda s, a, call: _get_run("batch", a, call),
}
