"""MCP tool schemas, generated from the typed requests (``mediagen.app.requests``) and the catalog.

A tool property is a request field: the name is the field name, the type
follows its annotation (``str`` -> string, ``int`` -> integer, ``bool`` ->
boolean, ``tuple[str, ...]`` -> array of strings), fixed choices become an
``enum``, and fields that name a catalog capability get the values the
catalog's served models accept. Fields meant for the command line only
(``show_defaults``, ``output``, ``wait``) are left out.

``ToolSpec.check`` validates a call's **raw** arguments before anything else
runs: an unknown or misspelt argument names the nearest valid one, and
nothing is sent. Nothing here imports the MCP SDK.
"""
from __future__ import annotations

import difflib
import re
import typing
from dataclasses import dataclass, fields
from typing import Any, Iterable, Mapping

from mediagen.app import requests as rq
from mediagen.core import errors

MCP = "mcp"
_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass(frozen=True)
class Prop:
    """One tool property: its schema, whether it is required, and (estimate_cost) the kinds it applies to."""

    name: str
    schema: dict[str, Any]
    required: bool = False
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolSpec:
    """A tool: its name, title, description, properties and how it behaves."""

    name: str
    title: str
    description: str
    props: tuple[Prop, ...]
    read_only: bool = False
    remote: bool = False                    # talks to Google (or the proxy)
    output: tuple[str, ...] = ()            # the main fields of its result (outputSchema)

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema published in ``tools/list`` and checked on every call."""
        return {"type": "object", "properties": {p.name: dict(p.schema) for p in self.props},
                "required": [p.name for p in self.props if p.required], "additionalProperties": False}

    def output_schema(self) -> dict[str, Any]:
        """The result's shape: the output contract's success document, with this tool's main fields."""
        properties: dict[str, Any] = {"ok": {"type": "boolean"}, "tool": {"type": "string"},
                                      "warnings": {"type": "array", "items": {"type": "string"}}}
        properties.update({name: {} for name in self.output})
        return {"type": "object", "properties": properties, "required": ["ok"]}

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)

    def check(self, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """The arguments that were given (None dropped), or ``UsageError`` for the first that does not fit."""
        given = dict(arguments or {})
        names = [p.name for p in self.props]
        for key in given:
            if key not in names:
                raise _unknown(self.name, key, names)
        given = {k: v for k, v in given.items() if v is not None}
        _validate(self, given)
        return given


def _unknown(tool: str, key: str, names: list[str]) -> errors.UsageError:
    """An unknown argument, naming the valid one it most likely meant (``aspectRatio`` -> ``aspect_ratio``)."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(key)).lower().replace("-", "_")
    near = difflib.get_close_matches(snake, names, n=1, cutoff=0.6)
    guess = f"; did you mean '{near[0]}'?" if near else ""
    return errors.UsageError(f"{tool}: unknown argument '{key}'{guess} Nothing was sent.",
                             f"Use the argument names of {tool}'s input schema: {', '.join(sorted(names))}.",
                             details={"argument": key, "did_you_mean": near[0] if near else None})


def _validate(spec: ToolSpec, arguments: dict[str, Any]) -> None:
    import jsonschema      # lazy: only the MCP face pays for it

    validator = jsonschema.Draft202012Validator(spec.input_schema())
    found = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    if found:
        first = found[0]
        where = ".".join(str(p) for p in first.absolute_path) or "arguments"
        raise errors.UsageError(f"{spec.name}: {where}: {first.message}",
                                f"Check the input schema of {spec.name} (tools/list); omit a property to use "
                                "its default.")


# -- request fields -> properties ----------------------------------------------------------------

def props_of(request_type: type, values: Mapping[str, list[Any]], *, include: Iterable[str] | None = None,
             exclude: Iterable[str] = (), required: Iterable[str] = ()) -> list[Prop]:
    """The properties of a request type this face exposes (in field order)."""
    wanted = set(include) if include is not None else None
    skipped, must = set(exclude), set(required)
    hints = typing.get_type_hints(request_type)
    found = []
    for item in fields(request_type):
        meta = item.metadata
        if "help" not in meta or MCP not in meta.get("faces", (MCP,)) or item.name in skipped:
            continue
        if wanted is not None and item.name not in wanted:
            continue
        found.append(Prop(item.name, field_schema(hints[item.name], meta, values), item.name in must))
    return found


def field_schema(annotation: Any, meta: Mapping[str, Any], values: Mapping[str, list[Any]]) -> dict[str, Any]:
    """The JSON Schema of one field: type from the annotation, enum from choices or the catalog."""
    base, many = _unwrap(annotation)
    item: dict[str, Any] = {"type": _JSON_TYPES[base]}
    enum = _enum(meta, values)
    if enum:
        item["enum"] = enum
    schema = {"type": "array", "items": item} if many else item
    for key, target in (("minimum", "minimum"), ("maximum", "maximum"), ("min_length", "minLength"),
                        ("schema_default", "default")):
        if key in meta:
            schema[target] = meta[key]
    schema["description"] = meta.get("tool_help", meta["help"])
    if meta.get("catalog_models") and values.get(f"models:{meta['catalog_models']}"):
        schema["description"] += " Catalog models: " + ", ".join(values[f"models:{meta['catalog_models']}"]) + "."
    return schema


def _unwrap(annotation: Any) -> tuple[type, bool]:
    """``str | None`` -> (str, False); ``tuple[str, ...] | None`` -> (str, True)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    inner = args[0]
    if typing.get_origin(inner) is tuple:
        return typing.get_args(inner)[0], True
    return inner, False


def _enum(meta: Mapping[str, Any], values: Mapping[str, list[Any]]) -> list[Any]:
    if "choices" in meta:
        return list(meta["choices"])
    if "catalog" in meta:
        return list(values.get(meta["catalog"]) or [])
    if "presets" in meta:
        return list(values.get(f"presets:{meta['presets']}") or [])
    return []


# -- the tools ---------------------------------------------------------------------------------------

GENERATION_NOTE = ("Input paths and output_dir resolve against the server's working directory. Settings resolve "
                   "exactly as for the scripts: these arguments, then the preset, the config file (mediagen.yaml) "
                   "and the environment.")
VIDEO_EXTEND_FIELDS = ("prompt", "extend_video", "model", "duration", "resolution", "aspect_ratio",
                       "negative_prompt", "person_generation", "seed", "generate_audio", "enhance_prompt", "count",
                       "preset", "storage_uri", "upload_gcs", "dry_run", "max_cost", "backend", "project",
                       "location", "config", "output_dir")
IMAGE_CONTINUE_FIELDS = ("prompt", "continue_from", "aspect_ratio", "image_size", "count", "thinking_level",
                         "dry_run", "max_cost", "backend", "project", "location", "config", "output_dir")
VIDEO_CONTINUE_FIELDS = ("prompt", "continue_from", "mode", "duration", "resolution", "aspect_ratio",
                         "negative_prompt", "storage_uri", "upload_gcs", "dry_run", "max_cost", "backend", "project",
                         "location", "config", "output_dir")
WHERE = ("backend", "project", "location", "config")
RUN_HANDLE = {"type": "string", "minLength": 1,
              "description": "The run id returned by the start tool (valid while this server process runs)."}
WAIT = {"type": "number", "minimum": 0, "maximum": rq.MAX_WAIT_SECONDS, "default": rq.DEFAULT_WAIT_SECONDS,
        "description": f"How long to wait in this call (0-{rq.MAX_WAIT_SECONDS:.0f} s, default "
                       f"{rq.DEFAULT_WAIT_SECONDS:.0f}), sending progress notifications; a run still going then is "
                       "returned with state 'running' (call again)."}
