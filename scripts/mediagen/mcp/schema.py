"""Input schemas of the MCP tools, derived from the CLI parsers and the catalog (one source for both).

Every tool property that mirrors a script flag is built from that flag's
argparse action: the name is the long flag in snake_case (``--aspect-ratio`` ->
``aspect_ratio``), the type follows the action (``store_true`` -> boolean,
``append`` -> array, ``type=int`` -> integer), the choices become an ``enum``
and the help text the description. Where a flag has no fixed choices but the
catalog lists the values models accept (aspect ratios, image sizes, durations,
resolutions, ...), the ``enum`` is the union of those values over the models
served on any backend, and presets are enumerated from the preset files.
A handful of properties exist only for MCP clients (``output_dir``,
``wait_seconds``, the ``list_models`` filters); they are declared in
``EXTRAS`` and documented in the README.

``ToolSpec.validate`` checks call arguments against the published schema and
``ToolSpec.namespace`` turns them into the same ``argparse.Namespace`` the
script would have parsed, so the tool layer resolves settings exactly as the
CLI does. Nothing here imports the MCP SDK.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from mediagen.cli import check_api, estimate_cost, image_gen, jobs, video_gen
from mediagen.core import errors

KINDS = ("image", "video")
BACKENDS = ("gemini-api", "vertex", "cliproxy")

# Flags that only make sense on a command line (help, output modes, stdin prompts, blocking waits).
CLI_ONLY = frozenset({"help", "version", "show_defaults", "debug", "list_presets", "prompt_file", "json",
                      "estimate_cost", "wait", "wait_timeout"})

# Flag dest -> catalog capability listing the values models accept (used when the flag has no choices).
CATALOG_CAPABILITIES = {"aspect_ratio": "aspect_ratios", "image_size": "image_sizes", "resolution": "resolutions",
                        "duration": "durations", "person_generation": "person_generation",
                        "camera": "camera_control", "mode": "modes", "mask_mode": "mask_modes",
                        "resize_mode": "resize_modes"}
# Flag dest -> ``capabilities.supports`` field whose list of values is the choice set.
CATALOG_SUPPORTS = {"output_mime": "output_mime", "thinking_level": "thinking_level"}

# Bounds the CLI checks in code (or that are plainly implied); added to the flag's schema.
CONSTRAINTS: dict[str, dict[str, Any]] = {
    "count": {"minimum": 1}, "concurrency": {"minimum": 1}, "limit": {"minimum": 1},
    "max_cost": {"minimum": 0}, "prompt": {"minLength": 1},
}

# Help texts that speak about the shell (stdin, other scripts) get a tool-side wording.
DESCRIPTIONS = {
    "prompt": "What to generate: the prompt text.",
    "job_id": "Job id, as returned by start_video / extend_video or listed by list_jobs (ids from "
              "video_gen.py and jobs.py work too).",
    "mask_mode": "What the mask does when editing (Vertex): insert, remove, remove_static or outpaint.",
}

MAX_WAIT_SECONDS = 50.0
DEFAULT_WAIT_SECONDS = 45.0

# Properties that exist only for MCP clients (no script flag).
EXTRAS: dict[str, dict[str, Any]] = {
    "output_dir": {"type": "string", "description": (
        "Folder for the results (the output_dir setting, here for this call; default ./generated_images/ or "
        "./generated_videos/, or MEDIAGEN_OUTPUT_DIR / the config file's output_dir). A relative path resolves "
        "against the MCP server's working directory: the Claude Code project folder when Claude Code starts "
        "the server from .mcp.json.")},
    "wait_seconds": {"type": "number", "minimum": 0, "maximum": MAX_WAIT_SECONDS, "default": DEFAULT_WAIT_SECONDS,
                     "description": (
        f"How long to wait for the job in this call (0-{MAX_WAIT_SECONDS:.0f} s, default "
        f"{DEFAULT_WAIT_SECONDS:.0f}), sending progress notifications; a job still running then is returned "
        "with state 'running' (call get_video again). 0 polls once.")},
    "kind": {"type": "string", "enum": list(KINDS), "description": "Only image or only video models."},
    "backend": {"type": "string", "enum": list(BACKENDS),
                "description": "Only models served on this backend (lifecycle shown for it alone)."},
}


@dataclass(frozen=True)
class Prop:
    """One tool property: its schema and the argparse ``dest`` it fills (``None`` for MCP-only extras)."""

    name: str
    schema: dict[str, Any]
    dest: str | None = None
    required: bool = False
    kinds: tuple[str, ...] = ()        # estimate_cost: the subcommands that have this flag


@dataclass(frozen=True)
class ToolSpec:
    """A tool: name, description, properties, and the parser its flags come from."""

    name: str
    title: str
    description: str
    props: tuple[Prop, ...]
    script: str | None = None                       # the script whose flags the tool mirrors
    parser: Callable[[], argparse.ArgumentParser] | None = None
    seed: Callable[[Mapping[str, Any]], list[str]] = field(default=lambda arguments: [])
    read_only: bool = False
    remote: bool = False                            # talks to Google (or the proxy)

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema published in ``tools/list`` (and used by ``validate``)."""
        return {"type": "object", "properties": {p.name: dict(p.schema) for p in self.props},
                "required": [p.name for p in self.props if p.required], "additionalProperties": False}

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)

    def validate(self, arguments: Mapping[str, Any]) -> None:
        """Raise ``UsageError`` for the first argument that does not fit the schema."""
        import jsonschema

        validator = jsonschema.Draft202012Validator(self.input_schema())
        found = sorted(validator.iter_errors(dict(arguments)), key=lambda e: list(e.absolute_path))
        if found:
            first = found[0]
            where = ".".join(str(p) for p in first.absolute_path) or "arguments"
            raise errors.UsageError(f"{self.name}: {where}: {first.message}",
                                    f"Check the input schema of {self.name} (tools/list); "
                                    "omit a property to use its default.")

    def namespace(self, arguments: Mapping[str, Any]) -> argparse.Namespace:
        """The ``argparse.Namespace`` the script would have parsed from the equivalent flags."""
        if self.parser is None:
            return argparse.Namespace(**{p.name: arguments.get(p.name) for p in self.props})
        parser = self.parser()
        ns = parser.parse_args(self.seed(arguments))
        kind = getattr(ns, "kind", None) if self.name == "estimate_cost" else None
        actions = _actions_by_dest(parser, kind)
        for prop in self.props:
            if prop.dest is None or prop.name not in arguments or arguments[prop.name] is None:
                continue
            if kind and prop.kinds and kind not in prop.kinds:
                raise errors.UsageError(f"{prop.name} does not apply to {kind} estimates",
                                        f"Drop {prop.name}, or use kind={prop.kinds[0]}.")
            setattr(ns, prop.dest, _shaped(actions.get(prop.dest), prop.name, arguments[prop.name]))
        return ns


def _actions_by_dest(parser: argparse.ArgumentParser, subcommand: str | None) -> dict[str, argparse.Action]:
    if subcommand:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[subcommand]
    return {a.dest: a for a in reversed(parser._actions)}     # the first action of a dest wins


def _shaped(action: argparse.Action | None, name: str, value: Any) -> Any:
    """A value in the shape the flag produces (a list for repeatable flags)."""
    if action is None:
        return value
    if isinstance(action, argparse._AppendAction):
        return list(value) if isinstance(value, (list, tuple)) else [value]
    if isinstance(value, list):
        if len(value) != 1:
            raise errors.UsageError(f"{name} takes one value here, got {len(value)}", f"Pass one {name}.")
        return value[0]
    return value


# -- flags -> properties --------------------------------------------------------------------

def flag_name(action: argparse.Action) -> str:
    """The property name of a flag: its first long option in snake_case (positionals: the dest)."""
    longs = [o for o in action.option_strings if o.startswith("--")]
    return (longs[0][2:] if longs else action.dest).replace("-", "_")


_JSON_TYPES = {int: "integer", float: "number"}
_BOOLEAN_ACTIONS = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse.BooleanOptionalAction)


def flag_schema(action: argparse.Action, catalog_values: Iterable[Any] | None = None) -> dict[str, Any]:
    """The JSON Schema of one argparse action (choices from the flag, else from the catalog)."""
    if isinstance(action, _BOOLEAN_ACTIONS):
        schema: dict[str, Any] = {"type": "boolean"}
    else:
        item: dict[str, Any] = {"type": _JSON_TYPES.get(action.type, "string")}  # type: ignore[arg-type]
        choices = list(action.choices) if action.choices is not None else list(catalog_values or [])
        if choices:
            item["enum"] = choices
        schema = {"type": "array", "items": item} if isinstance(action, argparse._AppendAction) else item
    schema.update(CONSTRAINTS.get(flag_name(action), {}))
    schema["description"] = DESCRIPTIONS.get(flag_name(action)) or action.help or flag_name(action)
    return schema


def exposed_actions(parser: argparse.ArgumentParser, *, include: Iterable[str] | None = None,
                    exclude: Iterable[str] = ()) -> list[argparse.Action]:
    """The parser's actions a tool exposes (one per dest; CLI-only flags dropped)."""
    wanted = set(include) if include is not None else None
    skipped = CLI_ONLY | set(exclude)
    seen: set[str] = set()
    chosen = []
    for action in parser._actions:           # argparse has no public API for this
        if action.dest in seen or action.dest is argparse.SUPPRESS:
            continue
        name = flag_name(action)
        if name in skipped or action.dest in skipped or (wanted is not None and name not in wanted):
            continue
        seen.add(action.dest)
        chosen.append(action)
    return chosen


# -- catalog values ---------------------------------------------------------------------------

def catalog_choices(catalog: Any, kind: str) -> dict[str, list[Any]]:
    """For each flag dest, the values any served model of ``kind`` accepts (catalog order, durations sorted)."""
    found: dict[str, list[Any]] = {}
    if catalog is None:
        return found

    def add(dest: str, values: Any) -> None:
        if isinstance(values, dict) and "min" in values and "max" in values:
            values = list(range(int(values["min"]), int(values["max"]) + 1))
        if not isinstance(values, list):
            return
        bucket = found.setdefault(dest, [])
        bucket.extend(v for v in values if v not in bucket and isinstance(v, (str, int)))

    for model in catalog.models(kind):
        for backend, entry in model.backends.items():
            if not entry.served:
                continue
            caps = model.capabilities_for(backend)
            layers = [caps, *((caps.get("by_mode") or {}).values())]
            for layer in layers:
                for dest, cap in CATALOG_CAPABILITIES.items():
                    add(dest, layer.get(cap))
                for dest, support in CATALOG_SUPPORTS.items():
                    add(dest, (layer.get("supports") or {}).get(support))
    if "duration" in found:
        found["duration"] = sorted(found["duration"])
    return found


def served_models(catalog: Any, kind: str) -> list[str]:
    if catalog is None:
        return []
    return [m.id for m in catalog.models(kind) if m.served_on()]


def preset_names(kind: str) -> list[str]:
    from mediagen.config.presets import load_presets

    try:
        return sorted(load_presets(kind))
    except errors.MediagenError:
        return []


# -- the tools --------------------------------------------------------------------------------

GENERATION_NOTE = ("Input paths and output_dir resolve against the server's working directory. Settings "
                   "resolve exactly as for the scripts: these arguments, then --preset, the config file "
                   "(mediagen.yaml) and the environment.")

VIDEO_EXTEND_FLAGS = ("prompt", "extend_video", "model", "duration", "resolution", "aspect_ratio",
                      "negative_prompt", "person_generation", "seed", "generate_audio", "enhance_prompt", "count",
                      "preset", "storage_uri", "upload_gcs", "dry_run", "max_cost", "backend", "project",
                      "location", "config")


def build_specs(catalog: Any = None, presets: Mapping[str, list[str]] | None = None) -> dict[str, ToolSpec]:
    """Every tool's spec; ``catalog`` (and preset names) supply the enums (omitted when ``None``)."""
    presets = dict(presets) if presets is not None else {kind: preset_names(kind) for kind in KINDS}
    image_values = {**catalog_choices(catalog, "image"), "preset": presets.get("image") or []}
    video_values = {**catalog_choices(catalog, "video"), "preset": presets.get("video") or []}

    def from_parser(parser: argparse.ArgumentParser, values: Mapping[str, list[Any]], *, kind: str | None = None,
                    include: Iterable[str] | None = None, exclude: Iterable[str] = (),
                    required: Iterable[str] = ()) -> list[Prop]:
        must = set(required)
        props = []
        for action in exposed_actions(parser, include=include, exclude=exclude):
            name = flag_name(action)
            schema = flag_schema(action, values.get(action.dest))
            if name == "model" and catalog is not None and kind:
                schema["description"] += " Catalog models: " + ", ".join(served_models(catalog, kind)) + "."
            props.append(Prop(name, schema, action.dest, name in must))
        return props

    def extras(*names: str) -> list[Prop]:
        return [Prop(n, dict(EXTRAS[n])) for n in names]

    image_parser = lambda: image_gen.build_parser(None)         # noqa: E731
    video_parser = lambda: video_gen.build_parser(None)         # noqa: E731
    jobs_parser = lambda: jobs.build_parser(None)               # noqa: E731
    check_parser = lambda: check_api.build_parser(None)         # noqa: E731
    estimate_parser = lambda: estimate_cost.build_parser(None)  # noqa: E731

    specs = [
        ToolSpec("generate_image", "Generate images", (
            "Generate one or more images (Gemini image models, Imagen on Vertex, or CLIProxyAPI) and save them "
            "with a JSON sidecar each. Validated and priced before anything is sent; costs money (see "
            "estimate_cost, or dry_run=true to see the request). Returns the file paths, a sidecar summary, "
            "the cost, and a small PNG preview per image (the full files stay on disk). " + GENERATION_NOTE),
            tuple(from_parser(image_parser(), image_values, kind="image", exclude=("output",),
                              required=("prompt",)) + extras("output_dir")),
            script="image_gen.py", parser=image_parser, remote=True),
        ToolSpec("start_video", "Start a video job", (
            "Start a video generation (Veo on Vertex, Gemini Omni with a Gemini API key) and return its job id "
            "at once; the job is recorded before the request is sent. Then call get_video with the job id until "
            "it is done. The mode follows from the inputs (image, last_frame, reference_image, video+mask, "
            "remix). Costs money: check estimate_cost first. To extend a clip use extend_video. "
            + GENERATION_NOTE),
            tuple(from_parser(video_parser(), video_values, kind="video", exclude=("extend_video", "output"),
                              required=("prompt",)) + extras("output_dir")),
            script="video_gen.py", parser=video_parser, remote=True),
        ToolSpec("extend_video", "Extend a video", (
            "Start extending an earlier clip (a local result whose sidecar supplies model, backend and format; "
            "a gs:// URI on Vertex; or a file) and return the job id at once; then call get_video. Costs money. "
            + GENERATION_NOTE),
            tuple(from_parser(video_parser(), video_values, kind="video", include=VIDEO_EXTEND_FLAGS,
                              exclude=("output",), required=("prompt", "extend_video")) + extras("output_dir")),
            script="video_gen.py", parser=video_parser, remote=True),
        ToolSpec("get_video", "Wait for a video job", (
            "Check a video job and wait for it up to wait_seconds (at most 50 s, so clients with a 60 s tool "
            "timeout never hang), with progress notifications. Returns state 'running' and the job id while it "
            "runs (call again), or, once done, downloads the result (once, whichever process asks first) and "
            "returns the file paths, a sidecar summary and the cost. Never sends a new create request."),
            tuple(from_parser(jobs_parser(), {}, include=("job_id", "project", "config"), required=("job_id",))
                  + extras("wait_seconds")),
            script="jobs.py", parser=jobs_parser, seed=lambda arguments: ["status"], remote=True),
        ToolSpec("list_jobs", "List video jobs", (
            "List recorded video jobs, newest first, from the shared job store (jobs started by the scripts, "
            "this server or another server process)."),
            tuple(from_parser(jobs_parser(), {}, include=("state", "limit", "project", "config"))),
            script="jobs.py", parser=jobs_parser, seed=lambda arguments: ["list"], read_only=True),
        ToolSpec("estimate_cost", "Estimate a cost", (
            "Price an image or video request from the catalog (price date and source included) and name the "
            "cheapest valid alternative, or price a storyboard shot list or a batch file (kind shotlist / "
            "batch with file). Free: sends nothing and needs no credential. Properties are the image_gen / "
            "video_gen flags; each applies to the kind(s) its description names."),
            tuple(_estimate_props(estimate_parser(), image_values, video_values)),
            script="estimate_cost.py", parser=estimate_parser, seed=_estimate_seed, read_only=True),
        ToolSpec("list_models", "List models", (
            "The model catalog: every image and video model with its aliases, the backends that serve it and "
            "its lifecycle there (ga, preview, deprecated with shutdown date and replacement, retired), the "
            "default model per backend, and the main capabilities. Free, offline."),
            tuple(extras("kind", "backend")), read_only=True),
        ToolSpec("check_setup", "Check the setup", (
            "Free check of the credentials (what scripts/check_api.py reports): which backend mediagen would "
            "use and why, whether the credential works, which catalog models it can see with lifecycle "
            "warnings, and whether CLIProxyAPI answers. Generates nothing."),
            tuple(from_parser(check_parser(), {})),
            script="check_api.py", parser=check_parser, read_only=True, remote=True),
    ]
    return {spec.name: spec for spec in specs}


def _estimate_seed(arguments: Mapping[str, Any]) -> list[str]:
    """The subcommand, plus the file that shot-list and batch estimates need as a positional argument."""
    kind = str(arguments.get("kind") or "image")
    if kind in ("shotlist", "batch"):
        if not arguments.get("file"):
            raise errors.UsageError(f"estimate_cost kind={kind} needs file", "Pass file: the shot list or batch path.")
        return [kind, str(arguments["file"])]
    return [kind]


def _estimate_props(parser: argparse.ArgumentParser, image_values: Mapping[str, list[Any]],
                    video_values: Mapping[str, list[Any]]) -> list[Prop]:
    """``kind`` plus the union of the subcommands' flags (image, video, shotlist, batch; enums merged)."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    props: dict[str, Prop] = {"kind": Prop("kind", {"type": "string", "enum": list(sub.choices),
                                                    "description": "Price an image or a video request, a storyboard shot list "
                                                                   "(kind shotlist + file) or a batch file (kind batch + "
                                                                   "file, via batch-api for the Batch API price)."},
                                           "kind", True)}
    helps: dict[str, dict[str, str]] = {}
    for kind, child in sub.choices.items():
        values = image_values if kind == "image" else video_values
        for action in exposed_actions(child, exclude=("output",)):
            name = flag_name(action)
            schema = flag_schema(action, values.get(action.dest))
            helps.setdefault(name, {})[kind] = schema.pop("description")
            known = props.get(name)
            if known is None:
                props[name] = Prop(name, schema, action.dest, False, (kind,))
                continue
            merged = dict(known.schema)
            if merged.get("type") != schema.get("type"):
                merged = _one_or_many(merged, schema, name)
            elif "enum" in merged and "enum" in schema:
                merged["enum"] = merged["enum"] + [v for v in schema["enum"] if v not in merged["enum"]]
            else:                               # one side accepts any value: no enum
                merged.pop("enum", None)
            props[name] = Prop(name, merged, known.dest, False, known.kinds + (kind,))
    for name, prop in props.items():
        if name == "kind":
            continue
        texts = helps[name]
        if len(set(texts.values())) == 1 and len(texts) == len(KINDS):
            description = next(iter(texts.values()))
        else:
            description = " ".join(f"{kind}: {text}" for kind, text in texts.items())
        prop.schema["description"] = description
    return list(props.values())



def _one_or_many(first: dict[str, Any], second: dict[str, Any], name: str) -> dict[str, Any]:
    """A repeatable flag in one subcommand and a single-valued one in the other: accept both shapes."""
    array, scalar = (first, second) if first.get("type") == "array" else (second, first)
    if array.get("type") != "array" or array["items"].get("type") != scalar.get("type"):
        raise AssertionError(f"estimate_cost: {name} has incompatible types for image and video")
    items = dict(array["items"])
    if "enum" in items and "enum" in scalar:
        items["enum"] = items["enum"] + [v for v in scalar["enum"] if v not in items["enum"]]
    else:
        items.pop("enum", None)
    return {"type": ["array", scalar["type"]], "items": items}
